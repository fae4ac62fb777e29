"""Certificates on demand for custom domains (fazt.acme.ondemand) on a Clock, with the real manager,
the real certificate map and a real cartridge; only the CA is a fake (acme_testing.FakeCA).

The handshake is stood for by the SNI map's lookup, which is what a handshake calls."""

from __future__ import annotations

import pytest
import pytest_twisted
from twisted.internet.task import Clock

from fazt.acme.ondemand import OnDemand
from fazt.acme.service import CertificateManager
from fazt.acme.sni import CertificateMap, fallback_options
from fazt.base.customhosts import CustomHosts
from fazt.store.certificates import load_schedules

from acme_testing import DAY, START, FakeCA

DOMAIN = "example.com"


@pytest.fixture
def setup(cartridge):
    clock = Clock()
    clock.advance(START)
    ca = FakeCA(clock)
    certificates = CertificateMap(fallback_options(DOMAIN, clock.seconds()))
    hosts = CustomHosts()
    hosts.replace([("shop.org", "shop", "serve")] + [(f"n{i}.org", "shop", "none") for i in range(5)])
    manager = CertificateManager(cartridge, certificates, DOMAIN, clock, ca, extra_names=hosts.names)
    certificates.on_missing = OnDemand(manager, hosts.registered, clock, per_minute=3)
    return clock, ca, certificates, certificates.on_missing, manager


async def settle(clock, on_demand, *names):
    """Start the orders the lookups asked for (callLater(0)) and wait until C{names}' are done."""
    clock.advance(0)
    for name in names:
        await on_demand.when_settled(name)


@pytest_twisted.ensureDeferred
async def test_a_registered_name_is_ordered_at_its_first_lookup_and_served_after(setup):
    clock, ca, certificates, on_demand, _ = setup
    assert certificates["shop.org"] is certificates.fallback  # the first handshake: the fallback, at once
    assert certificates["shop.org"] is certificates.fallback  # a second one before the order starts: no second order
    await settle(clock, on_demand, "shop.org")
    assert ca.orders == ["shop.org"]
    assert certificates["shop.org"] is not certificates.fallback
    assert certificates["www.shop.org"] is certificates.fallback  # www. is served: ordered at its own handshake
    await settle(clock, on_demand, "www.shop.org")
    assert ca.orders == ["shop.org", "www.shop.org"]


@pytest_twisted.ensureDeferred
async def test_unregistered_names_order_nothing(setup):
    clock, ca, certificates, on_demand, _ = setup
    for name in ("evil.org", "www.n0.org", "blog.example.com", "", "localhost"):
        assert certificates[name] is certificates.fallback
    clock.advance(60)
    assert ca.orders == []


@pytest_twisted.ensureDeferred
async def test_orders_are_limited_per_minute_in_all(setup):
    clock, ca, certificates, on_demand, _ = setup
    for i in range(5):
        certificates[f"n{i}.org"]
    await settle(clock, on_demand, "n0.org", "n1.org", "n2.org")
    assert sorted(ca.orders) == ["n0.org", "n1.org", "n2.org"]  # per_minute=3: the others wait (orders run at once)
    clock.advance(20)  # a token back every 20 s
    certificates["n3.org"]
    certificates["n4.org"]
    await settle(clock, on_demand, "n3.org", "n4.org")
    assert sorted(ca.orders) == ["n0.org", "n1.org", "n2.org", "n3.org"]


@pytest_twisted.ensureDeferred
async def test_a_failed_name_backs_off_before_another_order(setup, cartridge):
    clock, ca, certificates, on_demand, _ = setup
    ca.failing = True
    certificates["shop.org"]
    await settle(clock, on_demand, "shop.org")  # settles after the failed order is recorded
    schedule = (await cartridge.read(load_schedules, ["shop.org"]))["shop.org"]
    assert schedule.failures == 1 and schedule.next_attempt > clock.seconds()
    assert ca.orders == ["shop.org"]
    clock.advance(60)  # the rate limit allows it again, the back-off does not
    certificates["shop.org"]
    await settle(clock, on_demand, "shop.org")
    assert ca.orders == ["shop.org"]
    clock.advance(schedule.next_attempt - clock.seconds())
    ca.failing = False
    certificates["shop.org"]
    await settle(clock, on_demand, "shop.org")
    assert ca.orders[-1] == "shop.org" and certificates["shop.org"] is not certificates.fallback


@pytest_twisted.ensureDeferred
async def test_the_periodic_check_renews_custom_domains_but_never_orders_them_first(setup):
    clock, ca, certificates, on_demand, _ = setup
    manager = on_demand._manager if False else None  # (the manager is reached through the map's hook below)
    del manager
    certificates["shop.org"]
    await settle(clock, on_demand, "shop.org")
    assert ca.orders == ["shop.org"]
