"""Headers, Request, Response, FormData and the Body mixin in scripts (Fetch standard)."""

import base64
import io

import pytest
from python_multipart import parse_form

from webapi_support import WebJS

# Every byte value, CR/LF runs, and lines that look like the boundary but are not it.
BINARY = bytes(range(256)) * 4 + b"\r\n\r\n--\r\n--XyZ\r\n--XyZboundar\r\n\x00\r\n" + bytes(range(255, -1, -1))
BOUNDARY = "XyZboundary7MA4YWxkTrZu0gW"


def b64(data):
    return base64.b64encode(data).decode()


def multipart_body():
    """A multipart/form-data upload as a browser sends it: a text field and two files."""
    parts = [
        b'Content-Disposition: form-data; name="title"\r\n\r\nZo\xc3\xab & co\r\nline 2',
        b'Content-Disposition: form-data; name="upload"; filename="d\xc3\xa9mo.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + BINARY,
        b'Content-Disposition: form-data; name="empty"; filename=""\r\n\r\n',
    ]
    sep = f"--{BOUNDARY}\r\n".encode()
    return b"".join(sep + p + b"\r\n" for p in parts) + f"--{BOUNDARY}--\r\n".encode()


@pytest.fixture(scope="module")
def js():
    return WebJS()


def test_headers_are_case_insensitive_sorted_and_combined(js):
    got = js.run("""const h = new Headers([['X-B', ' 2 '], ['x-a', '1']]);
      h.append('X-A', '3'); h.append('Set-Cookie', 'a=1'); h.append('set-cookie', 'b=2');
      const out = [[...h], h.get('x-A'), h.get('nope'), h.has('X-B'), h.getSetCookie(), [...h.keys()]];
      h.set('x-a', 'only'); h.delete('X-B');
      out.push([...h.entries()]);
      out.push([...new Headers({ Z: '1', a: '2' })], [...new Headers(h)].length);
      const errors = [];
      for (const bad of [() => h.append('bad name', 'x'), () => h.set('x', 'a\\nb'), () => h.get('é'),
                         () => new Headers([['a']]), () => Response.error().headers.set('a', 'b')]) {
        try { bad(); errors.push(null); } catch (e) { errors.push(e.name); }
      }
      out.push(errors);
      out""")
    assert got == [
        [["set-cookie", "a=1"], ["set-cookie", "b=2"], ["x-a", "1, 3"], ["x-b", "2"]], "1, 3", None, True,
        ["a=1", "b=2"], ["set-cookie", "set-cookie", "x-a", "x-b"],
        [["set-cookie", "a=1"], ["set-cookie", "b=2"], ["x-a", "only"]],
        [["a", "2"], ["z", "1"]], 3,
        ["TypeError"] * 5,
    ]


def test_response_basics(js):
    got = js.wait("""const r = new Response('hé', { status: 201, statusText: 'Made', headers: { 'X-A': '1' } });
      const c = r.clone();
      return [r.status, r.ok, r.statusText, r.type, r.url, r.redirected, r.headers.get('content-type'),
              r.body, r.bodyUsed, await r.text(), r.bodyUsed, await c.text(),
              await r.text().then(() => 'read twice', e => e.name),
              (() => { try { r.clone(); } catch (e) { return e.name; } })(),
              new Response().body, new Response(null, { status: 204 }).status,
              new Response(new Uint8Array([1, 2])).body instanceof Uint8Array];""")
    assert got == [201, True, "Made", "default", "", False, "text/plain;charset=UTF-8", "hé", False, "hé", True, "hé",
                   "TypeError", "TypeError", None, 204, True]


