"""C{GET /api/logs/stream?site_id=NAME}: a site's console lines and deploys as Server-Sent Events.

Each console line of the site is sent as soon as its run finishes (before the batch writer has
stored it, so without an C{id}) as C{event: log}; a deploy or rollback of the site switches it,
and both are sent alike as C{event: switch} with C{{"site": NAME}} (the deployer's switch hook
does not tell them apart). A comment C{: ping} goes out every 15 seconds. Admin keys and
sessions may stream any site.

A client that stops reading: the stream is a push producer of the request, paused while the
connection's send buffer is full; events arriving meanwhile are queued, and past
L{MAX_QUEUED} of them the client is dropped.
"""

from __future__ import annotations

import json
from typing import Any, Optional

from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request
from zope.interface import implementer
from twisted.internet.interfaces import IPushProducer

from fazt.web.livelog import LiveLog

PING_SECONDS = 15.0
MAX_QUEUED = 1000


def sse_event(event: str, data: dict) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode("utf-8")


@implementer(IPushProducer)
class LiveStream(Resource):
    """One client's stream (rendered once, by the route that made it)."""

    isLeaf = True

    def __init__(self, reactor: Any, live: LiveLog, site: str, ping_seconds: float = PING_SECONDS,
                 max_queued: int = MAX_QUEUED) -> None:
        super().__init__()
        self._reactor = reactor
        self._live = live
        self._site = site
        self._ping_seconds = ping_seconds
        self._max_queued = max_queued
        self._request: Optional[Request] = None
        self._unsubscribe = None
        self._ping = None
        self._paused = False
        self._queue: list[bytes] = []
        self._done = False

    def render_GET(self, request: Request):
        self._request = request
        request.setResponseCode(200)
        request.setHeader(b"content-type", b"text/event-stream; charset=utf-8")
        request.setHeader(b"cache-control", b"no-store")
        request.setHeader(b"x-accel-buffering", b"no")
        request.registerProducer(self, True)
        request.write(b": connected\n\n")
        self._unsubscribe = self._live.subscribe(self._site, self._on_event)
        self._ping = self._reactor.callLater(self._ping_seconds, self._send_ping)
        request.notifyFinish().addBoth(self._gone)
        return NOT_DONE_YET

    def _on_event(self, event: str, data: dict) -> None:
        self._send(sse_event(event, data))

    def _send_ping(self) -> None:
        self._ping = None
        if self._done:
            return
        self._send(b": ping\n\n")
        self._ping = self._reactor.callLater(self._ping_seconds, self._send_ping)

    def _send(self, chunk: bytes) -> None:
        if self._done:
            return
        if self._paused:
            if len(self._queue) >= self._max_queued:
                self._drop()
                return
            self._queue.append(chunk)
            return
        self._request.write(chunk)

    def _drop(self) -> None:
        """The client stopped reading: let it go."""
        request = self._request
        self._gone(None)
        transport = getattr(request.channel, "transport", None) if request is not None else None
        if transport is not None:
            abort = getattr(transport, "abortConnection", None)
            (abort or transport.loseConnection)()

    def _gone(self, _result) -> None:
        if self._done:
            return
        self._done = True
        self._queue.clear()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._ping is not None and self._ping.active():
            self._ping.cancel()
        self._ping = None

    # IPushProducer
    def pauseProducing(self) -> None:
        self._paused = True

    def resumeProducing(self) -> None:
        self._paused = False
        queued, self._queue = self._queue, []
        for i, chunk in enumerate(queued):
            if self._done:
                return
            if self._paused:  # the write before filled the buffer again
                self._queue = queued[i:] + self._queue
                return
            self._request.write(chunk)

    def stopProducing(self) -> None:
        self._gone(None)
