"""The event bus of a serving process under the supervisor: local delivery, then the other processes.

L{ProcessBus} implements L{IEventBus}. C{publish} delivers to this process's subscribers
synchronously first (an inner L{LocalBus}, with all its ordering rules), then writes the message as
one frame on the process's connection to the supervisor, whose hub (L{fazt.cluster.hub}) relays it
to every other serving process; there it is delivered on the reactor thread, in the publisher's
order (one stream per process, relayed in the order read). The hub never sends a frame back to its
sender, and a frame carrying this process's own origin is dropped besides, so no process gets its
own message twice. The bus knows no topics: any small JSON-able message crosses.

The connection is one end of a Unix socket pair the supervisor made for this process and handed
over at spawn (why a socket pair rather than a named Unix socket: no path to create, protect and
clean up, no handshake to tell who connected, and it dies with either process). When it closes the
supervisor is gone, and C{on_lost} is called (the wiring stops the process: nothing would replace
it or relay its messages any more). A message published with no connection stays local.
"""

from __future__ import annotations

import os
import socket
from collections import deque
from typing import Any, Callable, Optional

from twisted.internet.protocol import Factory
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from fazt.base.bus import IEventBus, LocalBus
from fazt.cluster.wire import FrameProtocol, decode, encode

__all__ = ["ProcessBus", "adopt_connection"]

_log = Logger()


def adopt_connection(reactor: Any, fd: int, factory: Factory) -> Any:
    """Make C{factory}'s protocol the owner of the connected Unix socket C{fd}; the protocol.

    Twisted duplicates the descriptor, so the original is closed here.
    """
    os.set_blocking(fd, False)  # adoptStreamConnection needs a non-blocking socket
    try:
        transport = reactor.adoptStreamConnection(fd, socket.AF_UNIX, factory)
    finally:
        os.close(fd)
    return transport.protocol


class _BusConnection(FrameProtocol):
    def __init__(self, bus: "ProcessBus") -> None:
        self._bus = bus

    def connectionMade(self) -> None:
        self._bus._connected(self)

    def frameReceived(self, frame: bytes) -> None:
        decoded = decode(frame)
        if decoded is not None:
            self._bus._received(*decoded)

    def connectionLost(self, reason: Failure = None) -> None:
        self._bus._lost(self)


@implementer(IEventBus)
class ProcessBus:
    """An L{IEventBus} spanning the supervisor's serving processes (see the module's notes).

    C{origin} names this process in its frames (unique among the supervisor's processes);
    C{on_lost} is called once if the connection to the supervisor closes.
    """

    def __init__(self, origin: str, on_lost: Optional[Callable[[], None]] = None) -> None:
        self.origin = origin
        self._local = LocalBus()
        self._connection: Optional[_BusConnection] = None
        self._on_lost = on_lost
        # Frames waiting to be written: a message published by a subscriber while another is being
        # delivered is sent after it, as it is delivered locally after it.
        self._outbox: deque[bytes] = deque()
        self._publishing = False

    def attach(self, reactor: Any, fd: int) -> None:
        """Use the connected Unix socket C{fd} (inherited from the supervisor) as the connection."""
        adopt_connection(reactor, fd, Factory.forProtocol(lambda: _BusConnection(self)))

    @property
    def connected(self) -> bool:
        """Whether messages reach the other processes."""
        return self._connection is not None

    def subscribe(self, topic: str, callback: Callable[[dict], None]) -> Callable[[], None]:
        return self._local.subscribe(topic, callback)

    def publish(self, topic: str, message: dict) -> None:
        # Encoded before delivery: what crosses is the message as published, whatever a subscriber does to it.
        frame = encode(self.origin, topic, message) if self._connection is not None else None
        if frame is not None:
            self._outbox.append(frame)
        if self._publishing:
            self._local.publish(topic, message)  # queued by the local bus; the outer publish sends the frames
            return
        self._publishing = True
        try:
            self._local.publish(topic, message)
        finally:
            self._publishing = False
        while self._outbox:
            frame = self._outbox.popleft()
            if self._connection is not None:
                self._connection.sendString(frame)

    def _received(self, origin: str, topic: str, message: dict) -> None:
        if origin == self.origin:
            return  # never twice: the publisher already had it
        self._local.publish(topic, message)

    def _connected(self, connection: _BusConnection) -> None:
        self._connection = connection

    def _lost(self, connection: _BusConnection) -> None:
        if self._connection is not connection:
            return
        self._connection = None
        self._outbox.clear()
        if self._on_lost is not None:
            self._on_lost()
        else:
            _log.warn("The connection to the supervisor closed: messages stay in this process")
