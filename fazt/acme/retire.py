"""Forgetting the certificates of names nothing answers on any more (as Caddy stops managing them).

A name needs its certificate while something answers on it (L{fazt.acme.policy.needed_names}): the
domain's own names, a deployed site, a stored deployment's preview host, a custom domain and its
C{www.} name. When a site is deleted or a custom domain removed (heard on the bus), and every
L{CHECK_INTERVAL} (for what changed without a message: deployments pruned by retention, an order
that finished after its site went), the leader deletes the certificates and renewal schedules of
the names nothing needs (among the domain's own names, and a removed custom domain's: never the
names of another domain, which a cartridge started with a mistyped C{--domain} would otherwise
lose), then publishes C{certificate.removed}: every process stops serving them,
and nothing renews them (there is no schedule left, and the check renews only needed names).

At once, without a grace period: the private key of a name this server no longer answers for is
a liability kept in every backup, and a period would need a record of when each name stopped being
needed (or be forgotten at a restart) while serving nothing. What is needed is read in the same
write transaction that deletes, so a site deployed again before it keeps its certificate; one
deployed after it simply has its name ordered again (one order, as on a first deploy).
"""

from __future__ import annotations

from typing import Iterable

from twisted.application.internet import TimerService
from twisted.application.service import MultiService
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from fazt.acme.policy import judged_by_domain, needed_names
from fazt.acme.sni import CertificateMap
from fazt.base.bus import CERTIFICATE_REMOVED, SITE_CHANGED, IEventBus
from fazt.base.customhosts import DOMAINS_CHANGED
from fazt.store.certificates import deployment_sites, forget_certificates, kept_names, site_names
from fazt.store.domains import all_domains
from fazt.store.transaction import Connection

__all__ = ["Retirement", "forget_unneeded"]

_log = Logger()


def forget_unneeded(conn: Connection, domain: str, removed: Iterable[str] = ()) -> list[str]:
    """Delete the certificates and schedules of the names nothing needs; the names deleted.

    Only names C{domain}'s rules judge (L{judged_by_domain}), and the C{removed} names of a custom
    domain just removed, are candidates: started once with a mistyped C{--domain}, fazt would
    otherwise have deleted every certificate of the cartridge's real domain. Must run in one write
    transaction (what is needed is read with it)."""
    needed = needed_names(domain, site_names(conn), deployment_sites(conn), all_domains(conn))
    candidates = set(removed)
    gone = [name for name in kept_names(conn)
            if name not in needed and (name in candidates or judged_by_domain(name, domain))]
    forget_certificates(conn, gone)
    return gone


class Retirement(MultiService):
    """Deletes unneeded certificates while it runs (one of the leader's duties, so in the leader
    only); in every process, stops serving the certificates deleted anywhere."""

    name = "certificate-retirement"

    def __init__(self, store, certificates: CertificateMap, domain: str, clock: IReactorTime,
                 bus: IEventBus | None, interval: float) -> None:
        super().__init__()
        self._store = store
        self._certificates = certificates
        self._domain = domain
        self._bus = bus
        if bus is not None:
            bus.subscribe(SITE_CHANGED, self._site_changed)
            bus.subscribe(DOMAINS_CHANGED, self._domains_changed)
            bus.subscribe(CERTIFICATE_REMOVED, self._removed)
        timer = TimerService(interval, self.retire)
        timer.clock = clock
        timer.setServiceParent(self)

    def _site_changed(self, message: dict) -> None:
        if self.running and message.get("change") == "deleted":
            self.retire()

    def _domains_changed(self, message: dict) -> None:
        name = message.get("name")
        if self.running and message.get("change") == "removed" and isinstance(name, str):
            self.retire((name, "www." + name))

    def _removed(self, message: dict) -> None:
        self._certificates.remove(message["names"])

    @inlineCallbacks
    def retire(self, removed: Iterable[str] = ()) -> Deferred:
        """Delete the certificates nothing needs (see L{forget_unneeded}; C{removed}: a removed custom
        domain's names) and stop serving them everywhere; fires with their names. Never fails."""
        try:
            gone = yield self._store.write(forget_unneeded, self._domain, tuple(removed))
        except Exception:
            _log.failure("Could not delete the certificates no longer needed")
            return []
        if gone:
            _log.info("Certificates no longer needed, deleted and no longer served: {names}",
                      names=", ".join(gone))
            if self._bus is not None:
                self._bus.publish(CERTIFICATE_REMOVED, {"names": gone})
            else:
                self._certificates.remove(gone)
        return gone
