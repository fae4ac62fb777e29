"""Certificates of names nothing answers on any more are deleted and served nowhere (fazt.acme.retire).

Two certificate maps on one bus and one cartridge stand for two processes (SPEC §19): the leader's
retirement deletes, and both stop serving. The CA is the only fake (real certificates).
"""

from __future__ import annotations

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.task import Clock, deferLater

from fazt.acme.policy import judged_by_domain
from fazt.acme.retire import Retirement
from fazt.acme.service import CertificateManager
from fazt.acme.sni import CertificateMap, fallback_options
from fazt.base.bus import CERTIFICATE_REMOVED, RESYNC, SITE_CHANGED, LocalBus
from fazt.base.customhosts import DOMAINS_CHANGED
from fazt.store.certificates import all_certificates, all_schedules
from fazt.store.domains import add_domain, remove_domain
from fazt.store.sites import delete_site

from acme_testing import DAY, START, FakeCA, deploy_site

DOMAIN = "example.com"
BASE = {"example.com", "admin.example.com", "root.example.com", "404.example.com"}


@pytest.fixture
def clock():
    clock = Clock()
    clock.advance(START)
    return clock


def new_map(clock) -> CertificateMap:
    return CertificateMap(fallback_options(DOMAIN, clock.seconds()))


async def until(predicate) -> None:
    for _ in range(500):
        if predicate():
            return
        await deferLater(reactor, 0.01, lambda: None)
    raise AssertionError("never happened")


class Platform:
    """A leader (its manager orders, its retirement runs) and a follower that only serves."""

    def __init__(self, store, clock, ca) -> None:
        self.bus = LocalBus()
        self.removed: list[dict] = []
        self.bus.subscribe(CERTIFICATE_REMOVED, self.removed.append)
        self.store, self.clock = store, clock
        self.leader = CertificateManager(store, new_map(clock), DOMAIN, clock, ca, public_ca=False,
                                         interval=300, bus=self.bus)
        self.follower = CertificateManager(store, new_map(clock), DOMAIN, clock, None, bus=self.bus)
        self.retirement = Retirement(store, self.leader.certificates, DOMAIN, clock, self.bus, 300)
        # The follower's retirement is subscribed too but does not run (it does not lead).
        Retirement(store, self.follower.certificates, DOMAIN, clock, self.bus, 300)

    async def start(self) -> None:
        await self.leader.check()
        self.follower.certificates.load(await self.store.read(all_certificates))
        self.retirement.startService()  # retires at once: nothing yet

    async def stored(self) -> set:
        return {cert.name for cert in await self.store.read(all_certificates)}

    async def scheduled(self) -> set:
        return set(await self.store.read(all_schedules))

    def served(self) -> tuple[set, set]:
        return set(self.leader.certificates.names()), set(self.follower.certificates.names())


@pytest_twisted.ensureDeferred
async def test_a_deleted_site_loses_its_certificate_everywhere_and_it_is_never_renewed(cartridge, clock):
    ca = FakeCA(clock)
    platform = Platform(cartridge, clock, ca)
    for site in ("shop", "blog"):
        await cartridge.write(deploy_site, site)
    await platform.start()
    assert {"shop.example.com", "blog.example.com"} <= await platform.stored()
    assert platform.removed == []

    await cartridge.write(delete_site, "shop")  # as the sites area does, then it announces
    platform.bus.publish(SITE_CHANGED, {"site": "shop", "change": "deleted"})
    await until(lambda: platform.removed)  # deleted off the reactor thread

    assert platform.removed == [{"names": ["shop.example.com"]}]  # once: only the leader deletes
    kept = BASE | {"blog.example.com"}
    assert await platform.stored() == kept and await platform.scheduled() == kept
    assert platform.served() == (kept, kept)
    # A year on, every kept name is renewed; the deleted site's is not.
    ca.orders.clear()
    clock.advance(365 * DAY)
    await platform.leader.check()
    assert sorted(ca.orders) == sorted(kept)


