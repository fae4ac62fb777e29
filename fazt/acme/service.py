"""The certificate service: orders what is missing, renews what is due, backs off on failure.

A L{TimerService} on an injected clock runs L{CertificateManager.check}; a site's first deploy
asks for its name at once (L{CertificateManager.site_deployed}). Renewal follows the CA's ARI
window where it offers one, else 30 days before expiry. A failed order only moves the name's next
attempt later (exponential back-off): the certificate in service is never dropped.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional

from twisted.application.internet import TimerService
from twisted.application.service import MultiService
from twisted.internet.defer import Deferred, DeferredList, inlineCallbacks, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from fazt.acme import pem
from fazt.base.bus import CERTIFICATE_FAILED, CERTIFICATE_STORED, CERTIFICATE_WANTED, RESYNC, SITE_CHANGED, IEventBus
from fazt.acme.certstore import SQLiteCertificateStore, record
from fazt.acme.serving import serve_announced, serve_fresher
from fazt.acme.policy import (ARI_INTERVAL, describe, orderable, preview_host, renewal_due, retry_delay, site_host,
                              wanted_names)
from fazt.acme.sni import CertificateMap
from fazt.acme.standing import order_due, status_of
from fazt.store.certificates import Schedule, all_schedules, issued, load_schedules, save_schedule, site_names

_log = Logger()
CHECK_INTERVAL = 300.0
SERVICE_NAME = "certificates"


class CertificateManager(MultiService):
    """Keeps a certificate for every name that is ours, in the cartridge and in the SNI map.

    C{issuer} is None when nothing may be ordered (C{--no-acme}, or no TLS listener that needs
    one): stored certificates are still served, and every other name gets the fallback.
    """

    def __init__(self, store, certificates: CertificateMap, domain: str, clock: IReactorTime,
                 issuer: Optional[Any] = None, public_ca: bool = False, serving_tls: bool = True,
                 interval: float = CHECK_INTERVAL, bus: Optional[IEventBus] = None,
                 extra_names: Callable[[], list] = list, duties: Optional[MultiService] = None) -> None:
        super().__init__()
        self.setName(SERVICE_NAME)
        self.store = store
        self.cert_store = SQLiteCertificateStore(store, clock)  # reads; writes go with the schedule
        self.certificates = certificates
        self.domain = domain
        self.issuer = issuer
        self.public_ca = public_ca
        self.serving_tls = serving_tls
        self._clock = clock
        self._inflight: set[str] = set()
        self._checked = False
        self.current_check = None  # the Deferred of the timer's check in progress (for tests and logs)
        self._bus = bus
        # Names wanted besides the domain's and the sites': the registered custom domains (SPEC §15).
        self.extra_names = extra_names
        # With several processes only the leader orders: its timer runs among the leader's duties
        # (fazt.app.leaderduties), and a switch or preview heard on the bus orders only while they are active.
        self._duties = duties
        if bus is not None:
            bus.subscribe(SITE_CHANGED, self._site_changed)
            bus.subscribe(CERTIFICATE_STORED, self._certificate_stored)
            bus.subscribe(RESYNC, self._resync)
            bus.subscribe(CERTIFICATE_WANTED, self._certificate_wanted)
        if issuer is not None:
            timer = TimerService(interval, self._tick)
            timer.clock = clock
            timer.setServiceParent(duties if duties is not None else self)

    def stopService(self):
        if self.issuer is not None and hasattr(self.issuer, "stop"):
            self.issuer.stop()
        return super().stopService()

    def _now(self) -> float:
        return self._clock.seconds()

    def _orderable(self, name: str) -> bool:
        return self.issuer is not None and orderable(name, self.public_ca)

    def _tick(self):
        # The timer consumes what it is given: it gets its own Deferred, fired first so that the
        # next tick is scheduled before anyone waiting on current_check carries on.
        self.current_check = watched = Deferred()
        for_timer = Deferred()

        def finished(result):
            for_timer.callback(None)
            watched.callback(result)

        self.check().addBoth(finished)
        return for_timer

    @inlineCallbacks
    def check(self):
        """Order every wanted name that is due; fires with the names ordered. Never fails."""
        try:
            due = yield self._check()
        except Exception:
            _log.failure("The certificate check failed")
            return []
        return due

    @inlineCallbacks
    def _check(self):
        now = self._now()
        sites = yield self.store.read(site_names)
        certs = yield self.cert_store.as_dict()
        # Custom domains are first ordered on demand (their first handshake); here only renewed.
        wanted = wanted_names(self.domain, sites)
        wanted += [n for n in self.extra_names() if n in certs and n not in wanted]
        names = [n for n in wanted if self._orderable(n)]
        schedules = yield self.store.read(load_schedules, names)
        yield self._ask_ari(names, schedules, certs, now)
        schedules = yield self.store.read(load_schedules, names)
        due = [n for n in names if n not in self._inflight and order_due(schedules.get(n), certs.get(n), now)]
        level = _log.info if due or not self._checked else _log.debug
        self._checked = True
        level("Certificates: {count} names checked, {due} to order", count=len(names), due=len(due))
        yield DeferredList([self._order(name) for name in due])
        return due

    @inlineCallbacks
    def _ask_ari(self, names, schedules, certs, now):
        """Move renewals into the CA's suggested window (ARI), at most every L{ARI_INTERVAL} per name."""
        for name in names:
            schedule, cert = schedules.get(name), certs.get(name)
            if cert is None or schedule is None or schedule.next_ari is None or schedule.next_ari > now \
                    or name in self._inflight:
                continue
            try:
                renew_at, ask_again = yield self.issuer.renewal_info(cert.cert_pem)
            except Exception as error:
                _log.warn("ARI for {name} failed: {error}", name=name, error=describe(error))
                renew_at, ask_again = None, now + ARI_INTERVAL
            if ask_again is None:  # the CA offers no ARI: never ask again for this certificate
                next_attempt, next_ari = schedule.next_attempt, None
            else:
                next_ari = max(ask_again, now + 60.0)
                next_attempt = schedule.next_attempt if renew_at is None or schedule.failures \
                    else min(schedule.next_attempt, renew_at)
            yield self.store.write(save_schedule, Schedule(
                name, schedule.failures, next_attempt, next_ari, schedule.last_attempt, schedule.last_error))

    def _site_changed(self, message: dict) -> None:
        if not self._leads():
            return
        if message.get("change") == "switch":
            self.site_deployed(message["site"])
        elif message.get("change") == "preview":
            self.order_now(preview_host(message["site"], message["deployment_id"], self.domain))

    def _certificate_stored(self, message: dict) -> Deferred:
        return serve_announced(self.store, self.certificates, message["name"], message["not_after"])

    def _resync(self, message: dict) -> Deferred:
        return serve_fresher(self.store, self.certificates)

    def _wanted(self, sites) -> list[str]:
        names = wanted_names(self.domain, sites)
        return names + [name for name in self.extra_names() if name not in names]

    def site_deployed(self, site: str) -> Deferred:
        """A site switched deployments: order its name now unless it has a certificate or waits.

        The Deferred fires when that is settled (and any order is done); it never fails.
        """
        return self.order_now(site_host(site, self.domain))

    def want(self, host: str) -> Deferred:
        """C{host} needs a certificate now (an on-demand handshake, in any process): the leader orders it
        (L{order_now}); a process that does not lead asks the leader over the bus and fires at once."""
        if self._leads() or self._bus is None:
            return self.order_now(host)
        self._bus.publish(CERTIFICATE_WANTED, {"name": host})
        return succeed(None)

    def _certificate_wanted(self, message: dict) -> None:
        if self._leads():
            (self.renew if message.get("renew") else self.order_now)(message["name"])

    def renew(self, host: str) -> Deferred:
        """Order a new certificate for C{host} now, whatever its expiry or back-off (L{fazt.acme.renew});
        an order already under way is the renewal. Only the leader orders: another process asks it
        over the bus. Fires when settled here (at once when asked of the leader); never fails."""
        if not self._leads() and self._bus is not None:
            self._bus.publish(CERTIFICATE_WANTED, {"name": host, "renew": True})
            return succeed(None)
        if not self._orderable(host) or host in self._inflight:
            return succeed(None)
        return self._order(host)

    def _leads(self) -> bool:
        return self._duties is None or self._duties.active

    def order_now(self, host: str) -> Deferred:
        """Order C{host}'s certificate now (one of ours, L{fazt.acme.policy}) unless it has one, is being
        ordered, or backs off after a failure (its schedule says when to try again). Fires when settled;
        never fails."""
        if not self._orderable(host) or host in self._inflight:
            return succeed(None)
        if self.certificates.has_valid(host, self._now()):
            return succeed(None)
        self._inflight.add(host)  # claimed before reading, so a second deploy cannot order too
        return self._order_unless_waiting(host)

    @inlineCallbacks
    def _order_unless_waiting(self, name: str):
        try:
            schedule = (yield self.store.read(load_schedules, [name])).get(name)
        except Exception:
            _log.failure("Could not read the certificate schedule of {name}", name=name)
            schedule = Schedule(name, next_attempt=float("inf"))
        if schedule is None or schedule.next_attempt <= self._now():
            yield self._order(name)
        else:
            self._inflight.discard(name)

    @inlineCallbacks
    def _order(self, name: str):
        """Obtain a certificate for C{name}, keep and serve it; on failure, back off. Never fails."""
        self._inflight.add(name)
        attempt = self._now()
        try:
            cert_pem, key_pem = yield self.issuer.issue(name)
            cert = record(name, cert_pem, key_pem)
            about = pem.facts(cert_pem)
            if name not in about.names:
                raise ValueError(f"the CA issued a certificate for {about.names}, not {name}")
            self.certificates.put(cert)
            schedule = Schedule(name, 0, renewal_due(about.not_before, about.not_after),
                                attempt + ARI_INTERVAL, attempt, None)
            yield self.store.write(issued, cert, schedule, self._now())
            if self._bus is not None:
                self._bus.publish(CERTIFICATE_STORED, {"name": name, "not_after": cert.not_after})
            _log.info("Certificate for {name} issued by {issuer}, valid until {until}",
                      name=name, issuer=cert.issuer, until=_iso(cert.not_after))
        except Exception as error:
            yield self._failed(name, attempt, error)
        finally:
            self._inflight.discard(name)

    @inlineCallbacks
    def _failed(self, name: str, attempt: float, error: Exception):
        try:
            previous = (yield self.store.read(load_schedules, [name])).get(name) or Schedule(name)
            failures = previous.failures + 1
            delay = retry_delay(failures)
            yield self.store.write(save_schedule, Schedule(
                name, failures, self._now() + delay, previous.next_ari, attempt, describe(error)))
            _log.warn("Could not obtain a certificate for {name} (failure {failures}; next try in {delay:.0f} s):"
                      " {error}", name=name, failures=failures, delay=delay, error=describe(error))
        except Exception:
            _log.failure("Could not record the failed certificate order for {name}", name=name)
        if self._bus is not None:  # after the record: a renewal asked anywhere answers with the error
            self._bus.publish(CERTIFICATE_FAILED, {"name": name, "error": describe(error)})

    @inlineCallbacks
    def statuses(self):
        """Every wanted or stored name with its certificate and the outcome of its last attempt
        (L{fazt.acme.standing.CertificateStatus})."""
        sites = yield self.store.read(site_names)
        certs = yield self.cert_store.as_dict()
        schedules = yield self.store.read(all_schedules)
        wanted = self._wanted(sites) if self.serving_tls else []
        now = self._now()
        return [status_of(name, certs.get(name), schedules.get(name), now, self._orderable(name))
                for name in sorted(set(wanted) | set(certs))]


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
