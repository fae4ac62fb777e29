"""Encoding, structuredClone, AbortController/events, Blob/File and the shape of the Web globals."""

import base64

import pytest

from fazt.runtime import webhost, webvalues
from webapi_support import WebJS

GLOBALS = ["URL", "URLSearchParams", "Headers", "Request", "Response", "Blob", "File", "FormData", "TextEncoder",
           "TextDecoder", "atob", "btoa", "structuredClone", "AbortController", "AbortSignal", "Event",
           "EventTarget", "DOMException", "crypto", "Crypto", "CryptoKey", "SubtleCrypto", "performance",
           "queueMicrotask"]


@pytest.fixture(scope="module")
def js():
    return WebJS()


def test_globals_exist_and_are_not_enumerable_or_writable(js):
    # DOMException, performance and queueMicrotask are QuickJS-NG's own, left as the engine makes them.
    got = js.run("""const names = dukpy.names;
      [names.filter(n => !(n in globalThis)),
       Object.keys(globalThis).filter(n => (names.includes(n) && n !== 'performance') || n.startsWith('__fazt')),
       names.filter(n => { const d = Object.getOwnPropertyDescriptor(globalThis, n); return d && d.writable && !['DOMException', 'performance', 'queueMicrotask'].includes(n); }),
       typeof __faztWebBuild, typeof __faztWeb, typeof performance.now()]""", names=GLOBALS)
    assert got == [[], [], [], "undefined", "object", "number"]


def test_text_encoder_and_decoder(js):
    got = js.run("""const enc = new TextEncoder(), dec = new TextDecoder();
      const stream = new TextDecoder();
      const euro = enc.encode('€');
      const parts = [stream.decode(euro.subarray(0, 1), { stream: true }), stream.decode(euro.subarray(1, 2), { stream: true }),
                     stream.decode(euro.subarray(2), { stream: true }), stream.decode()];
      const into = new Uint8Array(4);
      [Array.from(enc.encode('h€𝄞')), Array.from(enc.encode('\\ud800')), enc.encoding, dec.encoding,
       dec.decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])), new TextDecoder('utf-8', { ignoreBOM: true }).decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])),
       dec.decode(new Uint8Array([0x41, 0xc3, 0x28, 0xf0, 0x9f, 0x98, 0x41, 0xed, 0xa0, 0x80])),
       (() => { try { new TextDecoder('utf8', { fatal: true }).decode(new Uint8Array([0xff])); } catch (e) { return e.name; } })(),
       (() => { try { new TextDecoder('latin1'); } catch (e) { return e.name; } })(),
       parts, enc.encodeInto('a€b', into), Array.from(into), dec.decode(), dec.decode(new Uint8Array([104, 105]).buffer)]""")
    assert got == [
        [104, 0xe2, 0x82, 0xac, 0xf0, 0x9d, 0x84, 0x9e], [0xef, 0xbf, 0xbd], "utf-8", "utf-8", "A", "\ufeffA",
        "A\ufffd(\ufffdA\ufffd\ufffd\ufffd", "TypeError", "RangeError", ["", "", "€", ""], {"read": 2, "written": 4},
        [97, 0xe2, 0x82, 0xac], "", "hi"]


def test_text_decoder_matches_python_on_every_byte_pair(js):
    # Every two-byte sequence, each followed by "x": the replacement behaviour of the Encoding standard,
    # which Python's UTF-8 decoder ("replace") also follows (maximal subparts).
    data = b"".join(bytes([a, b]) + b"x" for a in range(0x80, 0x100, 3) for b in range(0, 0x100, 5))
    got = js.run("new TextDecoder().decode(__faztWeb.wireToBytes(dukpy.data))", data=base64.b64encode(data).decode())
    assert got == data.decode("utf-8", "replace")


def test_atob_and_btoa(js):
    got = js.run("""[btoa(''), btoa('\\x00\\xffab'), atob(' YW Jj\\n'), atob('YQ'), atob('YQ=='),
       ...['YQ=', 'Y', 'a*bc', '\\u00e9'].map(s => { try { atob(s); return 'ok'; } catch (e) { return e.name; } }),
       (() => { try { btoa('€'); } catch (e) { return [e.name, e instanceof DOMException]; } })()]""")
    assert got == ["", "AP9hYg==", "abc", "a", "a", "InvalidCharacterError", "InvalidCharacterError",
                   "InvalidCharacterError", "InvalidCharacterError", ["InvalidCharacterError", True]]


def test_structured_clone(js):
    got = js.run("""const shared = { n: 1 };
      const o = { a: [1, shared, shared], d: new Date(5), r: /x+/gi, m: new Map([[shared, new Set([1n])]]),
                  u: new Uint16Array([1, 65535]), buf: new ArrayBuffer(2), e: new RangeError('bad'),
                  b: new Boolean(false), blob: new Blob(['hi'], { type: 'text/plain' }), big: 10n, undef: undefined };
      o.self = o;
      const c = structuredClone(o);
      const errors = [() => {}, Symbol('s'), new WeakMap(), { f() {} }, new Headers()].map(v => {
        try { structuredClone(v); return 'cloned'; } catch (e) { return e.name; } });
      [c !== o, c.self === c, c.a[1] === c.a[2], c.a[1] !== shared, c.d instanceof Date && c.d.getTime(),
       c.r.source + '/' + c.r.flags, c.m.keys().next().value === c.a[1], typeof [...c.m.values()][0].values().next().value,
       c.u instanceof Uint16Array && Array.from(c.u), c.buf.byteLength, c.e instanceof RangeError && c.e.message,
       c.b instanceof Boolean, c.blob instanceof Blob && c.blob.type, 'undef' in c, typeof c.big, errors]""")
    assert got == [True, True, True, True, 5, "x+/gi", True, "bigint", [1, 65535], 2, "bad", True, "text/plain", True,
                   "bigint", ["DataCloneError"] * 5]


