"""HTTP/1.1 framing as a client sees it over a real socket (RFC 9110/9112, SPEC §18).

Each exchange is a plain blocking socket (or http.client, or curl) run in a thread, against a
live fazt server in this process: what a client on 127.0.0.1 sends and what it reads back.
"""

from __future__ import annotations

import http.client
import io
import json
import socket
import ssl
import subprocess

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import ensureDeferred
from twisted.internet.threads import deferToThread

from fazt.cli.operator import create_key
from fazt_testing import make_zip, multipart_body, start_server, stop_server
from tls_testing import listen_tls

MIB = 1024 * 1024
DOMAIN = "example.test"
BLOG = f"blog.{DOMAIN}"
ADMIN = f"admin.{DOMAIN}"
SHORT = ("--header-timeout", "1", "--keepalive-timeout", "1", "--drain-seconds", "5")


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """One server with short timeouts and the blog site deployed."""
    server = start_server(str(tmp_path_factory.mktemp("framing") / "data.db"), extra_args=SHORT)
    deployed = pytest_twisted.blockon(ensureDeferred(server.deploy("blog", {
        "index.html": "<h1>home</h1>", "about.html": "<h1>about</h1>"})))
    assert deployed.code == 200, deployed.body
    yield server
    stop_server(server)


def exchange(port: int, data: bytes, shut: bool = False, timeout: float = 10.0) -> bytes:
    """Send C{data} (then shut the sending side if C{shut}) and read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        if shut:
            sock.shutdown(socket.SHUT_WR)
        return read_all(sock)


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def status_of(raw: bytes) -> int:
    assert raw.startswith((b"HTTP/1.1 ", b"HTTP/1.0 ")), raw[:200]
    return int(raw.split(b" ", 2)[1])


class _Bytes:
    def __init__(self, raw: bytes) -> None:
        self._raw = raw

    def makefile(self, mode):
        return io.BytesIO(self._raw)


def body_of(raw: bytes) -> bytes:
    """The body of the (first) answer in C{raw}, de-chunked as a client reads it."""
    response = http.client.HTTPResponse(_Bytes(raw))
    response.begin()
    return response.read()


def in_thread(function, *args, **kwargs):
    return deferToThread(function, *args, **kwargs)


def get(target: str, *headers: str, version: str = "HTTP/1.1") -> bytes:
    lines = [f"GET {target} {version}", *headers, "Connection: close", "", ""]
    return "\r\n".join(lines).encode()


# -- Host and the request target ---------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_two_host_headers_are_refused(live):
    raw = await in_thread(exchange, live.port, get("/about.html", f"Host: {BLOG}", f"Host: {ADMIN}"))
    assert status_of(raw) == 400


@pytest_twisted.ensureDeferred
async def test_http11_request_without_host_is_refused_but_http10_is_served(live):
    assert status_of(await in_thread(exchange, live.port, get("/health"))) == 400
    assert status_of(await in_thread(exchange, live.port, get("/health", version="HTTP/1.0"))) == 200


@pytest_twisted.ensureDeferred
async def test_invalid_host_value_is_refused(live):
    raw = await in_thread(exchange, live.port, get("/", "Host: blog example.test"))
    assert status_of(raw) == 400


@pytest_twisted.ensureDeferred
async def test_absolute_form_target_is_served_on_its_own_host(live):
    raw = await in_thread(exchange, live.port, get(f"http://{BLOG}/about.html", f"Host: {ADMIN}"))
    assert status_of(raw) == 200
    assert body_of(raw) == b"<h1>about</h1>"
    raw = await in_thread(exchange, live.port, get(f"HTTP://{BLOG}:80/about.html?x=1", f"Host: {BLOG}"))
    assert (status_of(raw), body_of(raw)) == (200, b"<h1>about</h1>")


@pytest.mark.parametrize("line", [
    f"GET {BLOG}:80 HTTP/1.1",             # authority-form outside CONNECT
    "GET * HTTP/1.1",                      # asterisk-form outside OPTIONS
    "GET about.html HTTP/1.1",             # no form at all
    f"GET ftp://{BLOG}/ HTTP/1.1",         # not an http(s) URL
    f"GET http://user@{BLOG}/ HTTP/1.1",   # userinfo in the authority
])
@pytest_twisted.ensureDeferred
async def test_unusual_target_forms_are_refused(live, line):
    raw = await in_thread(exchange, live.port, f"{line}\r\nHost: {BLOG}\r\n\r\n".encode())
    assert status_of(raw) == 400


@pytest_twisted.ensureDeferred
async def test_connect_is_not_allowed(live):
    raw = await in_thread(exchange, live.port, f"CONNECT {BLOG}:443 HTTP/1.1\r\nHost: {BLOG}\r\n\r\n".encode())
    assert status_of(raw) == 405


# -- line and header limits ----------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_long_request_line_gets_414(live):
    raw = await in_thread(exchange, live.port, get("/" + "a" * 9000, f"Host: {BLOG}"))
    assert status_of(raw) == 414
    # Just under the limit is served (a 404 page: no such file).
    assert status_of(await in_thread(exchange, live.port, get("/" + "a" * 8000, f"Host: {BLOG}"))) == 404


@pytest_twisted.ensureDeferred
async def test_too_many_header_lines_get_431(live):
    many = [f"X-H{i}: {i}" for i in range(101)]
    assert status_of(await in_thread(exchange, live.port, get("/", f"Host: {BLOG}", *many))) == 431
    assert status_of(await in_thread(exchange, live.port, get("/", f"Host: {BLOG}", *many[:90]))) == 200


@pytest_twisted.ensureDeferred
async def test_too_large_headers_get_431(live):
    big = ["X-A: " + "a" * 33000, "X-B: " + "b" * 33000]
    assert status_of(await in_thread(exchange, live.port, get("/", f"Host: {BLOG}", *big))) == 431
    one_line = ["X-A: " + "a" * 70000]
    assert status_of(await in_thread(exchange, live.port, get("/", f"Host: {BLOG}", *one_line))) == 431
    assert status_of(await in_thread(exchange, live.port, get("/", f"Host: {BLOG}", *big[:1]))) == 200


@pytest.fixture
def tight(tmp_path):
    server = start_server(str(tmp_path / "data.db"), extra_args=(
        "--max-request-line-kb", "1", "--max-header-lines", "3", "--max-headers-kb", "1"))
    yield server
    stop_server(server)


@pytest_twisted.ensureDeferred
async def test_limits_are_options(tight):
    assert status_of(await in_thread(exchange, tight.port, get("/" + "a" * 1100, f"Host: {BLOG}"))) == 414
    assert status_of(await in_thread(exchange, tight.port, get("/", f"Host: {BLOG}", "A: 1", "B: 2"))) == 431
    assert status_of(await in_thread(exchange, tight.port, get("/", f"Host: {BLOG}", "A: " + "a" * 1100))) == 431
    assert status_of(await in_thread(exchange, tight.port, get("/health", f"Host: {BLOG}", "A: 1"))) == 200


# -- half-close ----------------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_half_closed_client_still_gets_a_slow_answer(live):
    """A deploy is answered after a thread pool unpacks it: the client has shut its side long before."""
    body, ctype = multipart_body({"site_name": "halfclose"}, {"file": ("site.zip", make_zip({"index.html": "hc"}))})
    head = (f"POST /api/deploy HTTP/1.1\r\nHost: {ADMIN}\r\nAuthorization: Bearer {live.admin_token}\r\n"
            f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    raw = await in_thread(exchange, live.port, head + body, shut=True)
    assert status_of(raw) == 200, raw[:300]
    assert json.loads(body_of(raw))["data"]["site"] == "halfclose"


@pytest_twisted.ensureDeferred
async def test_half_closed_client_gets_every_pipelined_answer(live):
    one = f"GET /about.html HTTP/1.1\r\nHost: {BLOG}\r\n\r\n".encode()
    raw = await in_thread(exchange, live.port, one + one, shut=True)
    assert raw.count(b"HTTP/1.1 200 OK") == 2 and raw.count(b"<h1>about</h1>") == 2


@pytest_twisted.ensureDeferred
async def test_half_closed_client_with_a_partial_request_is_closed(live):
    raw = await in_thread(exchange, live.port, f"GET / HTTP/1.1\r\nHost: {BLOG}\r\n".encode(), shut=True)
    assert raw == b""


def open_stream_then_shut(port: int, token: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET /api/logs/stream?site_id=blog HTTP/1.1\r\nHost: {ADMIN}\r\n"
                     f"Authorization: Bearer {token}\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(65536)
        sock.shutdown(socket.SHUT_WR)
        return head + read_all(sock)


@pytest_twisted.ensureDeferred
async def test_half_closing_an_event_stream_ends_it(live):
    """An endless answer has no end to wait for: the server closes it rather than keep it for ever."""
    raw = await in_thread(open_stream_then_shut, live.port, live.admin_token)
    assert status_of(raw) == 200 and b"text/event-stream" in raw


# -- timeouts ------------------------------------------------------------------------------------


def trickle(port: int, data: bytes, gap: float) -> bytes:
    """Send C{data} one byte every C{gap} seconds until the server answers; then read to the end."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.settimeout(gap)
        for byte in data:
            try:
                sock.sendall(bytes([byte]))
                first = sock.recv(65536)
            except socket.timeout:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            sock.settimeout(10)
            return first + read_all(sock)
        sock.settimeout(10)
        return read_all(sock)


