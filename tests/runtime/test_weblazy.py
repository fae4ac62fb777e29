"""The Web API globals load on first use (fazt.runtime.sandbox.web_loader_source), not per interpreter.

dukpy runs a full GC twice per evaljs over every object of the interpreter, so files a request does
not use must not be in its heap; a script that does use them must not see any difference.
"""

import time

from fakeparent import FakeParent
from fazt.runtime.sandbox import new_interpreter, web_global_names
from fazt.runtime.webhost import LOCAL_FUNCTIONS

STATE = "typeof Object.getOwnPropertyDescriptor(globalThis, 'URL').get === 'function' ? 'lazy' : 'loaded'"


def test_a_new_interpreter_holds_accessors_until_a_web_global_is_used():
    interpreter = new_interpreter(LOCAL_FUNCTIONS)
    assert interpreter.evaljs(STATE) == "lazy"
    assert interpreter.evaljs("new URL('https://a.example/b?c=1').searchParams.get('c')") == "1"
    assert interpreter.evaljs(STATE) == "loaded"
    assert interpreter.evaljs("Object.getOwnPropertyDescriptor(globalThis, 'URL').configurable") is False


def test_every_web_global_is_there_at_first_touch():
    names = web_global_names()
    for name in ("URL", "Request", "Response", "Headers", "crypto", "structuredClone", "TextEncoder", "atob",
                 "FormData", "Blob", "AbortController", "__faztWeb"):
        assert name in names
        interpreter = new_interpreter(LOCAL_FUNCTIONS)
        assert interpreter.evaljs(f"typeof {name}") in ("function", "object"), name


def test_fazt_style_requests_never_load_them_and_handlers_that_use_them_do():
    parent = FakeParent()
    probe = "res.send(typeof Object.getOwnPropertyDescriptor(globalThis, 'Blob').get)"
    assert parent.run(probe)["response"]["body"] == "function"  # still an accessor: nothing loaded
    source = "export default async () => Response.json({digest: (await crypto.subtle.digest('SHA-1', new Uint8Array([1]))).byteLength})"
    assert parent.run(source)["response"]["body"] == '{"digest":20}'


def test_a_request_that_uses_no_web_api_costs_less_than_one_that_loads_them():
    # An ordering, not a time bound: the same engine, alternating, best of several rounds.
    def per_run(source):
        parent = FakeParent()
        best = float("inf")
        for _ in range(5):
            started = time.process_time()
            for _ in range(40):
                parent.run(source)
                parent.frames.clear()
            best = min(best, time.process_time() - started)
        return best

    assert per_run("res.send('hi')") < per_run("new URL('https://a.example/'); res.send('hi')")