@pytest.mark.parametrize("call, error", [
    ("new Response('x', { status: 99 })", "RangeError"),
    ("new Response('x', { status: 600 })", "RangeError"),
    ("new Response('x', { status: 204 })", "TypeError"),
    ("new Response('x', { statusText: 'a\\nb' })", "TypeError"),
    ("Response.redirect('/relative')", "TypeError"),
    ("Response.redirect('https://a.test/', 200)", "RangeError"),
    ("Response.json(undefined)", "TypeError"),
    ("new Request('/relative')", "TypeError"),
    ("new Request('https://u:p@a.test/')", "TypeError"),
    ("new Request('https://a.test/', { method: 'GET', body: 'x' })", "TypeError"),
    ("new Request('https://a.test/', { method: 'CONNECT' })", "TypeError"),
    ("new Request('https://a.test/', { method: 'bad method' })", "TypeError"),
])
def test_constructor_errors(js, call, error):
    assert js.run(f"(() => {{ try {{ {call}; return 'no error'; }} catch (e) {{ return e.name; }} }})()") == error


def test_static_responses(js):
    got = js.wait("""const j = Response.json({ a: [1, 'é'] }, { status: 404, headers: { 'x-y': 'z' } });
      const j2 = Response.json(1, { headers: { 'content-type': 'application/vnd.api+json' } });
      const r = Response.redirect('https://x.test/a b?c', 301);
      const e = Response.error();
      return [j.status, j.headers.get('content-type'), j.headers.get('x-y'), await j.json(),
              j2.headers.get('content-type'), r.status, r.headers.get('location'), r.body,
              e.type, e.status, e.ok];""")
    assert got == [404, "application/json", "z", {"a": [1, "é"]}, "application/vnd.api+json", 301,
                   "https://x.test/a%20b?c", None, "error", 0, False]


def test_body_mixin_reads_every_shape(js):
    got = js.wait("""const bytes = new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0xc3, 0xa9, 0xff]);
      const mk = () => new Response(bytes, { headers: { 'content-type': 'Application/Octet-Stream' } });
      const blob = await mk().blob();
      return [await mk().text(), Array.from(await mk().bytes()), new Uint8Array(await mk().arrayBuffer()).length,
              blob.type, blob.size, await new Response('{"a":1}').json(),
              await new Response('{bad').json().then(() => 'parsed', e => e.name),
              await new Response(new Blob(['x'], { type: 'text/x' })).headers.get('content-type'),
              await new Response(new Uint16Array([0x6968]).buffer).text(),
              await new Response(null).text(), new Response(null).bodyUsed];""")
    assert got == ["hé\ufffd", [0xef, 0xbb, 0xbf, 0x68, 0xc3, 0xa9, 0xff], 7, "application/octet-stream", 7, {"a": 1},
                   "SyntaxError", "text/x", "hi", "", False]


def test_body_is_null_string_or_bytes_and_round_trips(js):
    got = js.wait("""const a = new Response('text'), b = new Response(new Uint8Array([1, 2, 3])),
          c = new Response(new URLSearchParams('a=1 2')), d = new Response(null);
      const copy = new Response(b.body, b);
      return [a.body, Array.from(b.body), c.body, d.body, Array.from(await copy.bytes()), copy.status,
              __faztWeb.bodyToWire(a), __faztWeb.bodyToWire(b), __faztWeb.bodyToWire(d),
              __faztWeb.bodyToWire('raw'), __faztWeb.bodyToWire(new Uint8Array([255])),
              Array.from(__faztWeb.wireToBytes('AP8=')), __faztWeb.bytesToBase64(new Uint8Array([0, 255])),
              Object.isFrozen(__faztWeb), Object.keys(globalThis).includes('__faztWeb')];""")
    assert got == ["text", [1, 2, 3], "a=1+2", None, [1, 2, 3], 200, {"text": "text"}, {"base64": "AQID"},
                   {"text": ""}, {"text": "raw"}, {"base64": "/w=="}, [0, 255], "AP8=", True, False]


