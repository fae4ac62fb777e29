"""The certificate service on the event bus: a switched site is ordered, a stored certificate is served.

Two managers on one bus and one cartridge stand for two processes of SPEC §19: each has its own
L{CertificateMap}, and the one that did not order learns of the certificate from the bus.
"""

from __future__ import annotations

import json

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock, deferLater

from fazt.acme.service import SERVICE_NAME, CertificateManager
from fazt.app.leaderduties import LeaderDuties
from fazt.acme.sni import CertificateMap, fallback_options
from fazt.base.bus import CERTIFICATE_STORED, RESYNC, SITE_CHANGED, LocalBus

from acme_testing import START, FakeCA, deploy_site
from xproc_testing import Leadership

DOMAIN = "example.com"


@pytest.fixture
def clock():
    clock = Clock()
    clock.advance(START)
    return clock


def manager_on(bus, store, clock, ca):
    certificates = CertificateMap(fallback_options(DOMAIN, clock.seconds()))
    return CertificateManager(store, certificates, DOMAIN, clock, ca, public_ca=False, interval=300, bus=bus)


def next_message(bus, topic) -> Deferred:
    """A Deferred firing with the next message on C{topic} (checked to be JSON-able)."""
    arrived = Deferred()

    def once(message):
        stop()
        arrived.callback(json.loads(json.dumps(message)))
    stop = bus.subscribe(topic, once)
    return arrived


@pytest_twisted.ensureDeferred
async def test_a_switch_on_the_bus_orders_the_site_and_its_certificate_is_announced(cartridge, clock):
    bus = LocalBus()
    ca = FakeCA(clock)
    manager = manager_on(bus, cartridge, clock, ca)
    await cartridge.write(deploy_site, "shop")
    stored = next_message(bus, CERTIFICATE_STORED)
    bus.publish(SITE_CHANGED, {"site": "shop", "change": "switch"})
    message = await stored
    assert ca.orders == ["shop.example.com"] and "shop.example.com" in manager.certificates
    assert message == {"name": "shop.example.com",
                       "not_after": manager.certificates.not_after("shop.example.com")}


@pytest_twisted.ensureDeferred
async def test_other_changes_order_nothing(cartridge, clock):
    bus = LocalBus()
    ca = FakeCA(clock)
    manager_on(bus, cartridge, clock, ca)
    await cartridge.write(deploy_site, "shop")
    bus.publish(SITE_CHANGED, {"site": "shop", "change": "deleted"})
    assert ca.orders == []


@pytest_twisted.ensureDeferred
async def test_a_certificate_stored_by_another_process_is_served(cartridge, clock):
    bus = LocalBus()
    ordering = manager_on(bus, cartridge, clock, FakeCA(clock))
    other = manager_on(bus, cartridge, clock, None)  # orders nothing: it only serves
    await cartridge.write(deploy_site, "shop")
    stored = next_message(bus, CERTIFICATE_STORED)
    ordering.site_deployed("shop")
    await stored
    for _ in range(500):  # the other process reads it from the cartridge, off the reactor thread
        if "shop.example.com" in other.certificates:
            break
        await deferLater(reactor, 0.01, lambda: None)
    assert other.certificates.not_after("shop.example.com") == ordering.certificates.not_after("shop.example.com")


@pytest_twisted.ensureDeferred
async def test_after_a_resync_a_certificate_whose_announcement_was_missed_is_served(cartridge, clock):
    """A node's PostgreSQL bus that listened again after a gap publishes RESYNC: certificates stored
    meanwhile (their announcement lost) are served from the cartridge, without a restart."""
    ordering, other = LocalBus(), LocalBus()  # two buses: the announcement never reaches the other
    ordering_manager = manager_on(ordering, cartridge, clock, FakeCA(clock))
    other_manager = manager_on(other, cartridge, clock, None)
    await cartridge.write(deploy_site, "shop")
    await ordering_manager.site_deployed("shop")
    assert "shop.example.com" not in other_manager.certificates
    other.publish(RESYNC, {})
    for _ in range(500):  # read from the cartridge off the reactor thread
        if "shop.example.com" in other_manager.certificates:
            break
        await deferLater(reactor, 0.01, lambda: None)
    assert other_manager.certificates.not_after("shop.example.com") == \
        ordering_manager.certificates.not_after("shop.example.com")


@pytest_twisted.ensureDeferred
async def test_only_the_leader_orders(cartridge, clock):
    """Managers with their orders among the leader's duties (fazt.app.leaderduties): a switch heard
    by both is ordered by the leading one only; each timer is a duty, run only by the leader."""
    bus = LocalBus()
    ca = FakeCA(clock)
    duties = {role: LeaderDuties(Leadership(role == "leader")) for role in ("leader", "follower")}
    managers = {role: CertificateManager(cartridge, CertificateMap(fallback_options(DOMAIN, clock.seconds())), DOMAIN,
                                         clock, ca, public_ca=False, interval=300, bus=bus, duties=duties[role])
                for role in duties}
    assert [len(list(d)) for d in duties.values()] == [1, 1]  # each timer is a duty, not the manager's child
    for role in duties:
        duties[role].startService()
    assert managers["follower"].current_check is None  # the follower's timer never ran
    await managers["leader"].current_check  # the leader's ordered the base names at start
    await cartridge.write(deploy_site, "shop")
    ca.orders.clear()
    stored = next_message(bus, CERTIFICATE_STORED)
    bus.publish(SITE_CHANGED, {"site": "shop", "change": "switch"})
    await stored
    assert ca.orders == ["shop.example.com"]  # once: the follower heard the switch too
    for role in duties:
        duties[role].stopService()


@pytest_twisted.ensureDeferred
async def test_a_certificate_wanted_at_a_follower_is_ordered_by_the_leader(cartridge, clock):
    """An on-demand handshake may reach any process (fazt.acme.ondemand calls want()): a follower
    asks the leader over the bus instead of ordering itself, and the stored certificate is announced."""
    bus = LocalBus()
    leader_ca, follower_ca = FakeCA(clock), FakeCA(clock)
    duties = {role: LeaderDuties(Leadership(role == "leader")) for role in ("leader", "follower")}
    managers = {role: CertificateManager(cartridge, CertificateMap(fallback_options(DOMAIN, clock.seconds())), DOMAIN,
                                         clock, ca, public_ca=False, interval=300, bus=bus, duties=duties[role])
                for role, ca in (("leader", leader_ca), ("follower", follower_ca))}
    for role in duties:
        duties[role].startService()
    await managers["leader"].current_check
    await cartridge.write(deploy_site, "shop")
    leader_ca.orders.clear()
    stored = next_message(bus, CERTIFICATE_STORED)
    await managers["follower"].want("shop.example.com")
    assert (await stored)["name"] == "shop.example.com"
    assert leader_ca.orders == ["shop.example.com"] and follower_ca.orders == []
    for role in duties:
        duties[role].stopService()


@pytest_twisted.ensureDeferred
async def test_a_deploy_through_the_wiring_orders_the_site(served):
    """A deploy reaches the certificate manager (over the bus, as wired by fazt.app.tap)."""
    manager = served.services.getServiceNamed(SERVICE_NAME)
    ca = manager.issuer = FakeCA(Clock())  # the CA is the only fake
    assert (await served.deploy("shop", {"index.html": "<h1>shop</h1>"})).code == 200
    for _ in range(500):  # the order runs after the deploy's answer, off the reactor thread
        if "shop.example.com" in manager.certificates:
            break
        await deferLater(reactor, 0.01, lambda: None)
    assert "shop.example.com" in ca.orders and "shop.example.com" in manager.certificates
