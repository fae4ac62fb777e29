"""A real C{twistd fazt} and a real headless Chromium, shared by each dashboard test module.

The browser is Debian's C{/usr/bin/chromium} driven by Playwright (its own browser downloads
are not used). The dashboard is opened on C{localhost:PORT}, the admin host; hosted sites
answer on C{NAME.localhost:PORT}, which Chromium resolves to loopback by itself. Screenshots go
to C{tests/artifacts/} (not committed).
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from installed import BIN, program_env as _env

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
DOMAIN = "example.test"
PASSWORD = "correct horse battery"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

playwright_api = pytest.importorskip("playwright.sync_api")
if not os.path.exists(CHROMIUM):  # pragma: no cover - CI installs it (scripts/system-deps.sh)
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_zip(files: dict[str, str | bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue()


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    db: Path
    log_path: Path

    @property
    def base(self) -> str:
        return f"http://localhost:{self.port}"

    def site_url(self, name: str, path: str = "/") -> str:
        return f"http://{name}.localhost:{self.port}{path}"

    def get(self, url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
        request = urllib.request.Request(url, headers=headers or {})
        try:
            with _OPENER.open(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, dict(error.headers), error.read()



@pytest.fixture(scope="module")
def server(tmp_path_factory, installed):
    """One C{twistd -n fazt} for the module, with admin password L{PASSWORD}."""
    work = tmp_path_factory.mktemp("dashboard")
    env = _env(work / "home")
    db = work / "data.db"
    subprocess.run([str(BIN / "fazt"), "init", "--db", str(db), "--domain", DOMAIN, "--username", "admin",
                    "--password", PASSWORD], env=env, check=True, capture_output=True, timeout=60)
    port = free_port()
    log_path = work / "twistd.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([str(BIN / "twistd"), "-n", "--pidfile=", "fazt", "--domain", DOMAIN, "--db", str(db),
                                 "--http", f"tcp:{port}:interface=127.0.0.1", "--analytics-flush-seconds", "0.2"],
                                cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    live = Server(proc, port, db, log_path)
    deadline = time.monotonic() + 15
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"twistd exited:\n{log_path.read_text()}")
        try:
            if live.get(f"http://127.0.0.1:{port}/health")[0] == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"twistd did not start:\n{log_path.read_text()}")
        time.sleep(0.05)
    yield live
    proc.kill()
    proc.wait(10)


def api(server: Server, method: str, path: str, token: str, body: bytes | None = None,
        content_type: str = "application/json", host: str | None = None) -> tuple[int, bytes]:
    """One admin API request with a bearer token: (status, body)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type}
    if host:
        headers["Host"] = host
    request = urllib.request.Request(f"http://127.0.0.1:{server.port}{path}", data=body, method=method, headers=headers)
    try:
        with _OPENER.open(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()


def deploy(server: Server, token: str, site: str, files: dict) -> int:
    """Deploy C{files} as C{site} through /api/deploy; the deployment id."""
    boundary = "dashboard-test-boundary"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="site_name"\r\n\r\n{site}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="site.zip"\r\n'
            f"Content-Type: application/zip\r\n\r\n").encode() + make_zip(files) + f"\r\n--{boundary}--\r\n".encode()
    status, answer = api(server, "POST", "/api/deploy", token, body, f"multipart/form-data; boundary={boundary}")
    assert status == 200, answer
    return json.loads(answer)["data"]["deployment_id"]


@pytest.fixture(scope="module")
def token(server) -> str:
    """An admin API key for seeding data (C{fazt key create} on the server's cartridge)."""
    result = subprocess.run([str(BIN / "fazt"), "key", "create", "--db", str(server.db), "--name", "seed"],
                            env=_env(server.db.parent / "home"), capture_output=True, text=True, timeout=60, check=True)
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as driver:
        chromium = driver.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


class PageWatch:
    """Everything a page did wrong: console errors, uncaught exceptions, failed requests,
    HTTP errors, CSP violations."""

    def __init__(self, page, ignore_status: tuple = ()) -> None:
        """C{ignore_status}: (status, URL path) pairs a test provokes on purpose."""
        self.problems: list[str] = []
        self.ignore_status = ignore_status
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))
        page.on("requestfailed", self._failed)
        page.on("request", self._request)
        page.on("response", self._response)
        # A CSP violation is also a console error; the event makes the cause unmistakable.
        page.add_init_script("document.addEventListener('securitypolicyviolation', e =>"
                             " console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));")

    def _console(self, message) -> None:
        if message.type == "error":
            self.problems.append(f"console: {message.text}")

    def _request(self, request) -> None:
        host = urlsplit(request.url).hostname or ""
        if request.url.split(":", 1)[0] in ("http", "https") and host != "localhost" and not host.endswith(".localhost"):
            self.problems.append(f"third-party request: {request.url}")

    def _failed(self, request) -> None:
        # An event stream closed by leaving the page is aborted by design.
        if "/api/logs/stream" in request.url and "ERR_ABORTED" in (request.failure or ""):
            return
        self.problems.append(f"failed: {request.method} {request.url} {request.failure}")

    def _response(self, response) -> None:
        if response.status >= 400 and (response.status, urlsplit(response.url).path) not in self.ignore_status:
            self.problems.append(f"HTTP {response.status}: {response.request.method} {response.url}")


def new_page(browser, width: int = 1280, height: int = 860, **kwargs):
    kwargs.setdefault("color_scheme", "light")
    context = browser.new_context(viewport={"width": width, "height": height}, **kwargs)
    context.set_default_timeout(10_000)
    return context, context.new_page()


def login(page, server: Server, remember: bool = False, expect: str = "Overview") -> None:
    """Log in through the form (from the login page the app is on, or a fresh one)."""
    if "/login" not in page.url:
        page.goto(server.base + "/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    if remember:
        page.check("input[name=remember_me]")
    page.click("form button[type=submit]")
    page.wait_for_selector(f"h1:has-text('{expect}')")


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture(scope="module")
def helpers():
    return type("Helpers", (), {
        "PageWatch": PageWatch, "new_page": staticmethod(new_page), "login": staticmethod(login),
        "screenshot": staticmethod(screenshot), "make_zip": staticmethod(make_zip), "PASSWORD": PASSWORD,
        "ARTIFACTS": ARTIFACTS, "api": staticmethod(api), "deploy": staticmethod(deploy),
    })

