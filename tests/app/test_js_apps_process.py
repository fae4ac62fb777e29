"""The original fazt counter app, deployed with the real CLI to a real twistd, across a restart."""

from __future__ import annotations

import os
import time

COUNTER = 'let n = (db.get("count") || 0) + 1; db.set("count", n); res.send(`<h1>${n}</h1>`);'


def worker_pids(parent_pid: int) -> set[int]:
    """JS worker processes whose parent is C{parent_pid}."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as cmd:
                command = cmd.read()
        except OSError:
            continue
        if int(fields[1]) == parent_pid and b"fazt.runtime.worker" in command:
            found.add(int(entry))
    return found


def test_counter_counts_and_survives_a_restart(tmp_path, twistd, cli_env, fz):
    server = twistd.start()
    token = fz.create_token(cli_env, server.db)
    site = fz.write_tree(tmp_path / "counter", {"main.js": COUNTER})
    deployed = fz.cli_deploy(cli_env, server, token, site, site="counter")
    assert deployed.returncode == 0, deployed.stderr
    host = "counter.example.test"
    assert [server.get("/", host) for _ in range(3)] == [(200, b"<h1>1</h1>"), (200, b"<h1>2</h1>"), (200, b"<h1>3</h1>")]
    server.terminate()
    again = twistd.start(db=server.db)
    assert again.get("/", host) == (200, b"<h1>4</h1>")


def test_workers_go_away_with_the_server(twistd, fz, cli_env, tmp_path):
    server = twistd.start()
    token = fz.create_token(cli_env, server.db)
    fz.cli_deploy(cli_env, server, token, fz.write_tree(tmp_path / "hello", {"main.js": 'res.send("hi")'}), site="hello")
    assert server.get("/", "hello.example.test") == (200, b"hi")
    workers = worker_pids(server.proc.pid)
    assert workers, "the app should have started worker processes"
    server.kill()  # SIGKILL: the workers must notice their parent is gone and exit
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{pid}") and _alive(pid) for pid in workers):
        time.sleep(0.05)
    assert not [pid for pid in workers if _alive(pid)]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
