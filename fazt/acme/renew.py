"""Renewing a certificate now, on request (C{POST /api/certificates/NAME/renew}, C{fazt certs renew}).

The request may reach any process: the name must be one the certificate service manages (listed by
C{GET /api/certificates}) and one it can order; then the leader orders a new certificate at once,
whatever the old one's expiry or back-off (L{CertificateManager.renew}: another process asks it
over the bus). The answer waits for the outcome the leader announces on the bus, whichever process
asked: C{certificate.stored} (the new certificate, served here before the answer) or
C{certificate.failed} (the CA's error). An order already under way for the name is joined rather
than refused: it yields a new certificate just the same, and only the leader knows it is under way.
"""

from __future__ import annotations

from twisted.internet.defer import Deferred, TimeoutError, inlineCallbacks
from twisted.internet.interfaces import IReactorTime

from fazt.acme.policy import orderable
from fazt.acme.serving import serve_announced
from fazt.base.bus import CERTIFICATE_FAILED, CERTIFICATE_STORED, IEventBus

__all__ = ["RENEW_WAIT", "NotOrderable", "OrderFailed", "Renewals", "StillOrdering", "UnknownName"]

# How long an answer waits for the order (Let's Encrypt takes seconds; the CA may be slow or the
# leader between two processes): after it, the caller is told the order goes on.
RENEW_WAIT = 120.0


class UnknownName(LookupError):
    """No certificate of that name is managed here."""


class NotOrderable(ValueError):
    """The name is managed but nothing may be ordered for it (C{--no-acme}, or no CA can validate it)."""


class OrderFailed(RuntimeError):
    """The CA refused or failed the order; the message is its error."""


class StillOrdering(RuntimeError):
    """The order did not settle within L{RENEW_WAIT}; it goes on."""


class Renewals:
    """Renews one certificate now and says how it went (see the module's docstring)."""

    def __init__(self, manager, bus: IEventBus, clock: IReactorTime, wait: float = RENEW_WAIT) -> None:
        self._manager = manager    # fazt.acme.service.CertificateManager
        self._bus = bus
        self._clock = clock
        self._wait = wait

    @inlineCallbacks
    def renew(self, name: str):
        """Order a new certificate for C{name}; fires with its L{CertificateStatus} once served here.

        Fails with L{UnknownName}, L{NotOrderable}, L{OrderFailed} or L{StillOrdering}.
        """
        manager = self._manager
        if name not in {entry.name for entry in (yield manager.statuses())}:
            raise UnknownName(name)
        if manager.issuer is None or not orderable(name, manager.public_ca):
            raise NotOrderable(name)
        outcome = self._outcome(name)  # listening before asking: the leader may answer at once
        manager.renew(name)
        try:
            message = yield outcome
        except TimeoutError:
            raise StillOrdering(name) from None
        if "error" in message:
            raise OrderFailed(message["error"])
        yield serve_announced(manager.store, manager.certificates, name, message["not_after"])
        entries = yield manager.statuses()
        return next(entry for entry in entries if entry.name == name)

    def _outcome(self, name: str) -> Deferred:
        """The next C{certificate.stored} or C{certificate.failed} message about C{name}."""
        def stop(_=None) -> None:
            for unsubscribe in subscriptions:
                unsubscribe()

        def heard(message: dict) -> None:
            if message.get("name") == name and not arrived.called:
                stop()
                arrived.callback(message)

        arrived: Deferred = Deferred(stop)
        subscriptions = [self._bus.subscribe(CERTIFICATE_STORED, heard),
                         self._bus.subscribe(CERTIFICATE_FAILED, heard)]
        return arrived.addTimeout(self._wait, self._clock)
