"""Login lockout across processes (SPEC §19): failures counted platform-wide through the bus."""

from __future__ import annotations

from twisted.internet.task import Clock

from fazt.web.lockout import CHECK_EXPIRY, LoginLockout
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


def test_attempts_being_checked_in_one_process_count_in_the_others():
    clock, (a, b) = lockouts(2)
    for _ in range(3):
        assert a.admit("192.0.2.7") == 0  # three guesses fired without waiting, still being checked
    clock.advance(0)
    assert [b.admit("192.0.2.7"), b.admit("192.0.2.7")] == [0, 0]
    clock.advance(0)
    assert a.admit("192.0.2.7") == 1 and b.admit("192.0.2.7") == 1  # five in flight in all
    assert b.admit("192.0.2.8") == 0  # another address is not held back


def test_a_checked_attempt_stops_counting_everywhere():
    clock, (a, b) = lockouts(2)
    for _ in range(5):
        assert a.admit("192.0.2.7") == 0
    clock.advance(0)
    assert b.admit("192.0.2.7") == 1
    a.reset("192.0.2.7")  # the right password, then the end of the check
    a.release("192.0.2.7")
    clock.advance(0)
    assert b.admit("192.0.2.7") == 0


def test_the_failure_of_a_checked_attempt_still_counts_after_its_end():
    clock, (a, b) = lockouts(2)
    for _ in range(5):
        a.admit("192.0.2.7")
    for _ in range(5):
        a.record_failure("192.0.2.7")
        a.release("192.0.2.7")
    clock.advance(0)
    assert b.admit("192.0.2.7") == 900


def test_attempts_of_a_process_that_died_stop_counting_after_the_expiry():
    clock, (a, b) = lockouts(2)
    for _ in range(5):
        a.admit("192.0.2.7")
    clock.advance(0)
    assert b.admit("192.0.2.7") == 1
    clock.advance(CHECK_EXPIRY)  # a never said they ended
    assert b.admit("192.0.2.7") == 0
