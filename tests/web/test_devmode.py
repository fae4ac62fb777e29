"""The pure parts of `fazt dev`'s web side: where the reload script goes, which requests get the JSON
envelope, and that the error page escapes what a compiler message may contain."""

from __future__ import annotations

from twisted.web.test.requesthelper import DummyRequest

from fazt.web.devmode import DevState, error_page, inject, wants_json

TAG = b"<script src=x></script>"


def test_the_script_goes_before_the_last_body_end_or_at_the_end():
    assert inject(b"<body><p>a</p></BODY >\n", TAG) == b"<body><p>a</p>" + TAG + b"</BODY >\n"
    assert inject(b"<p>x</p>", TAG) == b"<p>x</p>" + TAG
    # A '</body>' inside the page's text before the real one is left alone.
    page = b"<body><pre>&lt;/body&gt; </body></pre></body>"
    assert inject(page, TAG) == b"<body><pre>&lt;/body&gt; </body></pre>" + TAG + b"</body>"


def request(path: bytes, accept: bytes | None = None):
    req = DummyRequest(path.strip(b"/").split(b"/"))
    req.path = path
    if accept is not None:
        req.requestHeaders.setRawHeaders(b"accept", [accept])
    return req


def test_api_calls_get_json_and_page_loads_html():
    assert wants_json(request(b"/api")) and wants_json(request(b"/api/users/1"))
    assert wants_json(request(b"/data", b"application/json"))
    assert not wants_json(request(b"/", b"text/html,application/xhtml+xml,*/*;q=0.8"))
    assert not wants_json(request(b"/apiary"))
    assert not wants_json(request(b"/x", b"text/html, application/json"))


def test_the_error_page_escapes_the_message():
    page = error_page({"code": "INVALID_SCRIPT", "message": "a.js:1: <img src=x onerror=alert(1)>",
                       "details": {"file": "a<b>.js", "line": 1, "message": "<img src=x onerror=alert(1)>"}})
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<code>a&lt;b&gt;.js:1</code>" in page


def test_each_change_is_a_new_version():
    state = DevState(1000.0)
    versions = [state.version]
    state.failed({"code": "X", "message": "m"})
    versions.append(state.version)
    assert state.error == {"code": "X", "message": "m"}
    state.deployed()
    versions.append(state.version)
    assert state.error is None and len(set(versions)) == 3
    assert DevState(1001.0).version not in versions   # a restarted dev server too


def dev_request(method: bytes = b"GET"):
    from twisted.web.test.requesthelper import DummyChannel

    from fazt.web.devmode import DevRequest

    channel = DummyChannel()
    request = DevRequest(channel)
    request.method, request.uri, request.path, request.clientproto = method, b"/", b"/", b"HTTP/1.1"
    request.dev_snippet = TAG
    return request, channel


def sent(channel) -> tuple[bytes, bytes]:
    head, _, body = channel.transport.written.getvalue().partition(b"\r\n\r\n")
    return head.lower(), body


def test_an_html_body_written_in_pieces_gets_the_script_and_its_new_length():
    request, channel = dev_request()
    request.setHeader(b"content-type", b"text/html; charset=utf-8")
    request.setHeader(b"cache-control", b"public, max-age=60")
    request.setHeader(b"content-length", b"26")
    request.write(b"<body><p>one</p>")
    request.write(b"</body>\n")
    request.finish()
    head, body = sent(channel)
    assert body == b"<body><p>one</p>" + TAG + b"</body>\n"
    assert f"content-length: {len(body)}".encode() in head.split(b"\r\n")
    assert b"cache-control: no-cache" in head.split(b"\r\n")


def test_other_bodies_pass_through_and_an_empty_html_answer_is_still_sent():
    request, channel = dev_request()
    request.setHeader(b"content-type", b"text/css")
    request.setHeader(b"content-length", b"3")
    request.write(b"p{}")
    request.finish()
    assert sent(channel)[1] == b"p{}"
    request, channel = dev_request()
    request.setHeader(b"content-type", b"text/html")
    request.setHeader(b"content-length", b"0")
    request.finish()
    head, body = sent(channel)
    assert head.startswith(b"http/1.1 200") and body == b""
