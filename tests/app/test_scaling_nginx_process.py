"""docs/SCALING.md's nginx configuration, as written, in front of two fazt nodes on one PostgreSQL.

The test takes the configuration out of the document (between its nginx-config markers), puts the
two nodes' loopback addresses and a free port where the document has 10.0.0.11/12:4698 and port
80, and starts the real nginx with it: requests through nginx reach both nodes (their access logs
say so), and a WebSocket passes through it both ways.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
import uuid

import pytest
import pytest_twisted

from pgnodes_testing import deploy, pg_dsn, postgres, start_nodes  # noqa: F401
from wsclient import close_all, join

CHAT = "<!doctype html><p>chat</p>"
SCALING = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "SCALING.md")


def documented_config() -> str:
    """The nginx configuration block of docs/SCALING.md."""
    with open(SCALING, encoding="utf-8") as handle:
        text = handle.read()
    found = re.search(r"<!-- nginx-config-begin -->\s*```nginx\n(.*?)```\s*<!-- nginx-config-end -->", text, re.S)
    assert found, "docs/SCALING.md lost its nginx block"
    return found.group(1)


@pytest.fixture
def nginx(tmp_path):
    """Starts nginx with a configuration for this scratch folder; stops it by PID."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    started = []

    def start(site_config: str, port: int):
        prefix = tmp_path / "nginx"
        for sub in ("tmp", "logs"):
            (prefix / sub).mkdir(parents=True, exist_ok=True)
        (prefix / "fazt.conf").write_text(site_config)
        temp = " ".join(f"{kind}_temp_path {prefix}/tmp/{kind};" for kind in
                        ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        user = "user root;" if os.geteuid() == 0 else ""
        (prefix / "nginx.conf").write_text(
            f"{user}\nworker_processes 1;\nerror_log {prefix}/logs/error.log;\npid {prefix}/nginx.pid;\n"
            f"events {{ worker_connections 256; }}\n"
            f"http {{ access_log {prefix}/logs/access.log; {temp} include {prefix}/fazt.conf; }}\n")
        proc = subprocess.Popen([binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        started.append(proc)
        import socket
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read().decode()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return proc
            except OSError:
                time.sleep(0.05)
        raise AssertionError("nginx did not listen")

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # nginx's fast shutdown
        proc.wait(10)


@pytest_twisted.ensureDeferred
async def test_the_documented_nginx_config_spreads_requests_over_both_nodes_and_passes_websockets(
        twistd, cli_env, fz, pg_dsn, nginx):
    nodes = start_nodes(twistd, cli_env, fz, pg_dsn, args=("--access-log",))
    port = fz.free_port()
    config = (documented_config()
              .replace("10.0.0.11:4698", f"127.0.0.1:{nodes.a.port}")
              .replace("10.0.0.12:4698", f"127.0.0.1:{nodes.b.port}")
              .replace("listen 80;", f"listen 127.0.0.1:{port};")
              .replace("example.com", fz.DOMAIN))
    nginx(config, port)
    deploy(fz, nodes.a, nodes.token, "chat", {"index.html": CHAT.encode()})

    marker = uuid.uuid4().hex
    for n in range(10):
        assert fz.http_get(port, f"/?via={marker}-{n}", host=f"chat.{fz.DOMAIN}") == (200, CHAT.encode())
    fz.wait_for(lambda: marker in nodes.a.log() and marker in nodes.b.log(), "requests at both nodes", nodes.a,
                timeout=10)

    # A WebSocket through nginx: the upgrade passes, and messages flow both ways.
    host = f"chat.{fz.DOMAIN}:{port}"
    alice = await join(port, host)
    bob = await join(port, host)  # the next upstream in turn: the other node, or the same, either way relayed
    try:
        alice.sendMessage(b"through nginx")
        assert await alice.messages(1) == ["through nginx"]
        assert await bob.messages(1) == ["through nginx"]
        bob.sendMessage(b"and back")
        assert await alice.messages(2) == ["through nginx", "and back"]
    finally:
        await close_all([alice, bob])
