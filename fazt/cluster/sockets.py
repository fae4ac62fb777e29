"""Listening sockets bound once by the supervisor and adopted by each serving process.

Both sides go through Twisted's own endpoint parsing, so C{tcp:}, C{tcp6:} and C{ssl:} strings mean
exactly what they mean in one process (port, interface, backlog, certificate files):

 - the supervisor parses each listener's endpoint string against a L{BindingReactor}, whose
   C{listenTCP}/C{listenSSL} bind and listen with the asked backlog but accept nothing (the
   supervisor serves no HTTP); the sockets are handed to every serving process at spawn;
 - a serving process listens as it does alone, through an L{AdoptingReactor}, whose C{listenTCP}
   adopts the next inherited socket instead of binding (C{IReactorSocket.adoptStreamPort}); TLS is
   layered above it as before (L{fazt.web.frontdoor.LimitedListening.listenSSL} calls C{listenTCP}).
"""

from __future__ import annotations

import os
import socket
from collections import deque
from typing import Any, Iterable

from twisted.internet.abstract import isIPv6Address
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.endpoints import serverFromString
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IReactorSocket
from twisted.internet.protocol import Factory
from zope.interface import directlyProvides, providedBy

__all__ = ["BindingReactor", "bind_all", "AdoptingReactor"]


class _Bound:
    """What L{BindingReactor} returns for a listener: its socket, not read by any reactor."""

    def __init__(self, sock: socket.socket) -> None:
        self.socket = sock

    def getHost(self):
        host, port = self.socket.getsockname()[:2]
        kind = IPv6Address if self.socket.family == socket.AF_INET6 else IPv4Address
        return kind("TCP", host, port)


class BindingReactor:
    """Stands in for the reactor while the supervisor parses endpoint strings: binds, accepts nothing."""

    def __init__(self) -> None:
        self.sockets: list[socket.socket] = []

    def listenTCP(self, port: int, factory: Any, backlog: int = 50, interface: str = "") -> _Bound:
        family = socket.AF_INET6 if isIPv6Address(interface) else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Twisted's own ports do
            sock.bind((interface, port))
            sock.listen(backlog)
            sock.setblocking(False)  # adoptStreamPort needs it; the flag is shared with the children's copies
        except OSError as error:
            sock.close()
            raise CannotListenError(interface, port, error) from None
        self.sockets.append(sock)
        return _Bound(sock)

    def listenSSL(self, port: int, factory: Any, contextFactory: Any, backlog: int = 50,
                  interface: str = "") -> _Bound:
        # The TLS layer lives in the serving processes; what is shared is the TCP socket.
        return self.listenTCP(port, factory, backlog, interface)


def bind_all(endpoints: Iterable[str]) -> list[socket.socket]:
    """Bind and listen on every endpoint string, in order; raises (CannotListenError, ValueError)
    at once, closing those already bound, so that a start with a port in use fails loudly."""
    binder = BindingReactor()
    try:
        for endpoint in endpoints:
            failures: list = []
            serverFromString(binder, endpoint).listen(Factory()).addErrback(failures.append)
            if failures:  # the listen ran synchronously (defer.execute)
                failures[0].raiseException()
    except BaseException:
        for sock in binder.sockets:
            sock.close()
        raise
    return binder.sockets


class AdoptingReactor:
    """A reactor whose C{listenTCP} adopts the inherited listening sockets C{fds}, one per call, in
    order (the order the supervisor bound them); everything else passes through to C{reactor}."""

    def __init__(self, reactor: Any, fds: Iterable[int]) -> None:
        self._reactor = reactor
        self._fds = deque(fds)
        directlyProvides(self, providedBy(reactor))

    def listenTCP(self, port: int, factory: Any, backlog: int = 50, interface: str = ""):
        """IReactorTCP.listenTCP: the next inherited socket (it must be bound to C{port} unless 0)."""
        if not self._fds:
            raise CannotListenError(interface, port, "no inherited listening socket left for it")
        fd = self._fds.popleft()
        probe = socket.socket(fileno=fd)  # learns the family; detached below, the fd stays open
        try:
            family, bound = probe.family, probe.getsockname()[1]
        finally:
            probe.detach()
        if port and bound != port:
            raise CannotListenError(interface, port, f"the inherited socket {fd} is bound to port {bound}")
        # Twisted duplicates the descriptor; the inherited one is not needed any more.
        try:
            return IReactorSocket(self._reactor).adoptStreamPort(fd, family, factory)
        finally:
            os.close(fd)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reactor, name)
