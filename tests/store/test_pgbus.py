"""The LISTEN/NOTIFY event bus against a real PostgreSQL: two buses on one database stand for two nodes."""

from __future__ import annotations

import psycopg
import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.task import deferLater
from zope.interface.verify import verifyObject

from fazt.base.bus import RESYNC, IEventBus
from fazt.store.pgbus import PostgresBus
from pg_testing import postgres, pg_dsn  # noqa: F401

TOPIC = "test.anything"  # a topic the bus has never heard of: the transport knows no topics


@pytest.fixture
def buses(pg_dsn):
    """Makes started buses on this test's database (each listening); stops them afterwards."""
    made = []

    async def make(**kwargs):
        bus = PostgresBus(pg_dsn, reactor, retry_seconds=0.1, **kwargs)
        listening = bus.listening()
        bus.startService()
        made.append(bus)
        await listening
        return bus

    yield make
    for bus in made:
        if bus.running:
            pytest_twisted.blockon(bus.stopService())


def collect(bus, topic=TOPIC):
    got = []
    bus.subscribe(topic, got.append)
    return got


async def until(condition, what, seconds=10.0):
    """Waits (on the reactor) until C{condition()} holds; fails naming C{what} after C{seconds}."""
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await deferLater(reactor, 0.02, lambda: None)
    raise AssertionError(f"never happened: {what}")


def terminate(dsn, application_name):
    """Ends every backend of this database with that application name (as an operator or a failover would)."""
    with psycopg.connect(dsn, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = %s", (application_name,)).fetchall()
    return len(rows)


@pytest_twisted.ensureDeferred
async def test_a_message_reaches_the_other_node_in_order_and_the_publisher_once(buses):
    a, b = await buses(), await buses()
    assert verifyObject(IEventBus, a)
    at_a, at_b = collect(a), collect(b)
    for n in range(100):
        a.publish(TOPIC, {"n": n})
        assert at_a[-1] == {"n": n}  # the publisher's own subscribers have it when publish returns
    await until(lambda: len(at_b) == 100, "b got 100 messages")
    assert at_b == [{"n": n} for n in range(100)]
    # b answers; once a has the answer, its listener has passed a's own frames: none came back.
    answers = collect(a, "test.answer")
    b.publish("test.answer", {"ok": True})
    await until(lambda: answers, "a got b's answer")
    assert at_a == [{"n": n} for n in range(100)]
    assert collect(b, "test.answer") == []  # subscribed after: nothing replayed


@pytest_twisted.ensureDeferred
async def test_a_message_published_by_a_subscriber_follows_the_one_it_reacts_to(buses):
    a, b = await buses(), await buses()
    a.subscribe("first", lambda message: a.publish("second", {"after": message["n"]}))
    order = []
    b.subscribe("first", lambda message: order.append(("first", message)))
    b.subscribe("second", lambda message: order.append(("second", message)))
    a.publish("first", {"n": 1})
    await until(lambda: len(order) == 2, "b got both")
    assert order == [("first", {"n": 1}), ("second", {"after": 1})]


@pytest_twisted.ensureDeferred
async def test_large_messages_travel_in_parts_and_oversized_ones_stay_local(buses):
    a, b = await buses(max_message=200_000), await buses()
    at_a, at_b = collect(a), collect(b)
    big = {"data": "".join(chr(0x20 + (i % 90)) for i in range(50_000)) + "\u00e9\u4e2d\U0001F600"}
    a.publish(TOPIC, big)
    a.publish(TOPIC, {"data": "x" * 300_000})  # over max_message: refused for the others
    a.publish(TOPIC, {"n": "after"})
    await until(lambda: len(at_b) == 2, "b got two messages")
    assert at_b == [big, {"n": "after"}]
    assert len(at_a) == 3  # the publisher's own subscribers got all three


@pytest_twisted.ensureDeferred
async def test_a_message_that_is_not_json_is_delivered_locally_only(buses):
    a, b = await buses(), await buses()
    at_a, at_b = collect(a), collect(b)
    odd = {"when": object()}
    a.publish(TOPIC, odd)  # does not raise
    a.publish(TOPIC, {"n": 2})
    await until(lambda: at_b, "b got a message")
    assert at_a == [odd, {"n": 2}] and at_b == [{"n": 2}]


@pytest_twisted.ensureDeferred
async def test_a_lost_listener_listens_again_and_tells_its_subscribers_to_resync(buses, pg_dsn):
    a, b = await buses(), await buses()
    at_b, resyncs = collect(b), collect(b, RESYNC)
    assert b.listens == 1  # (the first listen resyncs too: harmless, the caches are empty then)
    again = b.listening()
    assert terminate(pg_dsn, "fazt-bus-listen") == 2  # both nodes' listeners
    await again
    assert b.listens == 2 and len(resyncs) == 1
    a.publish(TOPIC, {"n": "after the gap"})
    await until(lambda: at_b, "b got the message after reconnecting")
    assert at_b == [{"n": "after the gap"}]


@pytest_twisted.ensureDeferred
async def test_a_lost_sending_connection_is_made_again_and_nothing_is_lost_or_doubled(buses, pg_dsn):
    a, b = await buses(), await buses()
    at_b = collect(b)
    a.publish(TOPIC, {"n": 0})
    await until(lambda: at_b, "b got the first message")
    assert terminate(pg_dsn, "fazt-bus-send") == 1  # a's sender (b has sent nothing yet)
    for n in range(1, 20):
        a.publish(TOPIC, {"n": n})
    await until(lambda: len(at_b) >= 20, "b got all twenty")
    await deferLater(reactor, 0.3, lambda: None)  # a double would arrive right behind
    assert at_b == [{"n": n} for n in range(20)]


@pytest_twisted.ensureDeferred
async def test_the_bus_runs_and_stops_while_postgres_is_unreachable(pg_dsn):
    bus = PostgresBus(pg_dsn + "&port=1", reactor, retry_seconds=0.05)  # no server on that socket
    bus.startService()
    bus.publish(TOPIC, {"n": 1})  # queued; the threads keep retrying without blocking the reactor
    await deferLater(reactor, 0.2, lambda: None)
    await bus.stopService()  # stops although nothing could be sent
    assert not bus.running
