"""Connection caps at the front door (SPEC §18): so many open connections in all, and per address.

Every listener (C{tcp:}, and C{ssl:} or ACME's TLS with the caps outside the TLS layer, so that a
refused connection costs no TLS work) listens with a L{LimitedFactory}, through
L{LimitedListening} in place of the reactor. When a connection is accepted and a cap
is reached, C{buildProtocol} answers C{None}: Twisted's port then closes the new socket at once,
before anything is read from it, and the refusal is counted by reason.

The address is the TCP peer's (nothing else is known at accept time); IPv6 peers count per /64,
the block one subscriber usually holds, as for the login lockout. A trusted proxy (C{--trusted-proxy})
carries many clients' connections, so it is held to the total cap only.

The wrapper stays out of the way of what it wraps: the wrapped protocol is connected to the
real transport (so writes, C{getPeer}, producers and the WebSocket hub's direct socket writes
see the socket transport as before), and only incoming data and the end of the connection pass
through it. A WebSocket upgrade (Autobahn) finds the wrapper as the transport's protocol and
swaps its wrapped protocol, so the connection is still counted until it closes. That holds
only with the wrapper outermost, as L{LimitedListening} puts it (TLS inside it): under a TLS
layer, the upgrade would swap the TLS layer's protocol and the wrapper would never see the end.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from twisted.internet.interfaces import IAddress
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from twisted.protocols.tls import TLSMemoryBIOFactory
from zope.interface import directlyProvides, providedBy

from fazt.web.lockout import Network, lockout_key, parse_address

MAX_CONNECTIONS = 20_000
MAX_PER_ADDRESS = 256
PER_ADDRESS = "per_address"
TOTAL = "total"


def address_key(addr: Optional[IAddress]) -> str:
    """What a connection is counted under: its peer's address (IPv6 by /64), or C{""} if none."""
    host = getattr(addr, "host", None)
    if not host:
        return ""
    parsed = parse_address(host)  # an IPv4 peer of a dual-stack listener shows as ::ffff:a.b.c.d
    return lockout_key(str(parsed) if parsed is not None else host)


class ConnectionLimits:
    """Counts open connections in all and per address, and refusals by reason.

    Shared by every listener of a process, so the caps hold across HTTP and HTTPS together.
    """

    def __init__(self, max_total: int = MAX_CONNECTIONS, max_per_address: int = MAX_PER_ADDRESS,
                 unlimited: Sequence[Network] = ()) -> None:
        self.max_total = max_total
        self.max_per_address = max_per_address
        self._unlimited = tuple(unlimited)
        self.open = 0
        self.refused = {PER_ADDRESS: 0, TOTAL: 0}
        # Only addresses with an open connection are kept: at most max_total entries.
        self._by_address: dict[str, int] = {}

    def admit(self, key: str) -> Optional[str]:
        """Count a new connection from C{key}; C{None} if admitted, else the reason it is refused."""
        held = self._by_address.get(key, 0)
        if self.open >= self.max_total:
            reason = TOTAL
        elif held >= self.max_per_address and not self._is_unlimited(key):
            reason = PER_ADDRESS
        else:
            self.open += 1
            self._by_address[key] = held + 1
            return None
        self.refused[reason] += 1
        return reason

    def _is_unlimited(self, key: str) -> bool:
        # Only asked at the cap, so ordinary connections never pay for the address parsing.
        address = parse_address(key.split("/", 1)[0])
        return address is not None and any(
            address.version == net.version and address in net for net in self._unlimited)

    def release(self, key: str) -> None:
        """Forget one connection from C{key} (it closed)."""
        left = self._by_address.pop(key, 0) - 1
        if left > 0:
            self._by_address[key] = left
        self.open = max(0, self.open - 1)

    def held_by(self, key: str) -> int:
        """How many connections C{key} holds open now."""
        return self._by_address.get(key, 0)

    def wrap(self, factory) -> "LimitedFactory":
        """C{factory} behind these caps: what a listener should listen with."""
        return LimitedFactory(self, factory)

    def listening(self, reactor: Any) -> "LimitedListening":
        """C{reactor}, but every TCP or TLS listener it starts is behind these caps."""
        return LimitedListening(reactor, self)


class CountedProtocol(ProtocolWrapper):
    """Holds one admitted connection's place until the connection ends."""

    key = ""

    def makeConnection(self, transport) -> None:
        # Unlike ProtocolWrapper, hand the wrapped protocol the real transport: nothing it does
        # needs to pass through here (see the module docstring).
        self.connected = 1
        self.transport = transport
        self.factory.registerProtocol(self)
        self.wrappedProtocol.makeConnection(transport)

    def connectionLost(self, reason) -> None:
        if self.key is not None:
            self.factory.limits.release(self.key)
            self.key = None
        super().connectionLost(reason)


class LimitedFactory(WrappingFactory):
    """A listener's factory behind L{ConnectionLimits}: refuses past a cap, else builds as usual."""

    protocol = CountedProtocol
    noisy = False  # the wrapped factory logs its own start and stop

    def __init__(self, limits: ConnectionLimits, wrapped) -> None:
        super().__init__(wrapped)
        self.limits = limits

    def buildProtocol(self, addr: IAddress) -> Optional[CountedProtocol]:
        key = address_key(addr)
        if self.limits.admit(key) is not None:
            return None  # the port closes the socket unread
        try:
            wrapped = self.wrappedFactory.buildProtocol(addr)
        except BaseException:
            self.limits.release(key)
            raise
        if wrapped is None:
            self.limits.release(key)
            return None
        protocol = self.protocol(self, wrapped)
        protocol.key = key
        return protocol

    def registerProtocol(self, p) -> None:
        pass  # the limits count connections; no set of them is kept here

    def unregisterProtocol(self, p) -> None:
        pass


class LimitedListening:
    """A reactor whose stream listeners are behind L{ConnectionLimits}; the rest passes through.

    Given to C{strports.service} in place of the reactor, so that any C{tcp:} or C{ssl:} endpoint
    string listens behind the caps. C{ssl:} is wrapped in TLS here, inside the caps (Twisted's own
    C{listenSSL} would put the TLS layer outside them, with the handshake set up first).
    """

    def __init__(self, reactor: Any, limits: ConnectionLimits) -> None:
        self._reactor = reactor
        self._limits = limits
        directlyProvides(self, providedBy(reactor))

    def listenTCP(self, port: int, factory, backlog: int = 50, interface: str = ""):
        """IReactorTCP.listenTCP, behind the caps."""
        return self._reactor.listenTCP(port, self._limits.wrap(factory), backlog, interface)

    def listenSSL(self, port: int, factory, contextFactory, backlog: int = 50, interface: str = ""):
        """IReactorSSL.listenSSL: TLS over TCP, the caps checked before any TLS state exists."""
        return self.listenTCP(port, TLSMemoryBIOFactory(contextFactory, False, factory), backlog, interface)

    def adoptStreamPort(self, fileDescriptor: int, addressFamily, factory):
        """IReactorSocket.adoptStreamPort (a listening socket handed over), behind the caps."""
        return self._reactor.adoptStreamPort(fileDescriptor, addressFamily, self._limits.wrap(factory))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reactor, name)
