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
