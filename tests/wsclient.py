"""A real Autobahn WebSocket client for tests: connects to a live server's loopback port.

Used by the in-process WebSocket tests (tests/ws) and the process-level ones (tests/app).
"""

from __future__ import annotations

from typing import Optional

import base64
import os

from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol
from autobahn.websocket.compress import PerMessageDeflateOffer, PerMessageDeflateResponseAccept
from twisted.internet import reactor
from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.internet.protocol import Protocol

# How long a test waits for messages before failing (a bound on a hang, not a speed assertion).
WAIT = 20.0


class RecordingClient(WebSocketClientProtocol):
    """Keeps every message it gets (text as C{str}, binary as C{bytes}); fires C{opened}, C{closed}
    and message waiters. C{response} is the server's handshake answer (its extensions included)."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[str | bytes] = []
        self.response = None
        self.opened: Deferred = Deferred()
        self.closed: Deferred = Deferred()
        self._waiters: list[tuple[int, Deferred]] = []

    def onConnect(self, response) -> None:
        self.response = response

    def onOpen(self) -> None:
        self.opened.callback(self)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        self.received.append(payload if isBinary else payload.decode("utf-8"))
        ready = [(n, d) for n, d in self._waiters if len(self.received) >= n]
        self._waiters = [(n, d) for n, d in self._waiters if len(self.received) < n]
        for _, waiter in ready:
            if not waiter.called:   # else it gave up waiting
                waiter.callback(self.received)

    def onClose(self, wasClean: bool, code: Optional[int], reason: Optional[str]) -> None:
        if not self.opened.called:
            self.opened.errback(ConnectionError(f"refused: {reason}"))
        if not self.closed.called:
            self.closed.callback((code, reason))

    def messages(self, count: int, wait: float = WAIT) -> Deferred:
        """Fires with the received list once it holds at least C{count} messages.

        Gives up (C{TimeoutError}) after C{wait} seconds: a message that never comes fails the
        test then, with what did come, rather than at the suite's hard timeout.
        """
        if len(self.received) >= count:
            d = Deferred()
            d.callback(self.received)
            return d
        d = Deferred()
        self._waiters.append((count, d))
        received = self.received

        def explain(failure):
            failure.trap(defer.TimeoutError)
            raise TimeoutError(f"{len(received)} of {count} messages after {wait} s: {[m[:40] for m in received]}")

        return d.addTimeout(wait, reactor).addErrback(explain)


def connect(port: int, host: str, origin: Optional[str] = None, tls=None, deflate: bool = False) -> "_Pending":
    """Connect to C{ws://HOST/ws} through 127.0.0.1:C{port}; C{host} includes the port.

    With C{tls} (client TLS options, e.g. from C{optionsForClientTLS}) it is C{wss://} instead.
    With C{deflate} the client offers permessage-deflate and accepts whatever the server answers.
    """
    scheme = "wss" if tls is not None else "ws"
    factory = WebSocketClientFactory(f"{scheme}://{host}/ws", origin=origin)
    if deflate:
        factory.setProtocolOptions(perMessageCompressionOffers=[PerMessageDeflateOffer()],
                                   perMessageCompressionAccept=PerMessageDeflateResponseAccept)
    factory.protocol = RecordingClient
    holder: dict = {}
    original = factory.buildProtocol

    def build(addr):
        holder["p"] = original(addr)
        return holder["p"]

    factory.buildProtocol = build
    if tls is None:
        reactor.connectTCP("127.0.0.1", port, factory)
    else:
        reactor.connectSSL("127.0.0.1", port, factory, tls)
    return _Pending(holder)


class _Pending:
    """The client before TCP connects: await C{.open()} to get the connected protocol."""

    def __init__(self, holder: dict) -> None:
        self._holder = holder

    async def open(self) -> RecordingClient:
        from twisted.internet.task import deferLater

        for _ in range(200):
            if "p" in self._holder:
                break
            await deferLater(reactor, 0.01, lambda: None)
        return self._holder["p"]


async def close_all(clients) -> None:
    """Close every client and wait until each connection is gone."""
    for client in clients:
        if client.transport is not None and not client.closed.called:
            client.transport.resumeProducing()
            client.sendClose()
    for client in clients:
        await client.closed


async def wait_for(predicate, seconds: float) -> bool:
    """Poll C{predicate} every 20 ms for up to C{seconds}; whether it became true.

    For the server's side of a close: a client sees its connection end in the same reactor turn
    as, or before, the server's protocol hears of it, so hub counts settle a moment later.
    """
    from twisted.internet.task import deferLater

    for _ in range(int(seconds / 0.02)):
        if predicate():
            return True
        await deferLater(reactor, 0.02, lambda: None)
    return predicate()


async def join(port: int, host: str, origin: Optional[str] = None, tls=None, deflate: bool = False) -> RecordingClient:
    """A client whose handshake has completed (raises C{ConnectionError} if refused)."""
    client = await connect(port, host, origin, tls, deflate).open()
    await client.opened
    return client


class RawPeer(Protocol):
    """A WebSocket client written by hand: sends the opening handshake (offering C{extensions}),
    then writes only what the test writes and answers nothing, pings included.

    C{upgraded} fires with the server's status line and headers (lowercased text); C{lost} when
    the connection ends. What arrives after the handshake is kept, unparsed, in C{buffer}.
    """

    def __init__(self, host_header: str, extensions: Optional[str] = None) -> None:
        self.host_header = host_header
        self.extensions = extensions
        self.buffer = b""
        self.upgraded: Deferred = Deferred()
        self.lost: Deferred = Deferred()

    def connectionMade(self) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        offer = f"Sec-WebSocket-Extensions: {self.extensions}\r\n" if self.extensions else ""
        self.transport.write((
            f"GET /ws HTTP/1.1\r\nHost: {self.host_header}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{offer}\r\n").encode())

    def dataReceived(self, data: bytes) -> None:
        # Always read, so the kernel buffers never fill.
        self.buffer += data
        if not self.upgraded.called and b"\r\n\r\n" in self.buffer:
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            self.upgraded.callback(head.decode("latin-1").lower())

    def connectionLost(self, reason=None) -> None:
        if not self.upgraded.called:
            self.upgraded.errback(ConnectionError("lost before the handshake finished"))
        self.lost.callback(None)
