"""Several fazt "processes" in one test reactor: a bus network that delivers like a real one.

L{BusNetwork} hands out one L{IEventBus} per stand-in process. Like the buses of SPEC §19 (the
supervisor's, PostgreSQL's C{LISTEN/NOTIFY}), C{publish} delivers to the publishing process's own
subscribers synchronously, then to every other process later, on the reactor, in the publisher's
order, each message a JSON copy (so a subscriber that keeps a reference to a message, or sends
something that is not JSON, fails here as it would there). Code that relies on another process
having had a message when C{publish} returns fails against it.

L{start_stack} starts a whole fazt service tree on one of those buses (L{fazt.app.tap.build}),
listening on 127.0.0.1, with the leadership given.
"""

from __future__ import annotations

import json
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater
from zope.interface import implementer

from fazt.base.bus import IEventBus, LocalBus
from fazt.base.leader import ILeadership

# How long a test waits for something another stack must do (a bound on a hang, not a speed assertion).
WAIT = 20.0


@implementer(IEventBus)
class NetworkBus:
    """One process's end of a L{BusNetwork}."""

    def __init__(self, network: "BusNetwork") -> None:
        self._network = network
        self._local = LocalBus()
        self.published: list[tuple[str, dict]] = []

    def subscribe(self, topic, callback):
        return self._local.subscribe(topic, callback)

    def publish(self, topic, message):
        wire = json.dumps(message)  # what a real transport would send; fails on anything else
        self.published.append((topic, json.loads(wire)))
        self._local.publish(topic, message)
        self._network.forward(self, topic, wire)

    def receive(self, topic: str, wire: str) -> None:
        self._local.publish(topic, json.loads(wire))


class BusNetwork:
    """Buses of stand-in processes: each message reaches the others on a later reactor turn."""

    def __init__(self, clock=reactor) -> None:
        self._clock = clock
        self.buses: list[NetworkBus] = []
        self._queue: list[tuple[NetworkBus, str, str]] = []
        self._scheduled = False

    def bus(self) -> NetworkBus:
        bus = NetworkBus(self)
        self.buses.append(bus)
        return bus

    def kill(self, bus: NetworkBus) -> None:
        """The process of C{bus} dies (SIGKILL): nothing more reaches it or comes from it."""
        self.buses.remove(bus)
        self._queue = [entry for entry in self._queue if entry[0] is not bus]

    def forward(self, origin: NetworkBus, topic: str, wire: str) -> None:
        if origin not in self.buses:
            return  # a dead process's
        self._queue.append((origin, topic, wire))
        if not self._scheduled:
            self._scheduled = True
            self._clock.callLater(0, self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        queue, self._queue = self._queue, []
        for origin, topic, wire in queue:
            for bus in list(self.buses):
                if bus is not origin:
                    bus.receive(topic, wire)


async def eventually(check, what: str, wait: float = WAIT, step: float = 0.02):
    """Await C{check()} (sync or async) until it returns a true value; that value.

    For state another stack reaches through the bus: the test asserts the outcome, polling
    only to learn when it has arrived; gives up with C{what} after C{wait} seconds.
    """
    waited = 0.0
    while True:
        value = check()
        if isinstance(value, Deferred) or hasattr(value, "__await__"):
            value = await value
        if value:
            return value
        if waited >= wait:
            raise AssertionError(f"still not {what} after {wait} s (last: {value!r})")
        await deferLater(reactor, step, lambda: None)
        waited += step


@implementer(ILeadership)
class Leadership:
    """A leadership the test hands over and takes back (as an advisory lock would move)."""

    def __init__(self, is_leader: bool) -> None:
        self.is_leader = is_leader
        self._watchers: list = []

    def watch(self, callback):
        self._watchers.append(callback)
        callback(self.is_leader)
        return lambda: self._watchers.remove(callback) if callback in self._watchers else None

    def become(self, is_leader: bool) -> None:
        self.is_leader = is_leader
        for callback in list(self._watchers):
            callback(is_leader)


def start_stack(db: str, bus, leadership: ILeadership, domain: str = "example.test", extra_args: tuple = ()):
    """A LiveServer (tests/fazt_testing.py) whose tree is on C{bus} with C{leadership}."""
    from fazt_testing import start_server

    return start_server(db, domain, extra_args, bus=bus, leadership=leadership)


async def stop_stack(server) -> None:
    """L{fazt_testing.stop_server} from within a test's coroutine (which must not block on the reactor)."""
    await server.listener.stopListening()
    await server.pool.closeCachedConnections()
    result = server.services.stopService()
    if result is not None:
        await result
