"""A graceful stop: stop accepting, let in-flight requests finish, then flush and close.

twistd stops the service tree on SIGTERM (and Ctrl-C) before the reactor drops every connection.
A plain L{MultiService} stops all its children at once, so the store could close under a
request still running and the JS workers could be killed mid-script. L{OrderlyService} stops
in order instead:

 1. the listeners and the scheduler (services marked C{stop_first}, and every
    L{StreamServerEndpointService}): nothing new is accepted or started;
 2. open HTTP connections drain, for at most C{grace} seconds: an idle keep-alive connection is
    closed at once, a busy one as soon as its response has been written out (closing flushes
    what is buffered first); event streams (live logs) are closed at once, and WebSocket
    clients are sent a close frame (1001, going away) but not waited for;
 3. the batch writer's queued writes (KV, console lines) are committed;
 4. everything else, at once: the analytics buffer queues its last batch on the store's writer
    thread, which runs it before the store closes its connections.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

from twisted.application.internet import StreamServerEndpointService
from twisted.application.service import MultiService, Service
from twisted.internet.defer import DeferredList, inlineCallbacks, maybeDeferred
from twisted.internet.task import deferLater
from twisted.logger import Logger

from fazt.base.responses import is_event_stream

_log = Logger()
POLL_SECONDS = 0.05
DEFAULT_GRACE = 10.0


def stops_first(service: Any) -> bool:
    """Whether a service is stopped before connections drain (listeners, schedulers)."""
    return isinstance(service, StreamServerEndpointService) or getattr(service, "stop_first", False)


def _bottom(transport: Any) -> Any:
    """The socket-level transport under any wrappers (TLS)."""
    for _ in range(8):
        if hasattr(transport, "disconnected") or getattr(transport, "transport", None) is None:
            return transport
        transport = transport.transport
    return transport


def channel_state(channel: Any) -> str:
    """C{"gone"}, C{"busy"} (a request in progress) or C{"idle"}, for one connection of a web site."""
    inner = getattr(channel, "_channel", channel)  # twisted.web's HTTP/1.1-or-2 switcher
    transport = getattr(inner, "transport", None)
    if transport is None:
        return "gone"  # closed, or taken over by a WebSocket
    if getattr(_bottom(transport), "disconnected", False):
        return "gone"
    requests = getattr(inner, "requests", None)
    if requests and all(is_event_stream(r) for r in requests):
        return "stream"
    if requests or getattr(inner, "streams", None):
        return "busy"
    return "idle"


class Drain:
    """Waits for a web site's open connections to finish their requests, closing idle ones."""

    def __init__(self, clock: Any, channels: Iterable[Any], grace: float) -> None:
        self._clock = clock
        self._channels = channels
        self._grace = grace

    @inlineCallbacks
    def run(self):
        """Fires with the number of connections still busy when the grace period ran out."""
        deadline = self._clock.seconds() + self._grace
        closing: set[int] = set()
        while True:
            busy = 0
            waiting = 0
            for channel in list(self._channels):
                state = channel_state(channel)
                if state == "gone":
                    continue
                waiting += 1
                if state == "busy":
                    busy += 1
                elif id(channel) not in closing:  # idle, or an event stream (its client reconnects)
                    closing.add(id(channel))
                    # The channel's own loseConnection: it unregisters itself as the transport's
                    # producer first, else a transport that had paused it would never close.
                    getattr(channel, "_channel", channel).loseConnection()
            if not waiting:
                return 0
            if self._clock.seconds() >= deadline:
                _log.warn("Stopping with {busy} requests in progress and {closing} connections still "
                          "closing after {grace} s", busy=busy, closing=waiting - busy, grace=self._grace)
                return busy
            yield deferLater(self._clock, POLL_SECONDS, lambda: None)


class OrderlyService(MultiService):
    """The top of fazt's service tree; see the module docstring for the order it stops in.

    C{site} (a L{fazt.web.root.FaztSite}: its connections are drained), C{writer} (a
    L{fazt.store.batch.BatchWriter}: its queue is committed), C{sockets} (a
    L{fazt.ws.hub.HubRegistry}: told to close its clients) and C{connections} (the
    L{fazt.web.frontdoor.ConnectionLimits} every listener shares) are given by the wiring; any may
    be None.
    """

    def __init__(self, clock: Any, grace: float = DEFAULT_GRACE, site: Optional[Any] = None,
                 writer: Optional[Any] = None, sockets: Optional[Any] = None,
                 connections: Optional[Any] = None) -> None:
        super().__init__()
        self._clock = clock
        self.grace = grace
        self.site = site
        self.writer = writer
        self.sockets = sockets
        self.connections = connections

    def stopService(self):
        Service.stopService(self)
        return self._stop_in_order()

    @inlineCallbacks
    def _stop_in_order(self):
        children = list(self)
        children.reverse()
        started = self._clock.seconds()
        yield DeferredList([maybeDeferred(s.stopService) for s in children if stops_first(s)])
        if self.sockets is not None:
            # A close frame (1001) tells browsers the server is going away, unlike a dropped TCP connection.
            self.sockets.close_all()
        if self.site is not None:
            remaining = max(0.0, self.grace - (self._clock.seconds() - started))
            yield Drain(self._clock, self.site.channels, remaining).run()
        while self.writer is not None and not self.writer.idle:
            if self._clock.seconds() - started > self.grace + 5:
                _log.warn("Stopping with queued writes not yet committed")
                break
            yield deferLater(self._clock, POLL_SECONDS, lambda: None)
        yield DeferredList([maybeDeferred(s.stopService) for s in children if not stops_first(s)])
