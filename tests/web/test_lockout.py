"""The login lockout (SPEC §9): the pure rules, the client address behind proxies, and live
servers with and without a trusted proxy."""

from __future__ import annotations

import json
import sqlite3

import pytest
import pytest_twisted
from twisted.internet.defer import gatherResults, ensureDeferred
from twisted.internet.task import Clock

from fazt.web.lockout import LoginLockout, client_address, lockout_key, parse_address, parse_networks
from fazt_testing import set_admin_password, start_server, stop_server

PASSWORD = "correct horse battery"


def clock_at(now: float = 1_000_000.0) -> Clock:
    clock = Clock()
    clock.advance(now)
    return clock


# -- the rules ------------------------------------------------------------------------------


def test_five_failures_lock_an_address_for_the_window():
    clock = clock_at()
    lockout = LoginLockout(clock)
    for _ in range(4):
        assert lockout.record_failure("192.0.2.1") is False
        assert lockout.retry_after("192.0.2.1") == 0
    assert lockout.record_failure("192.0.2.1") is True
    assert lockout.retry_after("192.0.2.1") == 900
    assert lockout.admit("192.0.2.1") == 900
    assert lockout.retry_after("192.0.2.2") == 0
    clock.advance(899)
    assert lockout.retry_after("192.0.2.1") == 1
    clock.advance(1)
    assert lockout.retry_after("192.0.2.1") == 0


def test_failures_older_than_the_window_do_not_count():
    clock = clock_at()
    lockout = LoginLockout(clock)
    for _ in range(4):
        lockout.record_failure("192.0.2.1")
    clock.advance(15 * 60)
    assert lockout.record_failure("192.0.2.1") is False


def test_a_success_resets_the_count():
    lockout = LoginLockout(clock_at())
    for _ in range(4):
        lockout.record_failure("192.0.2.1")
    lockout.reset("192.0.2.1")
    for _ in range(4):
        assert lockout.record_failure("192.0.2.1") is False


def test_attempts_in_flight_count_against_the_limit():
    lockout = LoginLockout(clock_at())
    lockout.record_failure("192.0.2.1")
    admitted = [lockout.admit("192.0.2.1") for _ in range(6)]
    assert admitted == [0, 0, 0, 0, 1, 1]
    for _ in range(4):
        lockout.release("192.0.2.1")
    assert lockout.admit("192.0.2.1") == 0


def test_ipv6_clients_are_counted_per_64():
    lockout = LoginLockout(clock_at())
    for host in range(1, 6):
        lockout.record_failure(f"2001:db8:1:2::{host}")
    assert lockout.retry_after("2001:db8:1:2:ffff::1") > 0
    assert lockout.retry_after("2001:db8:1:3::1") == 0
    assert lockout_key("2001:db8:1:2::9") == "2001:db8:1:2::/64"
    assert lockout_key("192.0.2.7") == "192.0.2.7"


def test_the_state_stays_small():
    lockout = LoginLockout(clock_at(), max_tracked=10)
    for n in range(100):
        lockout.record_failure(f"10.0.0.{n}")
    assert len(lockout._failures) <= 10


# -- the client address ---------------------------------------------------------------------


TRUSTED = parse_networks(["10.0.0.0/8", "127.0.0.1/32"])


@pytest.mark.parametrize("peer, forwarded, expected", [
    ("203.0.113.5", [], "203.0.113.5"),
    ("203.0.113.5", ["198.51.100.1"], "203.0.113.5"),            # an untrusted peer's header is ignored
    ("10.1.1.1", [], "10.1.1.1"),
    ("10.1.1.1", ["198.51.100.1"], "198.51.100.1"),
    ("10.1.1.1", ["1.1.1.1, 198.51.100.1"], "198.51.100.1"),     # the client wrote the left part
    ("10.1.1.1", ["198.51.100.1, 10.2.2.2"], "198.51.100.1"),    # through two trusted proxies
    ("10.1.1.1", ["1.1.1.1", "198.51.100.1"], "198.51.100.1"),   # several header lines
    ("10.1.1.1", ["10.3.3.3, 10.2.2.2"], "10.3.3.3"),            # all trusted: the left-most
    ("10.1.1.1", ["1.1.1.1, garbage"], "10.1.1.1"),              # nonsense stops the walk
    ("10.1.1.1", ["[2001:db8::1]:443"], "2001:db8::1"),
    ("10.1.1.1", ["198.51.100.1:5555"], "198.51.100.1"),
    ("::ffff:10.1.1.1", ["198.51.100.1"], "198.51.100.1"),       # IPv4-mapped peers
    ("unix", ["198.51.100.1"], "unix"),
])
def test_client_address(peer, forwarded, expected):
    assert client_address(peer, forwarded, TRUSTED) == expected


def test_parse_networks_names_a_bad_value():
    with pytest.raises(ValueError, match="not-a-net"):
        parse_networks(["10.0.0.0/8", "not-a-net"])
    assert parse_address("nonsense") is None


