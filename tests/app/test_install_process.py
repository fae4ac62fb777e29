"""install.sh for real into a throwaway root, then the fazt it installed, started as its unit would.

A real venv and a real C{pip install} of this checkout (pip's own index settings and cache apply;
about 25 s). Only C{systemctl}, C{useradd} and C{chown} are stubs on C{PATH}: no systemd runs here,
and making a user or giving files away needs root, which these tests do not assume. The server is the unit's C{ExecStart} with its C{Environment} and
C{WorkingDirectory}, each path moved into the root and C{tcp:80} made a free loopback port.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest_twisted

from wsclient import close_all, join

STUB = '#!/bin/sh\necho "$(basename "$0") $*" >> "$STUB_LOG"\n'
# useradd --root DIR ... NAME: the user appears in DIR/etc/passwd, as with the real one.
USERADD = STUB + 'for name; do :; done\necho "$name:x:999:999::/var/lib/fazt:/usr/sbin/nologin" >> "$2/etc/passwd"\n'
COUNTER = 'let n = (db.get("count") || 0) + 1; db.set("count", n); res.send(`<h1>${n}</h1>`);'


def install(tmp_path: Path, fz) -> Path:
    """Run the checkout's install.sh into C{tmp_path/root}; the root."""
    root, stubs = tmp_path / "root", tmp_path / "stubs"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    stubs.mkdir()
    for name, text in (("systemctl", STUB), ("useradd", USERADD), ("chown", STUB)):
        (stubs / name).write_text(text)
        (stubs / name).chmod(0o755)
    env = fz.subprocess_env(tmp_path / "home", STUB_LOG=str(tmp_path / "calls.log"))
    env["PATH"] = f"{stubs}:{env['PATH']}"
    # pip's cache lives under the real HOME: keep it (a fresh one would download everything again).
    env["PIP_CACHE_DIR"] = str(Path.home() / ".cache" / "pip")
    done = subprocess.run(["bash", str(fz.REPO / "install.sh"), "--root", str(root), "--domain", fz.DOMAIN,
                           "--http-only", "--admin-password", "a long password"],
                          env=env, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert f"chown -R 999:999 {root}/var/lib/fazt" in calls and calls[-1] == "systemctl restart fazt"
    return root


def start_as_the_unit(root: Path, tmp_path: Path, fz):
    """The unit's command, environment and working directory, inside C{root}, on a free port."""
    unit = dict(line.split("=", 1) for line in (root / "etc/systemd/system/fazt.service").read_text().splitlines()
                if "=" in line and not line.startswith("#"))
    port = fz.free_port()

    def moved(arg: str) -> str:
        if arg == "tcp:80":
            return f"tcp:{port}:interface=127.0.0.1"
        return str(root) + arg if arg.startswith(("/opt/fazt/", "/var/lib/fazt")) else arg

    command = [moved(arg) for arg in shlex.split(unit["ExecStart"])]
    assert command[0] == str(root / "opt/fazt/bin/twistd") and "tcp:80" not in command
    env = fz.subprocess_env(tmp_path / "home", **dict([unit["Environment"].split("=", 1)]))
    log_path = tmp_path / "twistd.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, cwd=moved(unit["WorkingDirectory"]), env=env, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT)
    server = fz.Twistd(proc, port, moved("/var/lib/fazt/data.db"), log_path)
    try:
        server.wait_healthy()
    except BaseException:
        server.kill()
        raise
    return server


@pytest_twisted.ensureDeferred
async def test_installed_fazt_serves_a_js_app_and_a_websocket_chat(tmp_path, fz):
    root = install(tmp_path, fz)
    server = start_as_the_unit(root, tmp_path, fz)
    try:
        fazt = str(root / "opt/fazt/bin/fazt")
        env = fz.subprocess_env(tmp_path / "home")
        created = subprocess.run([fazt, "key", "create", "--db", server.db, "--name", "ops"], env=env,
                                 capture_output=True, text=True, timeout=60)
        assert created.returncode == 0, created.stderr
        token = created.stdout.strip().splitlines()[-1]
        for site, files in (("counter", {"main.js": COUNTER}), ("chat", {"index.html": "<p>chat</p>"})):
            folder = fz.write_tree(tmp_path / site, files)
            deployed = subprocess.run([fazt, "deploy", str(folder), "--site", site, "--server", server.url,
                                       "--token", token], env=env, capture_output=True, text=True, timeout=60)
            assert deployed.returncode == 0, deployed.stderr

        host = f"counter.{fz.DOMAIN}"
        assert [server.get("/", host) for _ in range(2)] == [(200, b"<h1>1</h1>"), (200, b"<h1>2</h1>")], \
            server.log()

        chat = f"chat.{fz.DOMAIN}:{server.port}"
        alice = await join(server.port, chat, origin=f"http://{chat}")
        bob = await join(server.port, chat)
        try:
            alice.sendMessage(b"installed and chatting")
            assert await bob.messages(1) == ["installed and chatting"]
            assert await alice.messages(1) == ["installed and chatting"]
        finally:
            await close_all([alice, bob])
    finally:
        assert server.terminate() in (0, -15), server.log()
