"""The process bus over real Unix socket pairs: three ProcessBus clients through one BusHub, one reactor."""

from __future__ import annotations

import socket

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.logger import globalLogPublisher
from zope.interface.verify import verifyObject

from fazt.base.bus import IEventBus
from fazt.cluster.hub import BusHub
from fazt.cluster.procbus import ProcessBus
from fazt.cluster.wire import MAX_FRAME


class Cluster:
    """A hub and C{n} buses, each joined by a socket pair as the supervisor joins its children."""

    def __init__(self, n: int) -> None:
        self.hub = BusHub()
        self.lost: list[str] = []
        self.buses = [self.join(f"p{i}") for i in range(n)]

    def join(self, name: str) -> ProcessBus:
        hub_end, bus_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.hub.attach(reactor, hub_end.detach(), name)
        bus = ProcessBus(name, on_lost=lambda: self.lost.append(name))
        bus.attach(reactor, bus_end.detach())
        return bus

    def close(self) -> None:
        for bus in self.buses:
            if bus._connection is not None:
                bus._connection.transport.loseConnection()


@pytest.fixture
def cluster():
    made: list[Cluster] = []

    def make(n: int) -> Cluster:
        made.append(Cluster(n))
        return made[-1]
    yield make
    for c in made:
        c.close()
    pytest_twisted.blockon(deferLater(reactor, 0.05, lambda: None))


async def until(check, timeout: float = 5.0):
    """Spin the reactor until C{check()} is true (or fail after C{timeout} s)."""
    for _ in range(int(timeout / 0.01)):
        if check():
            return
        await deferLater(reactor, 0.01, lambda: None)
    raise AssertionError("the condition did not become true")


def recorder(bus: ProcessBus, topic: str) -> list:
    seen: list = []
    bus.subscribe(topic, seen.append)
    return seen


def test_it_provides_the_interface():
    assert verifyObject(IEventBus, ProcessBus("p0"))


@pytest_twisted.ensureDeferred
async def test_a_message_reaches_every_process_once_the_publisher_synchronously(cluster):
    c = cluster(3)
    await until(lambda: len(c.hub.members()) == 3)
    seen = [recorder(bus, "site.changed") for bus in c.buses]
    c.buses[1].publish("site.changed", {"site": "blog", "change": "switch"})
    # The publisher's own subscribers have it when publish returns; the others a little later.
    assert seen == [[], [{"site": "blog", "change": "switch"}], []]
    await until(lambda: all(seen))
    await deferLater(reactor, 0.05, lambda: None)  # and nothing more comes: no echo, no duplicate
    assert seen == [[{"site": "blog", "change": "switch"}]] * 3


@pytest_twisted.ensureDeferred
async def test_remote_delivery_keeps_each_publishers_order_on_any_topic(cluster):
    c = cluster(3)
    await until(lambda: len(c.hub.members()) == 3)
    seen = recorder(c.buses[2], "made.up.topic")  # the transport knows no topics
    for n in range(200):
        c.buses[0].publish("made.up.topic", {"from": 0, "n": n})
        c.buses[1].publish("made.up.topic", {"from": 1, "n": n})
    await until(lambda: len(seen) == 400)
    for origin in (0, 1):
        assert [m["n"] for m in seen if m["from"] == origin] == list(range(200))


@pytest_twisted.ensureDeferred
async def test_a_message_published_by_a_subscriber_follows_the_one_it_reacted_to_everywhere(cluster):
    c = cluster(2)
    await until(lambda: len(c.hub.members()) == 2)
    publisher, other = c.buses

    def react(message):
        if message["n"] == 1:
            publisher.publish("t", {"n": 2})
    publisher.subscribe("t", react)
    local, remote = recorder(publisher, "t"), recorder(other, "t")
    publisher.publish("t", {"n": 1})
    assert [m["n"] for m in local] == [1, 2]
    await until(lambda: len(remote) == 2)
    assert [m["n"] for m in remote] == [1, 2]


@pytest_twisted.ensureDeferred
async def test_what_cannot_cross_stays_local_and_is_logged(cluster):
    c = cluster(2)
    await until(lambda: len(c.hub.members()) == 2)
    local, remote = recorder(c.buses[0], "t"), recorder(c.buses[1], "t")
    events: list = []
    globalLogPublisher.addObserver(events.append)
    try:
        c.buses[0].publish("t", {"big": "x" * (MAX_FRAME + 1)})
        c.buses[0].publish("t", {"bytes": b"not JSON"})
        c.buses[0].publish("t", {"n": 3})
        await until(lambda: remote)
    finally:
        globalLogPublisher.removeObserver(events.append)
    assert len(local) == 3  # the publisher's own subscribers got all three
    assert remote == [{"n": 3}]
    formats = [e.get("log_format", "") for e in events]
    assert any("over the bus's" in f for f in formats) and any("not JSON-able" in f for f in formats)


@pytest_twisted.ensureDeferred
async def test_a_replaced_process_hears_what_is_published_after_it_joined(cluster):
    c = cluster(2)
    await until(lambda: len(c.hub.members()) == 2)
    first, dying = c.buses
    dying._connection.transport.loseConnection()  # the process died: its socket closed
    await until(lambda: c.hub.members() == ["p0"])
    assert c.lost == ["p1"]
    first.publish("t", {"n": 1})  # nobody else to hear it: the hub keeps nothing for the dead
    await until(lambda: c.hub.relayed == 1)
    replacement = c.join("p1")
    c.buses.append(replacement)
    await until(lambda: c.hub.members() == ["p0", "p1"])
    seen = recorder(replacement, "t")
    first.publish("t", {"n": 2})
    await until(lambda: seen)
    await deferLater(reactor, 0.05, lambda: None)
    assert seen == [{"n": 2}]


@pytest_twisted.ensureDeferred
async def test_without_the_supervisor_a_process_keeps_its_own_messages(cluster):
    c = cluster(1)
    bus = c.buses[0]
    await until(lambda: bus.connected)
    seen = recorder(bus, "t")
    bus._connection.transport.loseConnection()
    await until(lambda: not bus.connected)
    assert c.lost == ["p0"]
    bus.publish("t", {"n": 1})
    assert seen == [{"n": 1}]