def test_abort_controller_and_events(js):
    got = js.run("""const ctl = new AbortController();
      const log = [];
      ctl.signal.onabort = (e) => log.push('on:' + e.type);
      ctl.signal.addEventListener('abort', (e) => log.push('listener:' + (e.target === ctl.signal)), { once: true });
      const any = AbortSignal.any([ctl.signal, new AbortController().signal]);
      any.addEventListener('abort', () => log.push('any'));
      ctl.abort('why'); ctl.abort('again');
      const target = new EventTarget();
      const off = new AbortController();
      target.addEventListener('ping', () => log.push('removed by signal'), { signal: off.signal });
      off.abort();
      target.addEventListener('ping', { handleEvent: (e) => { log.push('object'); e.preventDefault(); } });
      target.addEventListener('ping', () => { throw new Error('reported, not thrown'); });
      const notCanceled = target.dispatchEvent(new Event('ping', { cancelable: true }));
      [log, ctl.signal.aborted, ctl.signal.reason, any.reason, notCanceled,
       (() => { try { ctl.signal.throwIfAborted(); } catch (e) { return e; } })(),
       AbortSignal.abort().reason.name, AbortSignal.abort().reason instanceof DOMException,
       (() => { try { new AbortSignal(); } catch (e) { return e.name; } })()]""")
    assert got == [["on:abort", "listener:true", "any", "object"], True, "why", "why", False, "why", "AbortError",
                   True, "TypeError"]


def test_abort_signal_timeout_uses_the_set_timeout_present_when_called(js):
    got = js.run("""const before = (() => { try { AbortSignal.timeout(5); return 'made'; } catch (e) { return e.name; } })();
      const timers = [];
      globalThis.setTimeout = (fn, ms) => { timers.push(ms); fn(); return 1; };
      const s = AbortSignal.timeout(250);
      delete globalThis.setTimeout;
      [before, timers, s.aborted, s.reason.name]""")
    assert got == ["NotSupportedError", [250], True, "TimeoutError"]


def test_blob_and_file(js):
    got = js.wait("""const b = new Blob(['ab', new Uint8Array([99, 100]), new Blob(['é'])], { type: 'Text/Plain' });
      const f = new File([b], 'n.txt', { lastModified: 42 });
      return [b.size, b.type, await b.text(), await b.slice(-3).text(), b.slice(1, 3, 'x/y').type, f.name, f.lastModified,
              f.type, f instanceof Blob, Object.prototype.toString.call(f), await f.text(),
              Array.from(await new Blob(['a\\r\\nb'], { endings: 'native' }).bytes())];""")
    assert got == [6, "text/plain", "abcdé", "dé", "x/y", "n.txt", 42, "", True, "[object File]", "abcdé",
                   [97, 10, 98]]


def test_local_functions_bound_their_inputs():
    assert webhost.url_parse("nope") is None
    with pytest.raises(ValueError):
        webhost.url_parse("x" * (webvalues.MAX_URL_CHARS + 1))
    with pytest.raises(ValueError):
        webhost.crypto_random(webhost.MAX_RANDOM_BYTES + 1)
    with pytest.raises(ValueError):
        webhost.crypto_digest("MD5", "")
    with pytest.raises(ValueError):
        webhost.crypto_digest("SHA-256", "not a binary string: €")
    with pytest.raises(ValueError):
        webhost.crypto_digest("SHA-256", "A" * (webvalues.MAX_DATA_BYTES + 1))
    assert webhost.from_base64("not base64!") is None
    assert webhost.from_base64(" YQ\n", forgiving=True) == "a"
    with pytest.raises(ValueError):
        webhost.text_decode("\xff", fatal=True)
    assert webhost.url_set("https://a.test/", "port", "nope")["href"] == "https://a.test/"
    assert webhost.url_set("https://a.test/", "href", "::") is None


class Interrupted(BaseException):
    """Raised by this test's SIGALRM handler, as the worker's CPU timer raises its own."""


def test_an_abort_reply_from_the_worker_is_never_taken_as_a_result():
    # Once a run's CPU budget is spent the worker answers every call_python with {"abort": true};
    # the Web APIs must then spin until the timer interrupts them, not hand that reply to the script.
    import signal

    web = WebJS()
    web.interpreter.aborting = True

    def interrupt(signum, frame):
        raise Interrupted()

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.2)
    try:
        with pytest.raises(Interrupted):
            web.run("crypto.randomUUID()")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_python_errors_reach_scripts_as_type_errors(js):
    assert js.run("""(() => { try { new URL('https://a.test/' + 'x'.repeat(1100000)); }
      catch (e) { return [e.name, e.message]; } })()""") == ["TypeError", "string longer than 1048576 characters"]


def test_text_decoder_streams_a_bom_and_a_sequence_split_across_chunks(js):
    assert js.run("""const d = new TextDecoder();
      [d.decode(new Uint8Array([0xef]), { stream: true }), d.decode(new Uint8Array([0xbb]), { stream: true }),
       d.decode(new Uint8Array([0xbf, 0x41]), { stream: true }), d.decode(new Uint8Array([0xe2, 0x82]), { stream: true }),
       d.decode(), new TextDecoder().decode(new Uint8Array([0xef, 0xbb]))]""") == ["", "", "A", "", "\ufffd", "\ufffd"]