def test_request_basics(js):
    got = js.wait("""const ctl = new AbortController();
      const r = new Request('https://h.test/p/../q?x=1#f', { method: 'post', body: '{"n":1}', signal: ctl.signal,
                                                             headers: { 'Content-Type': 'application/json' } });
      const c = r.clone();
      const out = [r.method, r.url, r.headers.get('content-type'), r.redirect, r.mode, r.credentials,
                   r.signal.aborted, await r.json(), r.bodyUsed, await c.text()];
      ctl.abort();
      out.push(r.signal.aborted, c.signal.aborted, r.signal.reason.name);
      const again = new Request(new Request('https://h.test/', { method: 'PATCH', body: 'b' }), { headers: { a: '1' } });
      out.push(again.method, [...again.headers], await again.text(), new Request('https://h.test/', { method: 'patch' }).method);
      const src = new Request('https://h.test/', { method: 'PUT', body: 'x' });
      new Request(src);
      out.push(src.bodyUsed, await new Request('https://h.test/').text(), new Request('https://h.test/').body);
      return out;""")
    assert got == ["POST", "https://h.test/q?x=1#f", "application/json", "follow", "cors", "same-origin", False, {"n": 1},
                   True, '{"n":1}', True, True, "AbortError", "PATCH", [["a", "1"]], "b", "patch", True, "", None]


def test_multipart_upload_reaches_form_data_byte_exact(js):
    body = multipart_body()
    got = js.wait("""const req = new Request('https://h.test/upload', {
        method: 'POST', body: __faztWeb.wireToBytes(dukpy.body),
        headers: { 'content-type': 'multipart/form-data; boundary=' + dukpy.boundary } });
      const form = await req.formData();
      const file = form.get('upload'), empty = form.get('empty');
      return [[...form.keys()], form.get('title'), file instanceof File, file.name, file.type, file.size,
              __faztWeb.bytesToBase64(await file.bytes()), empty.name, empty.type, empty.size];""",
                  body=b64(body), boundary=BOUNDARY)
    assert got[:2] == [["title", "upload", "empty"], "Zoë & co\r\nline 2"]
    assert got[2:6] == [True, "démo.bin", "application/octet-stream", len(BINARY)]
    assert base64.b64decode(got[6]) == BINARY
    assert got[7:] == ["", "text/plain", 0]


def test_invalid_multipart_is_a_type_error(js):
    got = js.wait("""const mk = (body, type) => new Request('https://h.test/', { method: 'POST', body, headers: { 'content-type': type } });
      const results = [];
      for (const [body, type] of [['--b\\r\\nContent-Disposition: form-data; name="a"\\r\\n\\r\\nx', 'multipart/form-data; boundary=b'],
                                  ['x', 'multipart/form-data'], ['x', 'text/plain'],
                                  ['--b\\r\\nContent-Type: text/plain\\r\\n\\r\\nx\\r\\n--b--\\r\\n', 'multipart/form-data; boundary=b']]) {
        results.push(await mk(body, type).formData().then(() => 'parsed', e => e.name));
      }
      return results;""")
    assert got == ["TypeError"] * 4


def test_form_data_sent_by_a_script_parses_as_multipart_in_python(js):
    got = js.run("""const f = new FormData();
      f.append('greeting', 'hé\\nllo');
      f.append('blob', new Blob([__faztWeb.wireToBytes(dukpy.bin)], { type: 'image/png' }), 'p"ic.png');
      f.append('bare', new Blob(['x']));
      const r = new Response(f);
      [r.headers.get('content-type'), __faztWeb.bodyToWire(r).base64]""", bin=b64(BINARY))
    content_type, body = got[0], base64.b64decode(got[1])
    fields, files = {}, {}
    parse_form({"Content-Type": content_type.encode(), "Content-Length": str(len(body)).encode()}, io.BytesIO(body),
               lambda field: fields.__setitem__(field.field_name, field.value),
               lambda file: files.__setitem__(file.field_name, file))
    assert fields == {b"greeting": "hé\r\nllo".encode()}
    assert files[b"blob"].file_name == b"p%22ic.png"
    files[b"blob"].file_object.seek(0)
    assert files[b"blob"].file_object.read() == BINARY
    assert files[b"bare"].file_name == b"blob"


