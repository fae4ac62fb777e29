"""C{fazt env set|unset|list} and C{fazt logs [--follow]}: output formatting against the fake
server, and the real round trips against a live fazt server on 127.0.0.1."""

from __future__ import annotations

import io
import os
import signal
import sqlite3
import subprocess
import sys

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import ensureDeferred
from twisted.internet.threads import deferToThread

from fazt.cli.main import main
from fazt_testing import start_server, stop_server
from installed import FAZT, program_env


def run(fake_server, *argv, token="tok"):
    return main([*argv, "--server", fake_server.url, "--token", token])


def log_line(i: int, level: str = "info", message: str | None = None) -> dict:
    return {"id": i, "site": "blog", "level": level, "message": message or f"line {i}",
            "created_at": f"2026-01-02T03:04:{i:02d}Z"}


# -- formatting, against the fake server --------------------------------------------------


def test_env_list_prints_names_and_times(fake_server, capsys):
    fake_server.answer("GET", "/api/sites/blog/env?limit=100&offset=0", 200, {
        "data": [{"id": 1, "name": "API_KEY", "created_at": "2026-01-01T00:00:00Z",
                  "updated_at": "2026-01-02T00:00:00Z"},
                 {"id": 2, "name": "DEBUG", "created_at": "2026-01-03T00:00:00Z",
                  "updated_at": "2026-01-03T00:00:00Z"}],
        "meta": {"total": 2, "limit": 100, "offset": 0}})
    assert run(fake_server, "env", "list", "blog") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["NAME", "CREATED", "UPDATED"]
    assert out[1].split() == ["API_KEY", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"]
    assert out[2].split()[0] == "DEBUG" and len(out) == 3


def test_env_list_follows_pages(fake_server, capsys):
    first = [{"id": i, "name": f"V{i}", "created_at": "t", "updated_at": "t"} for i in range(100)]
    fake_server.answer("GET", "/api/sites/blog/env?limit=100&offset=0", 200,
                       {"data": first, "meta": {"total": 101, "limit": 100, "offset": 0}})
    fake_server.answer("GET", "/api/sites/blog/env?limit=100&offset=100", 200,
                       {"data": [{"id": 100, "name": "LAST", "created_at": "t", "updated_at": "t"}],
                        "meta": {"total": 101, "limit": 100, "offset": 100}})
    assert run(fake_server, "env", "list", "blog") == 0
    assert capsys.readouterr().out.splitlines()[-1].split()[0] == "LAST"


def test_env_list_when_there_are_none(fake_server, capsys):
    fake_server.answer("GET", "/api/sites/blog/env?limit=100&offset=0", 200, {"data": [], "meta": {"total": 0}})
    assert run(fake_server, "env", "list", "blog") == 0
    assert capsys.readouterr().out == "No environment variables for blog.\n"


def test_logs_prints_the_newest_lines_oldest_first(fake_server, capsys):
    fake_server.answer("GET", "/api/logs?site_id=blog&limit=3&offset=0", 200,
                       {"data": [log_line(9, "error"), log_line(8, "warn"), log_line(7)],
                        "meta": {"total": 9, "limit": 3, "offset": 0}})
    assert run(fake_server, "logs", "blog", "--limit", "3") == 0
    assert capsys.readouterr().out.splitlines() == [
        "2026-01-02T03:04:07Z  info   line 7",
        "2026-01-02T03:04:08Z  warn   line 8",
        "2026-01-02T03:04:09Z  error  line 9",
    ]


def test_logs_escape_terminal_control_characters(fake_server, capsys):
    fake_server.answer("GET", "/api/logs?site_id=blog&level=warn&limit=50&offset=0", 200,
                       {"data": [log_line(1, "warn", "evil \x1b[2J\x07 trace:\n  at x")], "meta": {"total": 1}})
    assert run(fake_server, "logs", "blog", "--level", "warn") == 0
    assert capsys.readouterr().out == "2026-01-02T03:04:01Z  warn   evil \\x1b[2J\\x07 trace:\n  at x\n"


def test_logs_when_there_are_none(fake_server, capsys):
    fake_server.answer("GET", "/api/logs?site_id=blog&limit=50&offset=0", 200, {"data": [], "meta": {"total": 0}})
    assert run(fake_server, "logs", "blog") == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "No log lines for blog." in captured.err


def test_logs_of_an_unknown_site(fake_server, capsys):
    fake_server.answer("GET", "/api/logs?site_id=nope&limit=50&offset=0", 404,
                       {"error": {"code": "SITE_NOT_FOUND", "message": "site 'nope' does not exist"}})
    assert run(fake_server, "logs", "nope") == 1
    assert capsys.readouterr().err == "error: site 'nope' does not exist (SITE_NOT_FOUND)\n"


@pytest.mark.parametrize("argv", [["logs", "blog", "--limit", "0"], ["logs", "blog", "--limit", "x"],
                                  ["logs", "blog", "--level", "fatal"], ["env", "set", "blog"], ["env", "list"],
                                  ["env"], ["env", "rm", "blog", "A"]])
def test_bad_usage_exits_2(fake_server, capsys, argv):
    assert run(fake_server, *argv) == 2
    assert fake_server.requests == []


# -- round trips, against a live server ----------------------------------------------------


@pytest.fixture
def live(tmp_path):
    server = start_server(str(tmp_path / "data.db"), extra_args=("--js-workers", "1"))
    deployed = pytest_twisted.blockon(ensureDeferred(server.deploy("blog", {"main.js": "res.json(process.env)"})))
    assert deployed.code == 200, deployed.body
    yield server
    stop_server(server)


async def fazt(live, capsys, *argv, stdin: str | None = None) -> tuple[int, str, str]:
    """Run C{fazt ARGV} in a thread (the server runs on this one); (status, stdout, stderr)."""
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        status = await deferToThread(main, [*argv, "--server", live.url, "--token", live.admin_token])
    finally:
        sys.stdin = sys.__stdin__
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def write_logs(db: str, *messages: str) -> None:
    conn = sqlite3.connect(db)
    try:
        conn.executemany("INSERT INTO site_logs (site_name, level, message, created_at)"
                         " VALUES ('blog', 'info', ?, 1e9)", [(m,) for m in messages])
        conn.commit()
    finally:
        conn.close()


@pytest_twisted.ensureDeferred
async def test_env_round_trip(live, capsys):
    assert await fazt(live, capsys, "env", "set", "blog", "API_KEY", "s3cret") == (0, "Added API_KEY for blog\n", "")
    assert (await fazt(live, capsys, "env", "set", "blog", "API_KEY", "n3w"))[1] == "Updated API_KEY for blog\n"
    assert (await fazt(live, capsys, "env", "set", "blog", "FROM_STDIN", stdin="piped value\n"))[0] == 0
    status, out, _ = await fazt(live, capsys, "env", "list", "blog")
    assert status == 0 and [line.split()[0] for line in out.splitlines()] == ["NAME", "API_KEY", "FROM_STDIN"]
    assert "n3w" not in out and "piped" not in out
    assert (await live.get("/", "blog.example.test")).json() == {"API_KEY": "n3w", "FROM_STDIN": "piped value"}

    assert await fazt(live, capsys, "env", "unset", "blog", "API_KEY") == (0, "Removed API_KEY from blog\n", "")
    status, _, err = await fazt(live, capsys, "env", "unset", "blog", "API_KEY")
    assert status == 1 and "(NOT_FOUND)" in err
    status, _, err = await fazt(live, capsys, "env", "set", "blog", "PATH", "/tmp")
    assert status == 1 and "(VALIDATION_FAILED)" in err
    status, _, err = await fazt(live, capsys, "env", "list", "nope")
    assert status == 1 and "(SITE_NOT_FOUND)" in err
    assert (await live.get("/", "blog.example.test")).json() == {"FROM_STDIN": "piped value"}


@pytest_twisted.ensureDeferred
async def test_logs_shows_the_newest_lines(live, capsys):
    write_logs(live.db, *(f"line {i}" for i in range(150)))
    status, out, _ = await fazt(live, capsys, "logs", "blog", "--limit", "120")
    lines = out.splitlines()
    assert status == 0 and len(lines) == 120  # two pages
    assert lines[0].endswith("line 30") and lines[-1].endswith("line 149")


@pytest_twisted.ensureDeferred
async def test_logs_follow_prints_new_lines_until_interrupted(live, tmp_path, installed):
    write_logs(live.db, "before 1", "before 2")
    env = program_env(tmp_path)
    proc = subprocess.Popen([FAZT, "logs", "blog", "--follow", "--limit", "1", "--server", live.url,
                             "--token", live.admin_token], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=env, text=True)
    watchdog = reactor.callLater(20, proc.kill)
    try:
        assert (await deferToThread(proc.stdout.readline)).endswith("before 2\n")
        write_logs(live.db, "after 1", "after 2")
        assert (await deferToThread(proc.stdout.readline)).endswith("after 1\n")
        assert (await deferToThread(proc.stdout.readline)).endswith("after 2\n")
        proc.send_signal(signal.SIGINT)
        status = await deferToThread(proc.wait, 10)
    finally:
        if watchdog.active():
            watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert status == 0
