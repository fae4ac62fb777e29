"""A real Autobahn WebSocket client for tests: connects to a live server's loopback port."""

from __future__ import annotations

from typing import Optional

from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol
from twisted.internet import reactor
from twisted.internet.defer import Deferred


class RecordingClient(WebSocketClientProtocol):
    """Keeps every text message it gets; fires C{opened}, C{closed} and message waiters."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[str] = []
        self.opened: Deferred = Deferred()
        self.closed: Deferred = Deferred()
        self._waiters: list[tuple[int, Deferred]] = []

    def onOpen(self) -> None:
        self.opened.callback(self)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        self.received.append(payload.decode("utf-8") if not isBinary else repr(payload))
        ready = [(n, d) for n, d in self._waiters if len(self.received) >= n]
        self._waiters = [(n, d) for n, d in self._waiters if len(self.received) < n]
        for _, waiter in ready:
            waiter.callback(self.received)

    def onClose(self, wasClean: bool, code: Optional[int], reason: Optional[str]) -> None:
        if not self.opened.called:
            self.opened.errback(ConnectionError(f"refused: {reason}"))
        if not self.closed.called:
            self.closed.callback((code, reason))

    def messages(self, count: int) -> Deferred:
        """Fires with the received list once it holds at least C{count} messages."""
        if len(self.received) >= count:
            d = Deferred()
            d.callback(self.received)
            return d
        d = Deferred()
        self._waiters.append((count, d))
        return d


def connect(port: int, host: str, origin: Optional[str] = None, tls=None) -> RecordingClient:
    """Connect to C{ws://HOST/ws} through 127.0.0.1:C{port}; C{host} includes the port.

    With C{tls} (client TLS options, e.g. from C{optionsForClientTLS}) it is C{wss://} instead.
    """
    scheme = "wss" if tls is not None else "ws"
    factory = WebSocketClientFactory(f"{scheme}://{host}/ws", origin=origin)
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


async def join(port: int, host: str, origin: Optional[str] = None, tls=None) -> RecordingClient:
    """A client whose handshake has completed (raises C{ConnectionError} if refused)."""
    client = await connect(port, host, origin, tls).open()
    await client.opened
    return client
