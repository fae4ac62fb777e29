"""The event bus: publish/subscribe of small messages between the parts of fazt.

Publishers say what happened (a site switched deployments, a console line was made, a certificate
was stored) without knowing who listens; subscribers keep their own state up to date. Today there
is one process and L{LocalBus} delivers within it; SPEC §19 adds implementations of L{IEventBus}
across the supervisor's processes and across machines (PostgreSQL C{LISTEN/NOTIFY}), so every
message is a small JSON-able dict and no subscriber may rely on being in the publisher's process.
The topics and their messages are listed in docs/ARCHITECTURE.md ("The event bus").

L{LocalBus} delivers synchronously, on the caller's (the reactor's) thread: when C{publish}
returns, every subscriber has had the message, so a request answered after a deploy already finds
the caches invalidated. Every subscriber sees the messages of a topic in the order they were
published, even when a subscriber publishes while it is being delivered to: such a message is
queued and delivered after the current one has reached everyone.
"""

from __future__ import annotations

from collections import deque
from typing import Callable

from twisted.logger import Logger
from zope.interface import Interface, implementer

__all__ = ["IEventBus", "LocalBus", "SITE_CHANGED", "LOG_LINE", "SOCKET_MESSAGE", "CERTIFICATE_STORED", "CERTIFICATE_WANTED",
           "CERTIFICATE_FAILED", "CERTIFICATE_REMOVED",
           "SOCKET_CLIENTS", "LOGIN_FAILED", "LOGIN_SUCCEEDED", "LOGIN_CHECKING", "LOGIN_CHECKED",
           "METRICS_FIGURES", "METRICS_WANTED", "RATE_SPENT", "RESYNC"]

_log = Logger()

# A site's deployment, environment or existence changed: C{{"site", "change"}}.
SITE_CHANGED = "site.changed"
# A log line of a site was made (console.*, app errors): C{{"site", "level", "message", "created_at"}}.
LOG_LINE = "log.line"
# A message for a site's WebSocket clients: C{{"site", "data", "binary", "process"}} (fazt.ws.relay).
SOCKET_MESSAGE = "socket.message"
# A certificate was issued and stored: C{{"name", "not_after"}}.
CERTIFICATE_STORED = "certificate.stored"
# A process that does not lead needs a certificate (an on-demand handshake): C{{"name"}}; the leader orders.
# With C{"renew": true} (C{fazt certs renew}) the leader orders a new one even if the name has a valid one.
CERTIFICATE_WANTED = "certificate.wanted"
# An order failed (in the leader): C{{"name", "error"}}; a renewal asked in any process answers with it.
CERTIFICATE_FAILED = "certificate.failed"
# Certificates no site or domain needs any more were deleted from the store: C{{"names"}}; nobody serves them.
CERTIFICATE_REMOVED = "certificate.removed"
# A process's WebSocket clients by site: C{{"process", "counts", "full"}} (see fazt.ws.relay).
SOCKET_CLIENTS = "socket.clients"
# A failed login, and a successful one that clears the failures: C{{"key"}} (fazt.web.lockout).
LOGIN_FAILED = "login.failed"
LOGIN_SUCCEEDED = "login.succeeded"
# A login attempt's password check started, and ended whatever its outcome: C{{"key", "attempt"}}.
LOGIN_CHECKING = "login.checking"
LOGIN_CHECKED = "login.checked"
# Tokens a process spent from shared rate limits: C{{"process", "spent": {bucket: {key: n}}}}
# (fazt.web.sharedbuckets).
RATE_SPENT = "ratelimit.spent"
# A process's /metrics figures, and a request for them (fazt.web.metricsshare).
METRICS_FIGURES = "metrics.figures"
METRICS_WANTED = "metrics.wanted"
# Messages from other processes or nodes may have been lost (the bus's link was down and is back):
# whatever a subscriber cached from the store must be read again. C{{"reason"}}. Published by the bus
# itself, to its own process only.
RESYNC = "bus.resync"

Subscriber = Callable[[dict], None]


class IEventBus(Interface):
    """Publish/subscribe of small JSON-able messages by topic."""

    def publish(topic, message):
        """Deliver C{message} (a small JSON-able dict) to every subscriber of C{topic}.

        Never raises because of a subscriber: a failing subscriber is logged and the others
        still get the message.
        """

    def subscribe(topic, callback):
        """Call C{callback(message)} for each message published on C{topic} from now on.

        Returns a function of no arguments that stops the subscription (calling it again does
        nothing).
        """


class _Subscription:
    __slots__ = ("callback", "active")

    def __init__(self, callback: Subscriber) -> None:
        self.callback = callback
        self.active = True


@implementer(IEventBus)
class LocalBus:
    """The in-process bus: synchronous delivery in publication order (see the module's notes)."""

    def __init__(self) -> None:
        self._subscribers: dict[str, list[_Subscription]] = {}
        self._queue: deque[tuple[str, dict]] = deque()
        self._delivering = False

    def subscribe(self, topic: str, callback: Subscriber) -> Callable[[], None]:
        subscription = _Subscription(callback)
        self._subscribers.setdefault(topic, []).append(subscription)

        def unsubscribe() -> None:
            subscription.active = False  # a delivery under way skips it from now on
            subscriptions = self._subscribers.get(topic, [])
            if subscription in subscriptions:
                subscriptions.remove(subscription)
                if not subscriptions:
                    del self._subscribers[topic]
        return unsubscribe

    def subscribers(self, topic: str) -> int:
        """How many subscribers C{topic} has (for tests and metrics)."""
        return len(self._subscribers.get(topic, ()))

    def publish(self, topic: str, message: dict) -> None:
        self._queue.append((topic, message))
        if self._delivering:
            return  # published by a subscriber: delivered once the current message reached everyone
        self._delivering = True
        try:
            while self._queue:
                self._deliver(*self._queue.popleft())
        finally:
            self._delivering = False

    def _deliver(self, topic: str, message: dict) -> None:
        for subscription in list(self._subscribers.get(topic, ())):
            if not subscription.active:
                continue
            try:
                subscription.callback(message)
            except Exception:
                _log.failure("A subscriber of {topic} failed", topic=topic)
