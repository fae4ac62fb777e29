"""The supervisor's pure decisions (fazt.cluster.policy): process count, restart backoff, descriptors."""

from __future__ import annotations

import pytest

from fazt.cluster.policy import RestartPolicy, child_fds, parse_inherited, process_count, shareable


def test_process_count_is_a_whole_number_or_auto():
    assert process_count("3", 8) == 3
    assert process_count(" auto ", 8) == 8
    assert process_count("AUTO", None) == 1  # cores unknown
    for bad in ("0", "-1", "two", "1.5", ""):
        with pytest.raises(ValueError):
            process_count(bad, 8)


def test_a_crash_loop_backs_off_and_a_stable_run_restarts_at_once():
    policy = RestartPolicy(first=0.5, factor=2, longest=4, stable=30)
    delays, previous = [], 0.0
    for _ in range(6):  # each process dies a second after it started
        previous = policy.delay(1.0, previous)
        delays.append(previous)
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert policy.delay(30.0, previous) == 0.0  # it had been up for a while: replaced at once
    assert policy.delay(1.0, 0.0) == 0.5  # ...and a new crash loop starts from the first delay


def test_a_child_gets_stdin_its_bus_end_and_the_listeners_in_order():
    fds = child_fds(stdin=9, bus=11, listeners=[7, 8])
    assert fds.child_fds == {0: 9, 1: 1, 2: 2, 3: 11, 4: 7, 5: 8}
    assert (fds.bus, fds.listeners) == (3, (4, 5))
    assert fds.argument() == "3,4,5"
    assert parse_inherited(fds.argument()) == (3, (4, 5))


def test_inherited_fds_must_be_distinct_numbers_past_stderr():
    for bad in ("", "x", "3,3", "2,4", "3,,4"):
        with pytest.raises(ValueError):
            parse_inherited(bad)
    assert parse_inherited("3") == (3, ())


def test_only_stream_listeners_over_ip_are_shared():
    assert all(shareable(e) for e in ("tcp:80", "TCP6:port=80", "ssl:443:privateKey=k.pem"))
    assert not any(shareable(e) for e in ("unix:/tmp/s", "systemd:domain=INET:index=0"))