def test_form_data_methods_and_urlencoded_bodies(js):
    got = js.wait("""const f = new FormData();
      f.append('a', '1'); f.append('b', '2'); f.append('a', '3');
      f.set('a', 'x');
      const out = [[...f], f.has('b'), f.get('zz'), f.getAll('a')];
      f.delete('b');
      f.set('file', new File(['abc'], 'orig.txt', { type: 'text/plain' }), 'renamed.txt');
      out.push([...f.keys()], f.get('file').name, f.get('file').type, f.get('file').size);
      const r = new Request('https://h.test/', { method: 'POST', body: new URLSearchParams('q=a+b&q=%C3%A9') });
      const form = await r.formData();
      out.push(r.headers.get('content-type'), form.getAll('q'));
      return out;""")
    assert got == [[["a", "x"], ["b", "2"]], True, None, ["x"], ["a", "file"], "renamed.txt", "text/plain", 3,
                   "application/x-www-form-urlencoded;charset=UTF-8", ["a b", "é"]]


def test_fetched_response_carries_url_redirected_and_any_status(js):
    got = js.wait("""const r = __faztWeb.fetchedResponse({ status: 304, statusText: 'Not Modified', body: 'ignored',
          headers: [['ETag', '"x"'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2']], url: 'https://up.test/final', redirected: true });
      const ok = __faztWeb.fetchedResponse({ status: 200, body: __faztWeb.wireToBytes('aGk=') });
      return [r.status, r.ok, r.statusText, r.url, r.redirected, r.type, r.body, r.headers.getSetCookie(),
              r.headers.get('etag'), await ok.text(), ok.url, ok.redirected, r.clone().url];""")
    assert got == [304, False, "Not Modified", "https://up.test/final", True, "basic", None, ["a=1", "b=2"], '"x"',
                   "hi", "", False, "https://up.test/final"]


def test_byte_order_marks_follow_the_standard(js):
    # text() ("UTF-8 decode") drops a BOM; the urlencoded parser ("without BOM") keeps it.
    got = js.wait("""const bom = [0xef, 0xbb, 0xbf];
      return [await new Blob([new Uint8Array([...bom, 65])]).text(),
              await new Response(new Uint8Array([...bom, 66])).text(),
              [...await new Response(new Uint8Array([...bom, 97, 61, 49]),
                                     { headers: { 'content-type': 'application/x-www-form-urlencoded' } }).formData()]];""")
    assert got == ["A", "B", [["\ufeffa", "1"]]]


def test_a_wire_blob_body_gives_the_same_bytes_every_way(js):
    # __faztWeb.wireBlob keeps a body from the wire as base64 until a script needs bytes.
    body = multipart_body()
    got = js.wait("""const req = () => new Request('https://h.test/', { method: 'POST', body: __faztWeb.wireBlob(dukpy.body),
        headers: { 'content-type': 'multipart/form-data; boundary=' + dukpy.boundary } });
      const blob = __faztWeb.wireBlob(dukpy.body, 'Application/X');
      const form = await req().formData();
      const file = form.get('upload');
      const text = await req().text();
      return [blob.size, blob.type, __faztWeb.bodyToWire(req()).base64, __faztWeb.bytesToBase64(await req().bytes()),
              __faztWeb.bytesToBase64(req().body), text.length, file.size, __faztWeb.bytesToBase64(await file.bytes()),
              await file.slice(0, 4).bytes().then(b => Array.from(b)), form.get('title'),
              (() => { try { __faztWeb.wireBlob('a=b'); } catch (e) { return e.name; } })()];""",
                  body=b64(body), boundary=BOUNDARY)
    assert got[:5] == [len(body), "application/x", b64(body), b64(body), b64(body)]
    assert got[5] == len(body.decode("utf-8", "replace"))
    assert got[6] == len(BINARY) and base64.b64decode(got[7]) == BINARY
    assert got[8:] == [[0, 1, 2, 3], "Zoë & co\r\nline 2", "TypeError"]
