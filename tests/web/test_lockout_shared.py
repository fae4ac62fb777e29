"""Login lockout across processes (SPEC §19): failures counted platform-wide through the bus."""

from __future__ import annotations

from twisted.internet.task import Clock

from fazt.web.lockout import LoginLockout
from xproc_testing import BusNetwork


def lockouts(count: int):
    clock = Clock()
    clock.advance(1_000_000)
    network = BusNetwork(clock)
    return clock, [LoginLockout(clock, bus=network.bus()) for _ in range(count)]


def test_failures_in_different_processes_add_up_once_delivered():
    clock, (a, b, c) = lockouts(3)
    for lockout in (a, a, b, b):
        assert lockout.record_failure("192.0.2.1") is False
    assert a.retry_after("192.0.2.1") == 0
    clock.advance(0)  # the other processes hear of the failures
    assert c.record_failure("192.0.2.1") is True  # the fifth, wherever it happens
    clock.advance(0)
    assert [x.retry_after("192.0.2.1") for x in (a, b, c)] == [900, 900, 900]
    assert [x.admit("192.0.2.1") for x in (a, b, c)] == [900, 900, 900]
    assert a.retry_after("192.0.2.2") == 0


def test_a_failure_is_counted_where_it_happened_before_publish_returns():
    clock, (a, b) = lockouts(2)
    for _ in range(4):
        a.record_failure("2001:db8::1")
    assert a.record_failure("2001:db8::2") is True  # same /64, not yet delivered elsewhere
    assert b.retry_after("2001:db8::3") == 0
    clock.advance(0)
    assert b.retry_after("2001:db8::3") == 900


def test_a_successful_login_clears_the_failures_everywhere():
    clock, (a, b) = lockouts(2)
    for _ in range(4):
        b.record_failure("192.0.2.9")
    clock.advance(0)
    a.reset("192.0.2.9")
    clock.advance(0)
    assert b.record_failure("192.0.2.9") is False  # counting starts again from one