def test_the_option_is_validated():
    from twisted.python.usage import UsageError

    from fazt.app.options import Options

    options = Options()
    options.parseOptions(["--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "::1"])
    assert options["trusted-proxy"] == ["10.0.0.0/8", "::1"]
    with pytest.raises(UsageError, match="trusted-proxy"):
        Options().parseOptions(["--trusted-proxy", "10.0.0.0/33"])


# -- live servers ---------------------------------------------------------------------------


async def login(server, password: str, forwarded_for: str | None = None):
    headers = {"Content-Type": "application/json"}
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    body = json.dumps({"username": "admin", "password": password}).encode()
    return await server.request("POST", "/api/login", headers=headers, body=body)


def codes(responses) -> list[int]:
    return [r.code for r in responses]


@pytest.fixture
def proxied(tmp_path):
    """A server that trusts 127.0.0.1 as a proxy: X-Forwarded-For names the client."""
    live = start_server(str(tmp_path / "proxied.db"), extra_args=("--trusted-proxy", "127.0.0.1/32"))
    set_admin_password(live.db, PASSWORD)
    yield live
    stop_server(live)


@pytest_twisted.ensureDeferred
async def test_five_bad_attempts_lock_out_even_the_right_password(server):
    set_admin_password(server.db, PASSWORD)
    bad = [await login(server, "wrong") for _ in range(5)]
    assert codes(bad) == [401] * 5
    locked = await login(server, PASSWORD)
    assert locked.code == 429
    assert locked.json() == {"error": {"code": "RATE_LIMIT_EXCEEDED", "message": locked.json()["error"]["message"]}}
    assert 890 <= int(locked.header("retry-after")) <= 900
    assert locked.header("set-cookie") is None


@pytest_twisted.ensureDeferred
async def test_a_spoofed_forwarded_for_does_not_escape_the_lockout(server):
    set_admin_password(server.db, PASSWORD)
    for n in range(5):
        assert (await login(server, "wrong", forwarded_for=f"203.0.113.{n}")).code == 401
    assert (await login(server, PASSWORD, forwarded_for="198.51.100.77")).code == 429
    assert (await login(server, PASSWORD)).code == 429


@pytest_twisted.ensureDeferred
async def test_behind_a_trusted_proxy_another_address_can_still_log_in(proxied):
    for _ in range(5):
        assert (await login(proxied, "wrong", forwarded_for="198.51.100.1")).code == 401
    assert (await login(proxied, PASSWORD, forwarded_for="198.51.100.1")).code == 429
    # The client wrote the left part of the header itself: it cannot move itself elsewhere.
    assert (await login(proxied, PASSWORD, forwarded_for="192.0.2.9, 198.51.100.1")).code == 429
    other = await login(proxied, PASSWORD, forwarded_for="198.51.100.2")
    assert other.code == 200, other.body
    assert (await login(proxied, PASSWORD)).code == 200  # the proxy itself is not locked out


@pytest_twisted.ensureDeferred
async def test_failures_are_audited_with_the_client_address(proxied):
    assert (await login(proxied, "hunter2-secret", forwarded_for="198.51.100.3")).code == 401
    conn = sqlite3.connect(proxied.db)
    rows = conn.execute("SELECT actor, action, result, details FROM audit_log").fetchall()
    conn.close()
    assert ("admin", "login", "failed", "address=198.51.100.3") in rows
    assert not any("hunter2" in str(row) for row in rows)


@pytest_twisted.ensureDeferred
async def test_a_successful_login_resets_the_count(server):
    set_admin_password(server.db, PASSWORD)
    for _ in range(4):
        assert (await login(server, "wrong")).code == 401
    assert (await login(server, PASSWORD)).code == 200
    for _ in range(4):
        assert (await login(server, "wrong")).code == 401
    assert (await login(server, PASSWORD)).code == 200


@pytest_twisted.ensureDeferred
async def test_concurrent_attempts_get_no_more_than_five_guesses(server):
    set_admin_password(server.db, PASSWORD)
    responses = await gatherResults([ensureDeferred(login(server, f"wrong-{n}")) for n in range(12)])
    assert codes(responses).count(401) <= 5
    assert set(codes(responses)) <= {401, 429}
    assert (await login(server, PASSWORD)).code == 429


@pytest_twisted.ensureDeferred
async def test_requests_that_never_reach_the_password_check_do_not_count(server):
    set_admin_password(server.db, PASSWORD)
    for body in (b"{", b"[]", b'{"username": "admin"}', b'{"username": 1, "password": "x"}'):
        response = await server.request("POST", "/api/login", headers={"Content-Type": "application/json"},
                                        body=body)
        assert response.code == 400
    for _ in range(3):
        await server.request("POST", "/api/login", body=b'{"password": "x"}')
    assert (await login(server, PASSWORD)).code == 200