@pytest_twisted.ensureDeferred
async def test_headers_trickling_in_are_cut_off_with_408(live):
    # 1 s for the headers (--header-timeout 1); this client sends one byte every 0.2 s, for up to 8 s.
    slow = f"GET / HTTP/1.1\r\nHost: {BLOG}\r\nX-Slow: {'s' * 40}\r\n\r\n".encode()
    raw = await in_thread(trickle, live.port, slow, 0.2)
    assert status_of(raw) == 408


@pytest_twisted.ensureDeferred
async def test_silent_connection_is_closed_without_an_answer(live):
    assert await in_thread(exchange, live.port, b"") == b""


def keep_alive_then_wait(port: int) -> tuple[bytes, bytes]:
    """One request on a kept-alive connection, its answer, then whatever comes until the close."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET /health HTTP/1.1\r\nHost: {BLOG}\r\n\r\n".encode())
        answer = b""
        while not answer.endswith(b"OK"):
            answer += sock.recv(65536)
        return answer, read_all(sock)


@pytest_twisted.ensureDeferred
async def test_idle_kept_alive_connection_is_closed(live):
    answer, after = await in_thread(keep_alive_then_wait, live.port)
    assert status_of(answer) == 200
    assert after == b""  # closed by the server (--keepalive-timeout 1), with nothing more said


# -- refusing a body without a reset -----------------------------------------------------------


def post_with_http_client(port: int, body, chunked: bool = False) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Host": BLOG, "Content-Type": "application/octet-stream"}
        conn.request("POST", "/upload", body=body, headers=headers, encode_chunked=chunked)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


@pytest_twisted.ensureDeferred
async def test_http_client_reads_the_413_of_a_large_declared_body(live):
    status, payload = await in_thread(post_with_http_client, live.port, b"x" * (16 * MIB))
    assert status == 413 and payload["error"]["code"] == "PAYLOAD_TOO_LARGE"


@pytest_twisted.ensureDeferred
async def test_http_client_reads_the_413_of_a_large_chunked_body(live):
    chunks = (b"y" * (256 * 1024) for _ in range(64))
    status, payload = await in_thread(post_with_http_client, live.port, chunks, chunked=True)
    assert status == 413 and payload["error"]["code"] == "PAYLOAD_TOO_LARGE"


def post_over_tls(port: int, body: bytes) -> tuple[int, dict]:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the test's self-signed certificate
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=30, context=context)
    try:
        conn.request("POST", "/upload", body=body, headers={"Host": BLOG})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


@pytest.fixture
def tls(live, tmp_path):
    port = listen_tls(live, tmp_path)
    yield live.tls_port
    pytest_twisted.blockon(port.stopListening())


@pytest_twisted.ensureDeferred
async def test_http_client_reads_the_413_over_tls(tls):
    status, payload = await in_thread(post_over_tls, tls, b"x" * (16 * MIB))
    assert status == 413 and payload["error"]["code"] == "PAYLOAD_TOO_LARGE"


def curl_post(port: int, path: str, host: str, data_file: str, *extra: str) -> str:
    result = subprocess.run(
        ["curl", "-sS", "--noproxy", "*", "-o", "-", "-w", "\n%{http_code}", "-H", f"Host: {host}",
         *extra, "--data-binary", f"@{data_file}", f"http://127.0.0.1:{port}{path}"],
        capture_output=True, text=True, timeout=60)
    return result.stdout + result.stderr


@pytest.mark.parametrize("expect", ["Expect:", "Expect: 100-continue"])
@pytest_twisted.ensureDeferred
async def test_curl_reads_the_413(live, tmp_path, expect):
    big = tmp_path / "big.bin"
    big.write_bytes(b"z" * (16 * MIB))
    output = await in_thread(curl_post, live.port, "/upload", BLOG, str(big), "-H", expect)
    assert output.endswith("\n413"), output[-300:]
    assert "PAYLOAD_TOO_LARGE" in output


# -- deploys refused on their headers ------------------------------------------------------------


def deploy_head(token: str, length: int, *extra: str) -> bytes:
    lines = ["POST /api/deploy HTTP/1.1", f"Host: {ADMIN}", f"Authorization: Bearer {token}",
             "Content-Type: multipart/form-data; boundary=b", f"Content-Length: {length}", *extra, "", ""]
    return "\r\n".join(lines).encode()


@pytest_twisted.ensureDeferred
async def test_deploy_with_a_wrong_token_is_refused_before_its_body(live):
    # Only the headers and a scrap of a 50 MiB body are sent: the answer must not wait for the rest.
    raw = await in_thread(exchange, live.port, deploy_head("wrong", 50 * MIB) + b"--b\r\n")
    assert status_of(raw) == 401
    assert json.loads(body_of(raw))["error"]["code"] == "INVALID_API_KEY"


@pytest_twisted.ensureDeferred
async def test_deploy_expecting_100_gets_the_refusal_instead(live):
    raw = await in_thread(exchange, live.port, deploy_head("wrong", 50 * MIB, "Expect: 100-continue"))
    assert status_of(raw) == 401 and b"100 Continue" not in raw


@pytest_twisted.ensureDeferred
async def test_deploy_without_credentials_or_with_a_bad_session_is_refused_before_its_body(live):
    head = deploy_head("x", 50 * MIB).replace(b"Authorization: Bearer x\r\n", b"")
    raw = await in_thread(exchange, live.port, head)
    assert (status_of(raw), json.loads(body_of(raw))["error"]["code"]) == (401, "UNAUTHORIZED")
    raw = await in_thread(exchange, live.port, head.replace(b"\r\n\r\n", b"\r\nCookie: fazt_session=nope\r\n\r\n"))
    assert (status_of(raw), json.loads(body_of(raw))["error"]["code"]) == (401, "SESSION_EXPIRED")


def expect_continue(port: int, head: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        return sock.recv(65536)


@pytest_twisted.ensureDeferred
async def test_deploy_with_a_good_key_gets_100_continue(live):
    token = create_key(live.db, "ci", ["deploy:blog"])
    first = await in_thread(expect_continue, live.port, deploy_head(token, 50 * MIB, "Expect: 100-continue"))
    assert first == b"HTTP/1.1 100 Continue\r\n\r\n"


@pytest_twisted.ensureDeferred
async def test_a_deploy_too_large_for_its_limit_is_refused_before_authentication(live):
    raw = await in_thread(exchange, live.port, deploy_head("wrong", 500 * MIB, "Expect: 100-continue"))
    assert status_of(raw) == 413 and b"100 Continue" not in raw


@pytest_twisted.ensureDeferred
async def test_a_sites_own_api_deploy_path_gets_the_ordinary_body_limit(live):
    head = deploy_head("x", 50 * MIB).replace(ADMIN.encode(), BLOG.encode())
    raw = await in_thread(exchange, live.port, head)
    assert status_of(raw) == 413
