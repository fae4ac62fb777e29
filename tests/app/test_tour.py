"""The README's short tour as a script (scripts/tour.sh), run with the installed fazt."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
from pathlib import Path


def test_tour_deploys_twice_rolls_back_and_stops_the_server(tmp_path, fz):
    port = fz.free_port()
    env = fz.subprocess_env(tmp_path / "home", FAZT_BIN=str(Path(fz.FAZT).parent), FAZT_PORT=str(port),
                            FAZT_TOUR_DIR=str(tmp_path / "tour"))
    done = subprocess.run(["bash", str(fz.REPO / "scripts" / "tour.sh")], env=env, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    log = tmp_path / "tour" / "twistd.log"
    assert done.returncode == 0, done.stdout + done.stderr + (log.read_text() if log.exists() else "")
    lines = done.stdout.splitlines()
    # What curl showed after the first deploy, the second, and the rollback.
    assert [line for line in lines if line.startswith("<h1>")] == [
        "<h1>Hello, v1</h1>", "<h1>Hello, v2</h1>", "<h1>Hello, v1</h1>"]
    assert sum(line.startswith("Deployment successful") for line in lines) == 2
    assert any(line.startswith("Site 'blog' now serves deployment") for line in lines)
    assert lines[-1] == "tour: done, the server is stopped"
    with socket.socket() as probe:  # nothing listens on the tour's port any more
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    assert "Main loop terminated." in log.read_text()


def test_the_readme_shows_the_tour_the_script_runs(fz):
    readme = (fz.REPO / "README.md").read_text()
    block = readme.split("## A short tour", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    script = (fz.REPO / "scripts" / "tour.sh").read_text()
    commands = re.findall(r"\.venv/bin/fazt ([^|#)\n]*?)\s*(?:[|#)]|$)", block, re.MULTILINE)
    assert [c.split()[0] for c in commands] == ["init", "key", "deploy", "deploy", "deployments", "rollback"]
    for command in commands:
        assert f'"$BIN/fazt" {command}' in script, command
    for line in block.splitlines():
        if line.startswith("echo") or line.startswith("mkdir"):
            for part in line.split(" && "):
                assert part.split("#")[0].strip() in script, part


def test_shellcheck_passes(fz):
    assert shutil.which("shellcheck"), "shellcheck is missing: make system-deps installs it"
    checked = subprocess.run(["shellcheck", str(fz.REPO / "scripts" / "tour.sh")], capture_output=True, text=True,
                             timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
