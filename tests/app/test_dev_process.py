"""`fazt dev DIR` (SPEC §15), the installed command on real folders: the server's own serving code over
a scratch cartridge, every change deployed without a restart, requests and console lines printed, a
syntax error shown as a page (and the JSON envelope for API calls) until it is fixed, open pages told
to reload over the event stream."""

from __future__ import annotations

import http.client
import json
import os

import pytest
import pytest_twisted

from devserver_testing import start_dev
from wsclient import close_all, join

# The script tag dev mode adds to HTML: the page reloads when the events name another version.
CLIENT = b'<script src="/.fazt/dev/client.js?v='

SITE = {
    "index.html": "<!doctype html><title>t</title><body><h1>version one</h1></body>",
    "style.css": "h1 { color: red }",
    "_redirects": "/old  /  301\n",
    "_headers": "/style.css\n  X-Dev-Test: yes\n",
    "api/hello.js": (
        "export function GET(request, ctx) {\n"
        "  console.log('hello called');\n"
        "  return Response.json({ v: 1, greeting: ctx.env.GREETING ?? null });\n"
        "}\n"
    ),
    "api/count.js": "export function POST() { return Response.json({ n: db.incr('n', 1) }); }\n",
}


def write(folder, files: dict) -> None:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


@pytest.fixture
def dev(installed, tmp_path):
    folder = tmp_path / "site"
    write(folder, SITE)
    (folder / ".env").write_text("GREETING=hello from .env\n")
    server = start_dev(folder, tmp_path)
    yield server
    server.stop()


def served(dev, path: str, text: bytes, **kwargs):
    """Wait until C{path} answers with C{text} in its body (a deploy happens in the background)."""
    def check():
        status, headers, body = dev.get(path, **kwargs)
        return (status, headers, body) if text in body else None
    return dev.wait_until(check, f"{path} serving {text!r}")


def test_serves_the_folder_as_a_deployed_site(dev):
    status, headers, body = dev.get("/")
    assert status == 200 and b"<h1>version one</h1>" in body
    # The reload script goes in before </body>; the rest of the page is the file's.
    assert body.startswith(b"<!doctype html><title>t</title><body><h1>version one</h1>" + CLIENT)
    assert body.endswith(b"</script></body>") and int(headers["content-length"]) == len(body)
    assert headers["cache-control"] == "no-cache"
    # Rules, headers, functions, env from .env and KV: the server's own.
    status, headers, _ = dev.get("/old")
    assert status == 301 and headers["location"].endswith("/")
    status, headers, body = dev.get("/style.css")
    assert (status, body, headers["x-dev-test"]) == (200, b"h1 { color: red }", "yes")
    assert CLIENT not in body
    status, _, body = dev.get("/api/hello")
    assert (status, json.loads(body)) == (200, {"v": 1, "greeting": "hello from .env"})
    assert [json.loads(dev.request("POST", "/api/count")[2])["n"] for _ in range(2)] == [1, 2]
    # Every host is the dev site; the scratch cartridge is never deployed or served.
    assert dev.get("/", host="anything.example")[2] == dev.get("/")[2]
    assert (dev.folder / ".fazt" / "dev.db").is_file()
    assert dev.get("/.fazt/dev.db")[0] == 404 and dev.get("/.env")[0] == 404
    # Each request and each console line is printed.
    lines = dev.lines()
    assert "GET /api/hello 200" in lines and "POST /api/count 200" in lines
    assert "console.info: hello called" in lines


def test_edits_to_a_file_a_function_and_env_are_served_without_restart(dev):
    pid = dev.proc.pid
    write(dev.folder, {"index.html": "<!doctype html><body><h1>version two</h1></body>",
                       "api/hello.js": "export const GET = (r, ctx) => Response.json({ v: 2, g: ctx.env.GREETING });\n"})
    served(dev, "/", b"<h1>version two</h1>")
    status, _, body = served(dev, "/api/hello", b'"v":2')
    assert (status, json.loads(body)) == (200, {"v": 2, "g": "hello from .env"})
    (dev.folder / ".env").write_text("GREETING=changed\n")
    served(dev, "/api/hello", b'"g":"changed"')
    # A new file and a removed one.
    write(dev.folder, {"new.html": "<p>new page</p>"})
    served(dev, "/new", b"<p>new page</p>")
    os.remove(dev.folder / "style.css")
    dev.wait_until(lambda: dev.get("/style.css")[0] == 404, "style.css gone")
    assert dev.proc.pid == pid and dev.proc.poll() is None
    assert any(line.startswith("changed: ") and "index.html" in line for line in dev.lines())
    # The KV data outlives the deploys.
    assert json.loads(dev.request("POST", "/api/count")[2]) == {"n": 1}
    assert json.loads(dev.request("POST", "/api/count")[2]) == {"n": 2}


def test_a_syntax_error_is_an_error_page_until_it_is_fixed(dev):
    write(dev.folder, {"api/hello.js": "export function GET() {\n  return 1 +;\n}\n"})
    status, headers, body = served(dev, "/", b"INVALID_SCRIPT", headers={"Accept": "text/html"})
    assert status == 500 and headers["content-type"].startswith("text/html")
    assert b"<code>api/hello.js:2</code>" in body and b"SyntaxError" in body
    assert CLIENT in body   # the page reloads itself once the file is fixed
    # API calls get the JSON envelope with the deploy check's details.
    status, headers, body = dev.get("/api/hello")
    error = json.loads(body)["error"]
    assert status == 500 and headers["content-type"] == "application/json"
    assert error["code"] == "INVALID_SCRIPT"
    assert error["details"]["file"] == "api/hello.js" and error["details"]["line"] == 2
    assert any(line.startswith("error: INVALID_SCRIPT: api/hello.js:2") for line in dev.lines())
    # Fixing it recovers, without a restart.
    write(dev.folder, {"api/hello.js": "export const GET = () => Response.json({ fixed: true });\n"})
    status, _, body = served(dev, "/api/hello", b"fixed")
    assert (status, json.loads(body)) == (200, {"fixed": True})
    assert b"<h1>version one</h1>" in dev.get("/")[2]
    # A .env the server would refuse is shown the same way, then fixed.
    (dev.folder / ".env").write_text("lower_case=x\n")
    status, _, body = served(dev, "/api/hello", b"INVALID_ENV")
    assert status == 500 and json.loads(body)["error"]["details"]["file"] == ".env"
    (dev.folder / ".env").write_text("GOOD=1\n")
    served(dev, "/api/hello", b"fixed")


