"""A real Git repository served over smart HTTP on 127.0.0.1, for the deploy-from-Git tests.

The repository is made with the git CLI in a scratch folder; the server is C{git http-backend}
(the CGI program Git ships) behind a small WSGI-to-CGI bridge on a wsgiref server in a thread, so
the client speaks to the same server side as on any Git host run with Apache or nginx.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}


def git(cwd: Path, *args: str) -> str:
    """Run git in C{cwd}; its stdout, stripped."""
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


class Repo:
    """A repository with a work tree under the server's project root."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True)
        git(path, "init", "-q", "-b", "main")
        git(path, "config", "http.receivepack", "false")

    def commit(self, files: dict[str, str], message: str = "change", branch: str = "main") -> str:
        """Write C{files} (path -> text) on C{branch} (made from the current one if new); the commit id."""
        current = git(self.path, "symbolic-ref", "--short", "HEAD")
        if current != branch and git(self.path, "rev-parse", "--verify", "-q", "HEAD") == "":
            git(self.path, "symbolic-ref", "HEAD", f"refs/heads/{branch}")
            current = branch
        if current != branch:
            exists = git(self.path, "branch", "--list", branch) != ""
            git(self.path, "checkout", "-q", *(() if exists else ("-b",)), branch)
        for name, text in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        git(self.path, "add", "-A")
        git(self.path, "commit", "-q", "-m", message)
        sha = git(self.path, "rev-parse", "HEAD")
        if current != branch:
            git(self.path, "checkout", "-q", current)
        return sha

    def tag(self, name: str, annotated: bool = True) -> None:
        git(self.path, "tag", *(("-a", "-m", name) if annotated else ()), name)


def _cgi_app(project_root: Path):
    def app(environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_PROJECT_ROOT": str(project_root),
               "GIT_HTTP_EXPORT_ALL": "1", "REQUEST_METHOD": environ["REQUEST_METHOD"],
               "PATH_INFO": environ.get("PATH_INFO", ""), "QUERY_STRING": environ.get("QUERY_STRING", ""),
               "CONTENT_TYPE": environ.get("CONTENT_TYPE", ""), "CONTENT_LENGTH": str(len(body)),
               "REMOTE_ADDR": environ.get("REMOTE_ADDR", "127.0.0.1"), "GIT_CONFIG_NOSYSTEM": "1",
               "HOME": "/nonexistent"}
        if environ.get("HTTP_GIT_PROTOCOL"):
            env["GIT_PROTOCOL"] = environ["HTTP_GIT_PROTOCOL"]
        out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
        head, _, rest = out.partition(b"\r\n\r\n")
        if not rest and b"\n\n" in out:
            head, _, rest = out.partition(b"\n\n")
        status, headers = "200 OK", []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = value.strip()
            elif name:
                headers.append((name, value.strip()))
        start_response(status, headers)
        return [rest]
    return app


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args) -> None:
        pass


class _Threading(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class GitServer:
    """Repositories under a scratch project root, served at C{http://127.0.0.1:PORT/NAME.git}."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="fazt-git-server-"))
        self._server = make_server("127.0.0.1", 0, _cgi_app(self.root), server_class=_Threading,
                                   handler_class=_Quiet)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def repo(self, name: str) -> Repo:
        return Repo(self.root / f"{name}.git")

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}.git"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def git_server():
    """A Git smart-HTTP server on 127.0.0.1 for one test."""
    server = GitServer()
    yield server
    server.stop()


class HostileGitServer:
    """A smart-HTTP Git server on 127.0.0.1 that never finishes its ref advertisement.

    C{mode} "endless": refs as fast as the socket takes them; "trickle": one byte every 50 ms; "pack":
    one ref, then an upload-pack answer of endless C{shallow} lines as fast as they go. Each goes on
    until L{release} (or, so that a test of broken code ends, C{max_bytes} or 60 s), then the
    connection closes. C{connections} counts the requests for C{info/refs} that arrived.
    """

    def __init__(self, mode: str, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.mode, self.max_bytes = mode, max_bytes
        self.released = threading.Event()
        self.connections = 0
        self.hangups = 0  # connections the client closed while the server still had more to send
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                with server._lock:
                    server.connections += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/x-git-upload-pack-advertisement")
                self.end_headers()
                try:
                    server._advertise(self.wfile)
                except OSError:  # the client hung up: what a fetch that gave up does
                    with server._lock:
                        server.hangups += 1

            def do_POST(self):  # "pack": a valid advertisement, then an upload-pack answer that never ends
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-git-upload-pack-result")
                self.end_headers()
                try:
                    server._endless(self.wfile, lambda n: b"shallow %040x\n" % n)
                except OSError:
                    pass

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _advertise(self, out) -> None:
        out.write(b"001e# service=git-upload-pack\n0000")
        if self.mode == "pack":
            caps = b"HEAD\x00shallow no-progress side-band-64k ofs-delta\n"
            out.write(b"%04x%s %s0000" % (4 + 41 + len(caps), b"1" * 40, caps))
            return
        self._endless(out, lambda n: b"%s refs/heads/branch-%08d\n" % (b"1" * 40, n))

    def _endless(self, out, line) -> None:
        """pkt-lines C{line(n)} for n = 0, 1, ... as the mode says, until released or a bound."""
        sent, number, started = 0, 0, time.monotonic()
        while not self.released.is_set() and sent < self.max_bytes and time.monotonic() - started < 60:
            body = line(number)
            chunk = b"%04x" % (len(body) + 4) + body
            number += 1
            if self.mode == "trickle":
                for byte in chunk:
                    if self.released.wait(0.05):
                        return
                    out.write(bytes([byte]))
                    out.flush()
            else:
                out.write(chunk)
            sent += len(chunk)

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hostile.git"

    def release(self) -> None:
        self.released.set()

    def stop(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()
