"""Shared parts of the benchmark scripts: a scratch fazt server on 127.0.0.1, deploys, plain GETs.

Scripts in bench/ import it as a sibling module (run them from the repository root).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from typing import Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".venv", "bin")
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(port: int, host: str, path: str = "/", method: str = "GET", body: Optional[bytes] = None,
            headers: Optional[dict] = None, timeout: float = 10.0) -> tuple[int, bytes]:
    """One request to 127.0.0.1:PORT with a Host header; (status, body), HTTP errors included."""
    all_headers = {"Host": host, **(headers or {})}
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method, headers=all_headers)
    try:
        with _OPENER.open(req, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def rss_kib(pid: int) -> int:
    """The resident set size of process C{pid}, in KiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def stop_process(process: subprocess.Popen, timeout: float = 15.0) -> None:
    """SIGTERM C{process} (by its PID), then SIGKILL if it has not exited after C{timeout} seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class ScratchServer:
    """C{twistd -n fazt} on a new cartridge in a scratch folder; stopped by PID on exit."""

    def __init__(self, domain: str, extra_args: tuple = ()) -> None:
        base = os.path.join(ROOT, ".bench")
        os.makedirs(base, exist_ok=True)
        self.scratch = tempfile.mkdtemp(prefix="bench.", dir=base)
        self.domain = domain
        self.db = os.path.join(self.scratch, "data.db")
        self.port = free_port()
        self.extra_args = extra_args
        self.process: Optional[subprocess.Popen] = None
        self.token = ""

    def start(self) -> float:
        """Start twistd and wait for /health; returns the seconds it took."""
        self._log = open(os.path.join(self.scratch, "twistd.log"), "wb")
        started = time.monotonic()
        self.process = subprocess.Popen(
            [os.path.join(BIN, "twistd"), "-n", "--pidfile=", "fazt", "--domain", self.domain, "--db", self.db,
             "--http", f"tcp:{self.port}:interface=127.0.0.1", *self.extra_args],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=self.scratch)
        while time.monotonic() - started < 30:
            try:
                if request(self.port, self.domain, "/health", timeout=1)[0] == 200:
                    return time.monotonic() - started
            except OSError:
                time.sleep(0.01)
        raise RuntimeError("fazt did not start; see " + self._log.name)

    def create_token(self) -> str:
        """An admin API key, made with the real CLI."""
        out = subprocess.run([os.path.join(BIN, "fazt"), "key", "create", "--db", self.db, "--name", "bench"],
                             capture_output=True, text=True, check=True).stdout
        self.token = out.strip().splitlines()[-1]
        return self.token

    def deploy(self, site: str, files: dict[str, str]) -> None:
        """Write C{files} to a folder and deploy it with C{fazt deploy}."""
        folder = os.path.join(self.scratch, "src", site)
        shutil.rmtree(folder, ignore_errors=True)
        for name, content in files.items():
            path = os.path.join(folder, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(content)
        done = subprocess.run([os.path.join(BIN, "fazt"), "deploy", folder, "--site", site, "--server",
                               f"http://127.0.0.1:{self.port}", "--token", self.token], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"fazt deploy {site} failed: {done.stderr.strip()}")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 15 s; remove the scratch folder unless KEEP_SCRATCH is set."""
        if self.process is not None:
            stop_process(self.process)
        if not os.environ.get("KEEP_SCRATCH"):
            shutil.rmtree(self.scratch, ignore_errors=True)
