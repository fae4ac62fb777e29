"""Renewing a certificate on request (fazt.acme.renew, C{POST /api/certificates/NAME/renew}).

Two managers on one bus and one cartridge stand for the leader and a follower (SPEC §19); the CA
is the only fake (real certificates from a throwaway CA). The API's answers are read over HTTP from
a whole fazt tree.
"""

from __future__ import annotations

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock, deferLater

from fazt.acme.renew import RENEW_WAIT, NotOrderable, OrderFailed, Renewals, StillOrdering, UnknownName
from fazt.acme.service import SERVICE_NAME, CertificateManager
from fazt.acme.sni import CertificateMap, fallback_options
from fazt.app.leaderduties import LeaderDuties
from fazt.base.bus import LocalBus

from acme_testing import START, FakeCA, deploy_site
from fazt_testing import assert_error
from xproc_testing import Leadership

DOMAIN = "example.com"
LOOPBACK = "127.0.0.1"  # the admin host that has no certificate: never redirected to HTTPS


@pytest.fixture
def clock():
    clock = Clock()
    clock.advance(START)
    return clock


def serial(manager, name) -> int:
    """The serial number of the certificate C{manager}'s map serves for C{name}."""
    options = manager.certificates[name]
    return options.certificate.serial_number


class Platform:
    def __init__(self, store, clock, leader_ca, follower_ca=None) -> None:
        self.bus = LocalBus()
        self.duties = {role: LeaderDuties(Leadership(role == "leader")) for role in ("leader", "follower")}
        cas = {"leader": leader_ca, "follower": follower_ca or FakeCA(clock)}
        self.managers = {role: CertificateManager(store, CertificateMap(fallback_options(DOMAIN, clock.seconds())),
                                                  DOMAIN, clock, cas[role], public_ca=False, interval=300,
                                                  bus=self.bus, duties=self.duties[role])
                         for role in self.duties}
        self.renewals = {role: Renewals(self.managers[role], self.bus, clock) for role in self.duties}

    async def start(self) -> None:
        for duties in self.duties.values():
            duties.startService()
        await self.managers["leader"].current_check
        # The follower serves what the leader stored (announced on the bus, read off the reactor thread).
        follower = self.managers["follower"].certificates
        for _ in range(500):
            if "shop.example.com" in follower:
                return
            await deferLater(reactor, 0.01, lambda: None)

    def stop(self) -> None:
        for duties in self.duties.values():
            duties.stopService()


@pytest.mark.parametrize("asked_at", ["leader", "follower"])
@pytest_twisted.ensureDeferred
async def test_a_renewal_asked_at_any_process_is_ordered_by_the_leader_and_served_there(cartridge, clock, asked_at):
    leader_ca, follower_ca = FakeCA(clock), FakeCA(clock)
    await cartridge.write(deploy_site, "shop")
    platform = Platform(cartridge, clock, leader_ca, follower_ca)
    await platform.start()
    asked = platform.managers[asked_at]
    before = serial(asked, "shop.example.com")
    leader_ca.orders.clear()
    try:
        entry = await platform.renewals[asked_at].renew("shop.example.com")
    finally:
        platform.stop()
    assert leader_ca.orders == ["shop.example.com"] and follower_ca.orders == []
    assert (entry.name, entry.status, entry.last_error) == ("shop.example.com", "valid", None)
    assert serial(asked, "shop.example.com") != before  # served by the process that asked, on return
    assert asked.certificates.not_after("shop.example.com") == entry.not_after


@pytest_twisted.ensureDeferred
async def test_unknown_and_unorderable_names_and_a_failing_ca_are_told_apart(cartridge, clock):
    ca = FakeCA(clock)
    await cartridge.write(deploy_site, "shop")
    platform = Platform(cartridge, clock, ca)
    await platform.start()
    renewals = platform.renewals["follower"]
    try:
        with pytest.raises(UnknownName):
            await renewals.renew("nobody.example.com")
        ca.failing = True
        with pytest.raises(OrderFailed, match="the CA is down"):
            await renewals.renew("shop.example.com")
    finally:
        platform.stop()
    off = CertificateManager(cartridge, CertificateMap(fallback_options(DOMAIN, clock.seconds())), DOMAIN, clock,
                             None, bus=platform.bus)  # --no-acme: served, never ordered
    with pytest.raises(NotOrderable):
        await Renewals(off, platform.bus, clock).renew("example.com")


