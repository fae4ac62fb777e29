"""Rate limits shared by every process (fazt.web.sharedbuckets, SPEC §19), on a bus network that
delivers to the other processes a reactor turn later, as the real buses do."""

from __future__ import annotations

from twisted.internet.task import Clock

from fazt.base.bus import RATE_SPENT
from fazt.web.ratelimit import TokenBuckets
from fazt.web.sharedbuckets import SharedBuckets
from xproc_testing import BusNetwork


def processes(count: int, rate: float = 1.0, burst: int = 5):
    """C{count} processes' "api" buckets, shared; the clock and the processes' buses."""
    clock = Clock()
    clock.advance(1_000_000)
    network = BusNetwork(clock)
    buses = [network.bus() for _ in range(count)]
    buckets = [SharedBuckets(bus, clock).share("api", TokenBuckets(rate, burst, clock)) for bus in buses]
    return clock, buses, buckets


def test_one_client_going_from_process_to_process_gets_the_burst_once():
    clock, _, (a, b, c) = processes(3)
    admitted = 0
    for i in range(15):
        admitted += (a, b, c)[i % 3].take("192.0.2.1") == 0
        clock.advance(0)  # the answer reaches the client; the other processes heard of the token
    assert admitted == 5  # not 5 per process
    assert [x.take("192.0.2.2") for x in (a, b, c)] == [0, 0, 0]  # another address has its own


def test_the_refill_is_for_the_platform_too():
    clock, _, (a, b) = processes(2, rate=1.0, burst=2)
    assert [a.take("k"), b.take("k")] == [0, 0]
    clock.advance(0)
    assert a.take("k") > 0 and b.take("k") > 0
    clock.advance(1)  # one token a second, for both together
    assert a.take("k") == 0
    clock.advance(0)
    assert b.take("k") > 0


def test_a_burst_at_the_same_instant_is_paid_back_before_more_passes():
    clock, _, (a, b) = processes(2, rate=1.0, burst=4)
    admitted = sum(x.take("k") == 0 for x in (a, a, a, a, b, b, b, b))  # before either hears of the other
    assert admitted == 8
    clock.advance(0)
    clock.advance(3)  # 3 tokens later: the platform is still 1 token in debt
    assert a.take("k") > 0 and b.take("k") > 0
    clock.advance(2)
    assert a.take("k") == 0


def test_one_message_per_turn_however_many_tokens_and_none_when_refused():
    clock, (bus_a, _), (a, _) = processes(2, burst=3)
    for _ in range(10):
        a.take("k")
    a.take("other")
    clock.advance(0)
    sent = [message for topic, message in bus_a.published if topic == RATE_SPENT]
    assert [m["spent"] for m in sent] == [{"api": {"k": 3, "other": 1}}]
    a.take("k")  # refused: nothing to tell
    clock.advance(0)
    assert len([1 for topic, _ in bus_a.published if topic == RATE_SPENT]) == 1


def test_limits_another_process_does_not_have_and_bad_messages_are_ignored():
    clock, (bus_a, bus_b), (a, b) = processes(2, burst=2)
    bus_a.publish(RATE_SPENT, {"process": "x", "spent": {"login": {"k": 5}, "api": {"k": "many", "j": -3}}})
    bus_a.publish(RATE_SPENT, {"process": "x", "spent": ["api"]})
    clock.advance(0)
    assert [b.take("k"), b.take("j")] == [0, 0]