def read_event(response) -> tuple[str, str]:
    """The next server-sent event (name, data), skipping comments."""
    name = data = None
    while True:
        line = response.fp.readline().decode().rstrip("\n")
        if line == "" and name is not None:
            return name, data
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data = line[6:]


def test_the_event_stream_names_a_new_version_after_each_change(dev):
    conn = http.client.HTTPConnection("127.0.0.1", dev.port, timeout=60)
    try:
        conn.request("GET", "/.fazt/dev/events", headers={"Host": "localhost"})
        response = conn.getresponse()
        assert response.status == 200 and response.getheader("content-type").startswith("text/event-stream")
        name, first = read_event(response)
        assert name == "hello"
        # The page was served with the same version: it would not reload.
        assert f"?v={first}\"".encode() in dev.get("/")[2]
        write(dev.folder, {"style.css": "h1 { color: blue }"})
        name, second = read_event(response)
        assert name == "reload" and second != first
        assert f"?v={second}\"".encode() in dev.get("/")[2]
        # Stopping ends the open stream (a graceful stop does not wait for it).
        assert dev.stop() == 0
        assert response.fp.read().endswith(b"0\r\n\r\n")   # the chunked body's end: finished, not cut
    finally:
        conn.close()


def test_head_answers_the_headers_get_does(dev):
    """RFC 9110 §9.3.2: HEAD's headers are GET's, so its Content-Length counts the reload script."""
    write(dev.folder, {"page.htm": "<!doctype html><p>no body tag", "empty.html": ""})
    served(dev, "/page.htm", b"no body tag")
    for path in ("/", "/index.html", "/page.htm", "/empty.html", "/style.css", "/missing"):
        got_status, got, body = dev.get(path)
        head_status, head, nothing = dev.request("HEAD", path)
        assert (head_status, nothing) == (got_status, b"")
        assert int(got["content-length"]) == len(body)
        got.pop("date"), head.pop("date")
        assert head == got, path


def test_the_reload_script(dev):
    status, headers, body = dev.get("/.fazt/dev/client.js")
    assert status == 200 and b"new EventSource(\"/.fazt/dev/events\")" in body
    assert headers["content-type"].startswith("text/javascript")


def test_stops_cleanly_and_refuses_bad_arguments(installed, tmp_path, fz):
    env = fz.subprocess_env(tmp_path / "home")
    result = fz.run_fazt(env, "dev", str(tmp_path / "missing"))
    assert result.returncode == 1 and result.stderr.strip() == f"error: not a folder: {tmp_path / 'missing'}"
    result = fz.run_fazt(env, "dev", str(tmp_path), "--port", "70000")
    assert result.returncode == 2 and "must be from 1 to 65535" in result.stderr
    result = fz.run_fazt(env, "dev", "--help")
    assert result.returncode == 0 and "--port" in result.stdout and ".env" in result.stdout
    folder = tmp_path / "site"
    write(folder, {"index.html": "<p>hi</p>"})
    first = start_dev(folder, tmp_path)
    try:
        # The port is taken: one error line, exit 1.
        taken = fz.run_fazt(env, "dev", str(folder), "--port", str(first.port), timeout=60)
        assert taken.returncode == 1
        assert taken.stderr.strip().splitlines()[-1].startswith(f"error: cannot listen on 127.0.0.1:{first.port}")
    finally:
        assert first.stop() == 0
    assert "fazt dev: stopped" in first.lines()


def test_an_empty_folder_shows_what_is_wrong_then_serves_once_there_is_a_file(installed, tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    dev = start_dev(folder, tmp_path)
    try:
        status, _, body = dev.get("/")
        assert status == 500 and b"nothing to deploy" in body
        write(folder, {"index.html": "<p>first file</p>"})
        served(dev, "/", b"<p>first file</p>")
    finally:
        dev.stop()


@pytest_twisted.ensureDeferred
async def test_the_chat_template_relays_in_dev_as_deployed(installed, tmp_path, fz):
    """`fazt new --template chat` then `fazt dev`: the site's /ws relay and socket.* in api/ functions."""
    folder = tmp_path / "chat"
    assert fz.run_fazt(fz.subprocess_env(tmp_path / "home"), "new", str(folder), "--template", "chat").returncode == 0
    dev = start_dev(folder, tmp_path)
    try:
        host = f"localhost:{dev.port}"
        alice = await join(dev.port, host, origin=f"http://{host}")
        bob = await join(dev.port, host, origin=f"http://{host}")
        try:
            bob.sendMessage(b"hello from bob")
            assert await alice.messages(1) == ["hello from bob"]
            status, _, body = dev.request("POST", "/api/announce", b"from the server")
            assert (status, json.loads(body)) == (200, {"sent": 2})
            assert (await bob.messages(2))[1] == "from the server"
        finally:
            await close_all([alice, bob])
    finally:
        dev.stop()
