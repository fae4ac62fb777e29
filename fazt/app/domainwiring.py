"""Puts custom domains into a fazt service tree (called from C{fazt.app.tap}; wiring only).

At start, before the reactor runs: the cartridge's check key (made on first start) and the map of
registered names, so the first request is already routed. Then the map follows the event bus:
C{domains.changed} (a domain added or removed, in any process) and a site's deletion reload it.
The certificate service learns the registered names (renewals) and, when it orders at all,
orders on demand at a registered name's first handshake.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Callable

from twisted.internet.defer import Deferred, succeed
from twisted.logger import Logger

from fazt.acme.ondemand import OnDemand
from fazt.base.bus import SITE_CHANGED, IEventBus
from fazt.base.customhosts import DOMAINS_CHANGED, CustomHosts
from fazt.store.domains import all_domains, check_key
from fazt.store.engines import connect
from fazt.store.transaction import transaction
from fazt.web.domaincheck import CheckTokenResource, DomainChecker, dns_server_resolver, system_resolver
from fazt.web.ratelimit import TokenBuckets
from fazt.web.sharedbuckets import SharedBuckets

_log = Logger()


@dataclass
class Domains:
    """What the domains area of the admin API uses."""

    hosts: CustomHosts
    checker: DomainChecker
    announce: Any  # announce(name, change) -> Deferred: publishes DOMAINS_CHANGED, fires once routed here


def _start_state(path: str, now: int) -> tuple[str, list]:
    conn = connect(path)
    try:
        with transaction(conn):
            key = check_key(conn, secrets.token_hex(32), now)
            rows = all_domains(conn)
    finally:
        conn.close()
    return key, rows


class _Follower:
    """Reloads the map from the store on every change; an older read never overwrites a newer one."""

    def __init__(self, store, hosts: CustomHosts) -> None:
        self._store, self._hosts = store, hosts
        self._asked = self._applied = 0
        self._latest: Deferred = succeed(None)

    def reload(self, message: dict) -> None:
        self._asked += 1
        number = self._asked

        def apply(rows) -> None:
            if number > self._applied:
                self._applied = number
                self._hosts.replace(rows)
        self._latest = self._store.read(all_domains).addCallbacks(
            apply, lambda failure: _log.failure("Could not reload the custom domains", failure))

    def reloaded(self) -> Deferred:
        """Fires once the latest reload asked of this process is applied (never fails)."""
        done: Deferred = Deferred()
        self._latest.addBoth(lambda result: (done.callback(None), result)[1])
        return done

    def site_changed(self, message: dict) -> None:
        if message.get("change") == "deleted":  # its domains went with it
            self.reload(message)


def order_limit(bus: IEventBus, reactor, per_minute: int) -> Callable[[], bool]:
    """Whether one more certificate may be ordered on demand now: C{--on-demand-per-minute} counts
    the orders of every process together (L{fazt.web.sharedbuckets})."""
    orders = SharedBuckets(bus, reactor).share("on-demand", TokenBuckets(per_minute / 60.0, per_minute, reactor))
    return lambda: orders.take("") == 0


def install(config: Any, reactor, root, store, bus: IEventBus, certificates, pool) -> Domains:
    """Route custom domains in C{root}, answer the check token, and order their certificates."""
    key, rows = _start_state(config["db"], int(reactor.seconds()))
    hosts = CustomHosts()
    hosts.replace(rows)
    root.custom_hosts = hosts
    root.domain_check = CheckTokenResource(key.encode("ascii"))
    follower = _Follower(store, hosts)
    bus.subscribe(DOMAINS_CHANGED, follower.reload)
    bus.subscribe(SITE_CHANGED, follower.site_changed)
    certificates.extra_names = hosts.names
    if certificates.issuer is not None:
        per_minute = config["on-demand-per-minute"]
        certificates.certificates.on_missing = OnDemand(certificates, hosts.registered, reactor, per_minute,
                                                        take=order_limit(bus, reactor, per_minute))
    dns_server = config["check-dns"]
    resolve = dns_server_resolver(reactor, dns_server) if dns_server else system_resolver(reactor, pool)

    def announce(name: str, change: str) -> Deferred:
        """Tell every process; fires once this one routes by the new map (every bus delivers to the
        publisher's own subscribers before C{publish} returns), so the API answers after it."""
        bus.publish(DOMAINS_CHANGED, {"name": name, "change": change})
        return follower.reloaded()
    return Domains(hosts, DomainChecker(key.encode("ascii"), resolve), announce)