@pytest_twisted.ensureDeferred
async def test_a_removed_custom_domain_loses_its_certificates_the_others_keep_theirs(cartridge, clock):
    platform = Platform(cartridge, clock, FakeCA(clock))
    await cartridge.write(deploy_site, "shop")
    await cartridge.write(add_domain, "shop", "shop.org", "redirect", int(START))
    await cartridge.write(add_domain, "shop", "other.org", "none", int(START))
    await platform.start()
    for name in ("shop.org", "www.shop.org", "other.org"):  # ordered on demand at their first handshake
        await platform.leader.order_now(name)
    platform.follower.certificates.load(await cartridge.read(all_certificates))

    await cartridge.write(remove_domain, "shop", "shop.org")
    platform.bus.publish(DOMAINS_CHANGED, {"name": "shop.org", "change": "removed"})
    await until(lambda: platform.removed)

    assert platform.removed == [{"names": ["shop.org", "www.shop.org"]}]
    kept = BASE | {"shop.example.com", "other.org"}
    assert await platform.stored() == kept and platform.served() == (kept, kept)


@pytest_twisted.ensureDeferred
async def test_a_preview_keeps_its_certificate_while_its_deployment_exists(cartridge, clock):
    """What changes without a message (a deployment pruned) is found by the periodic run."""
    platform = Platform(cartridge, clock, FakeCA(clock))
    await cartridge.write(deploy_site, "shop")
    await cartridge.write(deploy_site, "shop")
    ids = [row[0] for row in await cartridge.read(
        lambda conn: conn.execute("SELECT id FROM deployments WHERE site_name = 'shop' ORDER BY id").fetchall())]
    await platform.start()
    previews = [f"d{i}--shop.example.com" for i in ids]
    for name in previews:
        await platform.leader.order_now(name)
    clock.advance(300)  # the periodic run: every preview still exists
    assert platform.removed == [] and set(previews) <= await platform.stored()

    await cartridge.write(lambda conn: conn.execute("DELETE FROM deployments WHERE id = ?", (ids[0],)))
    clock.advance(300)
    await until(lambda: platform.removed)
    assert platform.removed == [{"names": [previews[0]]}]
    assert previews[1] in await platform.stored() and previews[0] not in platform.leader.certificates


@pytest_twisted.ensureDeferred
async def test_after_a_resync_a_certificate_deleted_meanwhile_is_no_longer_served(cartridge, clock):
    """A node whose bus lost the announcement (a PostgreSQL listener that reconnected) drops what
    is no longer stored when it resyncs."""
    platform = Platform(cartridge, clock, FakeCA(clock))
    await cartridge.write(deploy_site, "shop")
    await platform.start()
    elsewhere = LocalBus()  # the node that missed the message
    node = CertificateManager(cartridge, new_map(clock), DOMAIN, clock, None, bus=elsewhere)
    node.certificates.load(await cartridge.read(all_certificates))
    await cartridge.write(delete_site, "shop")
    platform.bus.publish(SITE_CHANGED, {"site": "shop", "change": "deleted"})
    await until(lambda: platform.removed)
    assert "shop.example.com" in node.certificates

    elsewhere.publish(RESYNC, {"reason": "test"})
    await until(lambda: "shop.example.com" not in node.certificates)
    assert set(node.certificates.names()) == BASE


@pytest_twisted.ensureDeferred
async def test_a_site_deployed_again_before_the_retirement_keeps_its_certificate(cartridge, clock):
    platform = Platform(cartridge, clock, FakeCA(clock))
    await cartridge.write(deploy_site, "shop")
    await platform.start()
    await cartridge.write(delete_site, "shop")
    await cartridge.write(deploy_site, "shop")
    assert await platform.retirement.retire() == []
    assert "shop.example.com" in await platform.stored()


def test_only_the_domains_own_names_and_removed_custom_names_are_judged():
    assert judged_by_domain("example.com", DOMAIN) and judged_by_domain("Shop.Example.com.", DOMAIN)
    assert judged_by_domain("d12--shop.example.com", DOMAIN)
    for name in ("blog.sub.example.com", "example.org", "shop.example.org", "notexample.com", ".example.com"):
        assert not judged_by_domain(name, DOMAIN), name


@pytest_twisted.ensureDeferred
async def test_a_cartridge_started_with_a_mistyped_domain_keeps_the_real_domains_certificates(cartridge, clock):
    platform = Platform(cartridge, clock, FakeCA(clock))
    await cartridge.write(deploy_site, "shop")
    await platform.start()
    real = await platform.stored()
    assert "shop.example.com" in real

    # The operator starts the same cartridge with --domain exmaple.com by mistake: nothing of
    # example.com is needed by that domain's rules, yet none of it is that domain's to delete.
    typo = Retirement(cartridge, new_map(clock), "exmaple.com", clock, None, 300)
    assert await typo.retire() == []
    assert await platform.stored() == real
