"""The WebSocket relay's bookkeeping on a bus (fazt.ws.relay), on a Clock; the sockets themselves are
tested with whole stacks over 127.0.0.1 (tests/app/test_crossproc_stacks.py)."""

from __future__ import annotations

from twisted.internet.task import Clock

from fazt.base.bus import SOCKET_CLIENTS, SOCKET_MESSAGE, LocalBus
from fazt.ws.hub import HubRegistry
from fazt.ws.relay import SocketRelay
from xproc_testing import BusNetwork


def test_a_process_alone_publishes_no_message():
    bus, clock = LocalBus(), Clock()
    seen = []
    bus.subscribe(SOCKET_MESSAGE, seen.append)
    relay = SocketRelay(HubRegistry(), bus, clock, process="only")
    relay.startService()
    assert relay.broadcast("chat", "hello") == 0 and seen == []
    relay.stopService()


def test_counts_are_published_once_per_turn_and_a_killed_process_is_forgotten():
    clock = Clock()
    network = BusNetwork(clock)
    a_bus, b_bus = network.bus(), network.bus()
    a = SocketRelay(HubRegistry(), a_bus, clock, refresh=10.0, process="a")
    b = SocketRelay(HubRegistry(), b_bus, clock, refresh=10.0, process="b")
    a.startService()
    b.startService()
    clock.advance(0)
    before = len([m for t, m in b_bus.published if t == SOCKET_CLIENTS])
    for client in range(3):
        b.join("chat", client)
    b.leave("chat", 0)
    clock.advance(0)  # b's one message of this turn
    counts = [m for t, m in b_bus.published if t == SOCKET_CLIENTS][before:]
    assert counts == [{"process": "b", "counts": {"chat": 2}, "full": False}]
    clock.advance(0)
    assert a.clients("chat") == 2 and b.clients("chat") == 2
    network.kill(b_bus)
    for _ in range(4):
        clock.advance(10.0)
    assert a.clients("chat") == 0 and a.remote.processes() == []
    a.stopService()
