"""Helpers for tests that run the real C{twistd fazt} and C{fazt} commands as subprocesses.

Plain synchronous code: processes are started with C{subprocess.Popen}, talked to with
C{urllib}/C{http.client}, and always killed in fixture teardown.

Test modules here are not a package (and every test directory has a C{conftest.py}), so they
cannot import this file; its helpers reach them through the C{fz} fixture.
"""

from __future__ import annotations

import http.client
import io
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Optional

import pytest

from installed import FAZT, TWISTD, program_env

REPO = Path(__file__).resolve().parents[2]
DOMAIN = "example.test"
ADMIN_PASSWORD_LINE = "Created the admin user"
START_TIMEOUT = 10.0

# Never let a developer's proxy settings route loopback requests elsewhere.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# The environment for fazt's commands: no FAZT_*, proxy or source-tree settings, a private HOME.
subprocess_env = program_env


def http_get(port: int, path: str = "/", host: str = DOMAIN, timeout: float = 5.0) -> tuple[int, bytes]:
    """GET C{path} from 127.0.0.1:C{port} with an explicit Host header; (status, body)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()


def wait_for(predicate, what: str, server: "Twistd", timeout: float = 60.0):
    """Poll C{predicate} until it returns something true (returned); fail with C{server}'s log
    if C{timeout} passes or the server exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if server.proc.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout} s:\n{server.log()}")


def make_zip(files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue()


def upload_zip(port: int, token: str, site: str, archive: bytes, timeout: float = 60.0,
               on_sent=None) -> tuple[int, bytes]:
    """POST a zip to /api/deploy the way a browser would; (status, body).

    C{on_sent} is called once the whole request has been written to the socket.
    """
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"site_name\"\r\n\r\n{site}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"site.zip\"\r\n"
            f"Content-Type: application/zip\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest("POST", "/api/deploy", skip_host=True)
        conn.putheader("Host", f"admin.{DOMAIN}")
        conn.putheader("Authorization", f"Bearer {token}")
        conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        conn.putheader("Content-Length", str(len(head) + len(archive) + len(tail)))
        conn.endheaders()
        conn.send(head)
        view = memoryview(archive)
        for start in range(0, len(view), 1 << 20):
            conn.send(view[start:start + (1 << 20)])
        conn.send(tail)
        if on_sent is not None:
            on_sent()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@dataclass
class Twistd:
    """One running C{twistd -n ... fazt} process and its combined stdout/stderr log."""

    proc: subprocess.Popen
    port: int
    db: str
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def get(self, path: str = "/", host: str = DOMAIN, timeout: float = 5.0) -> tuple[int, bytes]:
        return http_get(self.port, path, host, timeout)

    def wait_healthy(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"twistd exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if http_get(self.port, "/health", timeout=1.0) == (200, b"OK"):
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"twistd did not answer /health within {timeout} s:\n{self.log()}")

    def terminate(self, timeout: float = 10.0) -> int:
        """SIGTERM and wait; the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


@dataclass
class TwistdLauncher:
    """Starts C{twistd} processes in a scratch directory and remembers them for teardown."""

    workdir: Path
    env: dict
    processes: list[Twistd] = field(default_factory=list)

    def spawn(self, db: Optional[str] = None, port: Optional[int] = None, args: tuple = (),
              tac: bool = False, env: Optional[dict] = None) -> Twistd:
        """Start twistd without waiting for it to answer."""
        db = db or str(self.workdir / "data.db")
        port = port or free_port()
        endpoint = f"tcp:{port}:interface=127.0.0.1"
        if tac:
            command = [TWISTD, "-n", "--pidfile=", "-y", str(REPO / "fazt.tac")]
            env = {**self.env, "FAZT_DOMAIN": DOMAIN, "FAZT_DB": db, "FAZT_HTTP": endpoint, **(env or {})}
        else:
            command = [TWISTD, "-n", "--pidfile=", "fazt", "--domain", DOMAIN, "--db", db,
                       "--http", endpoint, *args]
            env = {**self.env, **(env or {})}
        log_path = self.workdir / f"twistd-{len(self.processes)}.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(command, cwd=self.workdir, env=env, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT)
        server = Twistd(proc, port, db, log_path)
        self.processes.append(server)
        return server

    def start(self, db: Optional[str] = None, **kwargs) -> Twistd:
        """Start twistd and wait until /health answers."""
        server = self.spawn(db, **kwargs)
        server.wait_healthy()
        return server

    def cleanup(self) -> None:
        for server in self.processes:
            try:
                server.kill()
            except (OSError, subprocess.TimeoutExpired):
                pass


@pytest.fixture
def cli_env(tmp_path) -> dict:
    return subprocess_env(tmp_path / "home")


@pytest.fixture
def twistd(tmp_path, cli_env):
    """A L{TwistdLauncher}; every process it started is SIGKILLed at teardown."""
    launcher = TwistdLauncher(tmp_path, cli_env)
    yield launcher
    launcher.cleanup()


@pytest.fixture(scope="module")
def module_twistd(tmp_path_factory, fz):
    """A L{TwistdLauncher} shared by one module's tests, for servers that they only read (one start
    instead of one per test); every process it started is SIGKILLed after the module."""
    launcher = TwistdLauncher(tmp_path_factory.mktemp("module-twistd"), {})
    launcher.env = subprocess_env(launcher.workdir / "home")
    yield launcher
    launcher.cleanup()


def run_fazt(env: dict, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
    """Run the real C{fazt} command; output is captured as text."""
    return subprocess.run([FAZT, *args], env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def create_token(env: dict, db: str, name: str = "t", *scopes: str) -> str:
    """C{fazt key create}: the token is the last line of stdout."""
    scope_args = [arg for scope in scopes for arg in ("--scope", scope)]
    result = run_fazt(env, "key", "create", "--db", db, "--name", name, *scope_args)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def cli_deploy(env: dict, server: Twistd, token: str, directory, site: str = "blog") -> subprocess.CompletedProcess:
    """C{fazt deploy DIR --site SITE --server URL --token TOKEN}."""
    return run_fazt(env, "deploy", str(directory), "--site", site, "--server", server.url, "--token", token)


def write_tree(root: Path, files: dict[str, bytes | str]) -> Path:
    """Write C{files} (relative path → content) under C{root}."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    return root


HELPERS = SimpleNamespace(
    REPO=REPO, TWISTD=TWISTD, FAZT=FAZT, DOMAIN=DOMAIN, ADMIN_PASSWORD_LINE=ADMIN_PASSWORD_LINE,
    free_port=free_port, subprocess_env=subprocess_env, http_get=http_get, make_zip=make_zip,
    upload_zip=upload_zip, run_fazt=run_fazt, create_token=create_token, cli_deploy=cli_deploy,
    write_tree=write_tree, wait_for=wait_for, Twistd=Twistd, TwistdLauncher=TwistdLauncher,
)


@pytest.fixture(scope="session")
def fz(installed) -> SimpleNamespace:
    """This file's helpers and constants (see the module docstring); fazt is installed from the wheel."""
    return HELPERS
