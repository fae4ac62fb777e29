"""A real ``fazt dev`` (the installed wheel's) on a folder, for process-level and browser tests.

Usage::

    from devserver_testing import start_dev

    def test_x(installed, tmp_path):
        dev = start_dev(tmp_path / "site", tmp_path)
        try:
            status, headers, body = dev.get("/")
            dev.wait_for_line("deployed:", after=...)
        finally:
            dev.stop()

The process's stdout and stderr go to a file (never a pipe nobody reads, which would stall the
server once full); ``lines()`` reads it. Waits are bounds on a hang, never speed assertions.
"""

from __future__ import annotations

import http.client
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from installed import FAZT, program_env

WAIT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class DevProcess:
    proc: subprocess.Popen
    port: int
    folder: Path
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def lines(self) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines()

    def request(self, method: str, path: str, body: Optional[bytes] = None, headers: Optional[dict] = None,
                host: str = "localhost") -> tuple[int, dict, bytes]:
        """One request over a real socket: (status, lowercase headers, body)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers={"Host": f"{host}:{self.port}", **(headers or {})})
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()

    def get(self, path: str, **kwargs) -> tuple[int, dict, bytes]:
        return self.request("GET", path, **kwargs)

    def wait_for_line(self, text: str, after: int = 0, timeout: float = WAIT) -> int:
        """Wait until a line from index C{after} on contains C{text}; that line's index."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for index, line in enumerate(self.lines()[after:], start=after):
                if text in line:
                    return index
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no line with {text!r} after line {after} within {timeout} s:\n"
                             + "\n".join(self.lines()))

    def wait_until(self, predicate, what: str, timeout: float = WAIT):
        """Poll C{predicate} until it returns something true (returned)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"{what} did not happen within {timeout} s:\n" + "\n".join(self.lines()))

    def stop(self) -> int:
        """SIGTERM (as Ctrl-C would end it), then SIGKILL if it hangs; the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait(10)


def start_dev(folder: Path, workdir: Path, *extra: str) -> DevProcess:
    """Start ``fazt dev FOLDER --port P`` and wait until its first deploy ended (well or not)."""
    port = free_port()
    log_path = workdir / f"fazt-dev-{port}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([FAZT, "dev", str(folder), "--port", str(port), *extra], cwd=workdir,
                                env=program_env(workdir / "home"), stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT)
    dev = DevProcess(proc, port, Path(folder), log_path)
    try:
        dev.wait_until(lambda: any(line.startswith(("deployed:", "error:")) for line in dev.lines()),
                       "the first deploy")
    except BaseException:
        dev.stop()
        raise
    return dev
