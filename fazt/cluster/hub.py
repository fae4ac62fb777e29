"""The supervisor's side of the process bus: relays each frame to every other serving process.

Each serving process has one connection to the hub (a Unix socket pair made at spawn; see
L{fazt.cluster.procbus}). A frame read from one is written, unchanged and unread, to every other
connection, in the order read: the hub knows neither topics nor messages. A process that dies
takes its connection with it; its replacement gets a new one and hears only what is published
after it joined. That is enough: a new process starts with empty caches and reads the store, so
the messages it missed (invalidations) concern nothing it holds.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.protocol import Factory
from twisted.python.failure import Failure

from fazt.cluster.procbus import adopt_connection
from fazt.cluster.wire import FrameProtocol

__all__ = ["BusHub"]


class _Member(FrameProtocol):
    def __init__(self, hub: "BusHub", name: str) -> None:
        self._hub = hub
        self.name = name

    def connectionMade(self) -> None:
        self._hub._members.append(self)

    def frameReceived(self, frame: bytes) -> None:
        self._hub._relay(self, frame)

    def connectionLost(self, reason: Failure = None) -> None:
        if self in self._hub._members:
            self._hub._members.remove(self)


class BusHub:
    """The serving processes' connections, and the relay between them."""

    def __init__(self) -> None:
        self._members: list[_Member] = []
        self.relayed = 0

    def attach(self, reactor: Any, fd: int, name: str) -> None:
        """Relay for the process at the other end of the connected Unix socket C{fd} (closed here)."""
        adopt_connection(reactor, fd, Factory.forProtocol(lambda: _Member(self, name)))

    def members(self) -> list[str]:
        """The names of the connected processes, in the order they joined."""
        return [member.name for member in self._members]

    def _relay(self, sender: _Member, frame: bytes) -> None:
        self.relayed += 1
        for member in self._members:
            if member is not sender:
                member.sendString(frame)