class SlowCA(FakeCA):
    """Issues when the test says so: an order stays under way meanwhile."""

    def __init__(self, clock) -> None:
        super().__init__(clock)
        self.waiting: list = []

    def issue(self, name: str):
        done = Deferred()
        self.waiting.append((name, done))
        return done

    def finish(self) -> None:
        for name, done in self.waiting:
            FakeCA.issue(self, name).chainDeferred(done)
        self.waiting = []


@pytest_twisted.ensureDeferred
async def test_a_renewal_joins_an_order_under_way(cartridge, clock):
    ca = SlowCA(clock)
    platform = Platform(cartridge, clock, ca)
    leader = platform.managers["leader"]
    asked = []
    ordering = leader.renew
    leader.renew = lambda name: (asked.append(name), ordering(name))[1]  # seen: Renewals listens, then asks
    platform.duties["leader"].startService()  # the start-up check's orders wait at the CA
    renewals = platform.renewals["leader"]
    first, second = renewals.renew("admin.example.com"), renewals.renew("admin.example.com")
    for _ in range(500):
        if len(asked) == 2:
            break
        await deferLater(reactor, 0.01, lambda: None)
    assert not first.called and not second.called
    ca.finish()
    entries = [await first, await second]
    platform.stop()
    assert ca.orders.count("admin.example.com") == 1
    assert entries[0] == entries[1] and entries[0].status == "valid"


@pytest_twisted.ensureDeferred
async def test_without_a_leader_the_renewal_answers_that_the_order_goes_on(cartridge, clock):
    platform = Platform(cartridge, clock, FakeCA(clock))
    platform.duties["follower"].startService()  # the leader is not running
    await cartridge.write(deploy_site, "shop")
    renewing = platform.renewals["follower"].renew("example.com")
    for _ in range(500):  # the wait starts once the names are read (off the reactor thread)
        clock.advance(RENEW_WAIT)
        if renewing.called:
            break
        await deferLater(reactor, 0.01, lambda: None)
    with pytest.raises(StillOrdering):
        await renewing
    platform.stop()


@pytest_twisted.ensureDeferred
async def test_the_api_renews_and_answers_unknown_names_and_ca_errors_in_the_envelope(served):
    manager = served.services.getServiceNamed(SERVICE_NAME)
    now = Clock()
    now.advance(reactor.seconds())
    ca = manager.issuer = FakeCA(now)  # the CA is the only fake
    auth = {"Authorization": f"Bearer {served.admin_token}"}
    await manager.order_now("admin.example.com")
    before = serial(manager, "admin.example.com")

    renewed = await served.request("POST", "/api/certificates/admin.example.com/renew", headers=auth, host=LOOPBACK)
    assert renewed.code == 200, renewed.body
    assert renewed.json()["data"]["name"] == "admin.example.com"
    assert renewed.json()["data"]["status"] == "valid"
    assert serial(manager, "admin.example.com") != before

    unknown = await served.request("POST", "/api/certificates/nobody.example.com/renew", headers=auth, host=LOOPBACK)
    assert_error(unknown, 404, "CERTIFICATE_NOT_FOUND")
    ca.failing = True
    failed = await served.request("POST", "/api/certificates/admin.example.com/renew", headers=auth, host=LOOPBACK)
    error = assert_error(failed, 502, "ORDER_FAILED")
    assert "the CA is down" in error["message"] and "the CA is down" in error["details"]["error"]
    local = await served.request("POST", "/api/certificates/localhost/renew", headers=auth, host=LOOPBACK)
    assert_error(local, 404, "CERTIFICATE_NOT_FOUND")
    anonymous = await served.request("POST", "/api/certificates/admin.example.com/renew", host=LOOPBACK)
    assert anonymous.code == 401
