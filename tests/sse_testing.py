"""A client of the live log stream (C{GET /api/logs/stream}): its body, line by line."""

from __future__ import annotations

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.protocol import Protocol
from twisted.web.client import Agent
from twisted.web.http_headers import Headers


class Lines(Protocol):
    """Collects a streamed body line by line; C{wait_for(text)} fires when a line contains it."""

    def __init__(self):
        self.lines: list[str] = []
        self._buffer = b""
        self._waiters: list[tuple[str, Deferred]] = []
        self.closed = Deferred()

    def dataReceived(self, data: bytes) -> None:
        self._buffer += data
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            text = line.decode("utf-8")
            self.lines.append(text)
            for waiter in list(self._waiters):
                if waiter[0] in text:
                    self._waiters.remove(waiter)
                    waiter[1].callback(text)

    def connectionLost(self, reason) -> None:
        self.closed.callback(None)

    def wait_for(self, text: str, timeout: float = 1.0) -> Deferred:
        for line in self.lines:
            if text in line:
                return Deferred.fromCoroutine(_value(line))
        d = Deferred()
        self._waiters.append((text, d))
        return d.addTimeout(timeout, reactor)


async def _value(v):
    return v


async def open_stream(server, site: str, token: str | None = None):
    headers = Headers({"Host": [f"admin.{server.domain}"]})
    if token is not None:
        headers.setRawHeaders("Authorization", [f"Bearer {token}"])
    response = await Agent(reactor).request(b"GET", f"{server.url}/api/logs/stream?site_id={site}".encode(),
                                            headers)
    lines = Lines()
    response.deliverBody(lines)
    return response, lines
