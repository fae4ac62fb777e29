"""Certificates on demand for custom domains, at their first TLS handshake (SPEC §15).

L{OnDemand} is the certificate map's C{on_missing} hook: a handshake for a name without a
certificate calls it on the reactor thread. It orders only for names registered as custom domains
(an unregistered name, whatever a client sends as SNI, makes no request at all), at most
C{per_minute} orders a minute in all (a token bucket on the injected clock, or the C{take} the
wiring gives, which counts every process's orders: L{fazt.web.sharedbuckets}), and never for a name
the manager is ordering or whose last failure set a later attempt (the manager's exponential
back-off per name, L{fazt.acme.policy.retry_delay}).

What the first handshake gets: the self-signed fallback, at once. Caddy's on-demand TLS holds the
handshake until the certificate arrives (seconds); the SNI callback of pyOpenSSL under Twisted's
TLS transport must answer synchronously, so here the first visitor sees an untrusted certificate
and every handshake after the order completes (a few seconds later) gets the real one. The order
is started after the handshake's callback returns (C{callLater(0)}), never inside it. With several
processes or nodes the leader orders (L{fazt.acme.service.CertificateManager.want}): a handshake
at another process asks it over the bus, and the certificate reaches every process when stored.
"""

from __future__ import annotations

from typing import Callable, Optional

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

_log = Logger()
PER_MINUTE = 10


class OnDemand:
    """Orders a certificate for a registered name at its first handshake, rate-limited."""

    def __init__(self, manager, registered: Callable[[str], bool], clock: IReactorTime,
                 per_minute: int = PER_MINUTE, take: Optional[Callable[[], bool]] = None) -> None:
        self._manager = manager            # fazt.acme.service.CertificateManager
        self._registered = registered      # fazt.base.customhosts.CustomHosts.registered
        self._clock = clock
        self._capacity = float(per_minute)
        self._tokens = float(per_minute)
        self._refilled = clock.seconds()
        self._pending: dict[str, list[Deferred]] = {}  # name -> who waits for its order to settle
        # A limit shared by every process (the wiring's), else this bucket of its own.
        self._take_token = take if take is not None else self._take

    def __call__(self, name: str) -> None:
        """A handshake for C{name} found no certificate (reactor thread; cheap, never raises)."""
        if not self._registered(name) or name in self._pending:
            return
        if not self._take_token():
            _log.warn("On-demand TLS: {name} waits, more than {n:.0f} orders a minute", name=name, n=self._capacity)
            return
        self._pending[name] = []
        _log.info("On-demand TLS: ordering a certificate for {name} (first handshake)", name=name)
        self._clock.callLater(0, self._order, name)

    def when_settled(self, name: str) -> Deferred:
        """Fires once the order started for C{name} is done (at once if none is under way)."""
        if name not in self._pending:
            return succeed(None)
        waiting: Deferred = Deferred()
        self._pending[name].append(waiting)
        return waiting

    def _order(self, name: str) -> None:
        def settled(_) -> None:
            for waiting in self._pending.pop(name, []):
                waiting.callback(None)
        self._manager.want(name).addBoth(settled)  # ordered by the leader, whichever process shook hands

    def _take(self) -> bool:
        now = self._clock.seconds()
        self._tokens = min(self._capacity, self._tokens + (now - self._refilled) * self._capacity / 60.0)
        self._refilled = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True
