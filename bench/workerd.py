"""Cloudflare's workerd as bench/js.py's same-run reference: a one-line hello on 127.0.0.1.

The binary comes from the npm registry (`@cloudflare/workerd-linux-64`, the official build), installed
with the ordinary `npm` client into .bench/tools/workerd/ and kept there between runs (reinstalled when
WORKERD_VERSION changes). The worker is ``export default { fetch() { return new Response("hello") } }``
behind a minimal Cap'n Proto config: one service, one HTTP socket. Stopped by its PID.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from typing import Optional

from benchlib import ROOT, free_port, request, stop_process

PACKAGE = "@cloudflare/workerd-linux-64"
VERSION = os.environ.get("WORKERD_VERSION", "1.20261117.1")
HELLO = 'export default { fetch() { return new Response("hello"); } };\n'
CONFIG = """using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .hello)],
  sockets = [(name = "http", address = "127.0.0.1:%d", http = (), service = "main")],
);
const hello :Workerd.Worker = (
  modules = [(name = "worker", esModule = embed "hello.js")],
  compatibilityDate = "2024-01-01",
);
"""


def ensure_workerd() -> str:
    """The workerd binary, installed with npm into .bench/tools/workerd when missing."""
    prefix = os.path.join(ROOT, ".bench", "tools", "workerd")
    binary = os.path.join(prefix, "node_modules", *PACKAGE.split("/"), "bin", "workerd")
    stamp = os.path.join(prefix, ".version")
    try:
        with open(stamp) as f:
            installed = f.read().strip()
    except OSError:
        installed = ""
    if not os.access(binary, os.X_OK) or installed != VERSION:
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed to install workerd (Debian: apt-get install npm), or pass --no-workerd")
        print(f"installing workerd ({PACKAGE}@{VERSION}) with npm into {prefix}", flush=True)
        shutil.rmtree(prefix, ignore_errors=True)
        os.makedirs(prefix)
        subprocess.run([npm, "install", "--silent", "--no-audit", "--no-fund", "--prefix", prefix,
                        f"{PACKAGE}@{VERSION}"], check=True)
        with open(stamp, "w") as f:
            f.write(VERSION)
    return binary


class WorkerdProcess:
    """C{workerd serve} of the hello worker, in a folder of the benchmark's scratch."""

    def __init__(self, scratch: str) -> None:
        self.folder = os.path.join(scratch, "workerd")
        self.port = free_port()
        self.process: Optional[subprocess.Popen] = None

    @property
    def pid(self) -> int:
        return self.process.pid if self.process is not None else 0

    def start(self) -> None:
        """Install if needed, write the worker and its config, start it and wait for its hello."""
        binary = ensure_workerd()
        os.makedirs(self.folder, exist_ok=True)
        with open(os.path.join(self.folder, "hello.js"), "w") as f:
            f.write(HELLO)
        with open(os.path.join(self.folder, "config.capnp"), "w") as f:
            f.write(CONFIG % self.port)
        log = open(os.path.join(self.folder, "workerd.log"), "wb")
        self.process = subprocess.Popen([binary, "serve", "config.capnp"], cwd=self.folder,
                                        stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"workerd exited ({self.process.returncode}); see {log.name}")
            try:
                if request(self.port, "workerd", timeout=1) == (200, b"hello"):
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"workerd did not answer hello within 15 s; see {log.name}")

    def stop(self) -> None:
        """SIGTERM by PID, then SIGKILL if needed."""
        if self.process is not None:
            stop_process(self.process)
