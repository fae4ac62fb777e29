"""The real C{twistd fazt} process: start-up, routing, first-start admin, fail-fast bind, stop."""

from __future__ import annotations

import signal
import socket
import subprocess
import time

DOMAIN = "example.test"


def _password_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if "Created the admin user" in line]


# twistd stops cleanly on SIGTERM and then, by Twisted's design (twisted.application.app.
# _exitWithSignal), re-raises the signal on itself so that its parent sees "killed by SIGTERM",
# which init systems count as a clean stop. Either that or 0 is a clean exit.
CLEAN_EXITS = (0, -signal.SIGTERM)


def assert_stops_cleanly(server, within: float = 5.0) -> None:
    started = time.monotonic()
    code = server.terminate(timeout=10)
    elapsed = time.monotonic() - started
    log = server.log()
    assert code in CLEAN_EXITS, log
    assert elapsed < within, f"took {elapsed:.1f} s to stop"
    assert "Main loop terminated" in log and "Server Shut Down" in log, log
    assert "Traceback" not in log and "Unhandled" not in log, log


def assert_serves_defaults(server) -> None:
    status, body = server.get("/", host=DOMAIN)
    assert status == 200
    assert b"fazt is running" in body
    status, body = server.get("/", host=f"nosuch.{DOMAIN}")
    assert status == 404
    assert b"<html" in body.lower()
    assert server.get("/health", host=DOMAIN) == (200, b"OK")
    assert server.get("/health", host="127.0.0.1") == (200, b"OK")


def test_fresh_database_serves_root_404_and_health(twistd, tmp_path):
    db = str(tmp_path / "fresh" / "data.db")
    server = twistd.start(db)
    assert_serves_defaults(server)
    # Host matching ignores case and the port.
    status, body = server.get("/", host=f"EXAMPLE.test:{server.port}")
    assert status == 200 and b"fazt is running" in body


def test_admin_password_is_printed_once_and_only_on_first_start(twistd, tmp_path):
    db = str(tmp_path / "data.db")
    first = twistd.start(db)
    assert_stops_cleanly(first)
    lines = _password_lines(first.log())
    assert len(lines) == 1, first.log()
    assert "'admin'" in lines[0]
    password = lines[0].split("password ", 1)[1].split()[0]
    assert len(password) >= 16

    second = twistd.start(db)
    assert_serves_defaults(second)
    assert_stops_cleanly(second)
    assert _password_lines(second.log()) == []
    assert password not in second.log()


def test_bind_failure_fails_fast_with_a_clear_message(tmp_path, cli_env, fz):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        started = time.monotonic()
        result = subprocess.run(
            [fz.TWISTD, "-n", "--pidfile=", "fazt", "--domain", DOMAIN, "--db", str(tmp_path / "data.db"),
             "--http", f"tcp:{port}:interface=127.0.0.1"],
            cwd=tmp_path, env=cli_env, capture_output=True, text=True, timeout=30,
            stdin=subprocess.DEVNULL)
        elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert elapsed < 10, f"took {elapsed:.1f} s to give up"
    assert str(port) in output
    assert "listen" in output.lower() or "address already in use" in output.lower()


def test_tac_file_serves_the_same_from_environment(twistd, tmp_path):
    server = twistd.start(str(tmp_path / "tac.db"), tac=True)
    assert_serves_defaults(server)
    assert len(_password_lines(server.log())) == 1
    assert_stops_cleanly(server)


def test_sigterm_stops_cleanly(twistd, tmp_path, fz):
    server = twistd.start(str(tmp_path / "data.db"))
    assert server.get("/", host=DOMAIN)[0] == 200
    assert_stops_cleanly(server)
    # The port is released: nothing answers any more.
    try:
        fz.http_get(server.port, "/health", timeout=1)
    except OSError:
        pass
    else:
        raise AssertionError("the server still answers after SIGTERM")
