"""The certificate service on a Clock: first orders, renewal, back-off, ARI, restarts (fazt.acme.service).

The cartridge is a real SQLite file behind the real Store; only the CA is a fake (a real CA key
signing real certificates), and time is a L{Clock} driving the real L{TimerService}.
"""

from __future__ import annotations

import pytest
import pytest_twisted
from twisted.internet.task import Clock

from fazt.acme.service import CertificateManager
from fazt.acme.sni import CertificateMap, fallback_options
from fazt.store.certificates import all_certificates, all_schedules

from acme_testing import CA_NAME, DAY, START, FakeCA, deploy_site

DOMAIN = "example.com"
BASE = ["example.com", "admin.example.com", "root.example.com", "404.example.com"]


def make_manager(store, clock, ca, domain=DOMAIN, certificates=None):
    certificates = certificates or CertificateMap(fallback_options(domain, clock.seconds()))
    return CertificateManager(store, certificates, domain, clock, ca, public_ca=False, interval=300)


@pytest.fixture
def clock():
    clock = Clock()
    clock.advance(START)
    return clock


async def tick(manager, clock, seconds):
    """Let C{seconds} pass on the clock and wait for the timer's check, if it ran."""
    before = manager.current_check
    clock.advance(seconds)
    if manager.current_check is not before:
        return await manager.current_check
    return None


async def certificates_in(store):
    return {c.name: c for c in await store.read(all_certificates)}


@pytest_twisted.ensureDeferred
async def test_first_start_orders_the_domain_its_hosts_and_every_site(cartridge, clock):
    await cartridge.write(deploy_site, "blog")
    ca = FakeCA(clock)
    manager = make_manager(cartridge, clock, ca)
    manager.startService()
    try:
        ordered = await manager.current_check
    finally:
        await manager.stopService()
    assert sorted(ordered) == sorted(ca.orders) == sorted(BASE + ["blog.example.com"])
    stored = await certificates_in(cartridge)
    assert sorted(stored) == sorted(ca.orders)
    assert {c.issuer for c in stored.values()} == {CA_NAME}
    for name in ca.orders:
        assert manager.certificates[name.encode()] is not manager.certificates.fallback
    statuses = await manager.statuses()
    assert {s.status for s in statuses} == {"valid"}
    assert all(s.last_error is None and s.not_after == START + 90 * DAY for s in statuses)


@pytest_twisted.ensureDeferred
async def test_nothing_is_ordered_again_until_renewal_is_due(cartridge, clock):
    ca = FakeCA(clock)
    manager = make_manager(cartridge, clock, ca)
    manager.startService()
    await manager.current_check
    assert len(ca.orders) == 4
    for _ in range(3):
        assert await tick(manager, clock, 300) == []
    assert await tick(manager, clock, 59 * DAY) == []
    assert len(ca.orders) == 4
    await manager.stopService()


@pytest_twisted.ensureDeferred
async def test_a_certificate_near_expiry_is_renewed(cartridge, clock):
    ca = FakeCA(clock)
    manager = make_manager(cartridge, clock, ca)
    manager.startService()
    await manager.current_check
    old = await certificates_in(cartridge)
    old_options = manager.certificates["admin.example.com"]
    # 90-day certificates are renewed 30 days before they expire.
    assert await tick(manager, clock, 60 * DAY - 300) == []
    renewed = await tick(manager, clock, 300)
    assert sorted(renewed) == sorted(BASE)
    new = await certificates_in(cartridge)
    for name in BASE:
        assert new[name].cert_pem != old[name].cert_pem
        assert new[name].not_after == old[name].not_after + 60 * DAY
    assert manager.certificates["admin.example.com"] is not old_options
    await manager.stopService()


@pytest_twisted.ensureDeferred
async def test_a_failing_ca_keeps_the_old_certificate_and_backs_off(cartridge, clock):
    ca = FakeCA(clock)
    manager = make_manager(cartridge, clock, ca)
    manager.startService()
    await manager.current_check
    old = await certificates_in(cartridge)
    serving = {name: manager.certificates[name] for name in BASE}

    ca.failing = True
    failed_at = START + 60 * DAY
    assert sorted(await tick(manager, clock, failed_at - clock.seconds())) == sorted(BASE)
    schedules = await cartridge.read(all_schedules)
    for name in BASE:
        assert schedules[name].failures == 1
        assert schedules[name].next_attempt == failed_at + 300
        assert "the CA is down" in schedules[name].last_error
    # The certificates in service and in the cartridge are untouched.
    assert await certificates_in(cartridge) == old
    assert {name: manager.certificates[name] for name in BASE} == serving
    assert {s.status for s in await manager.statuses()} == {"failed"}

    # Retries come after 5, then 10, then 20 minutes: the timer ticks every 5 minutes between.
    orders = len(ca.orders)
    assert len(await tick(manager, clock, 300)) == 4                    # +5 min: second failure
    assert (await cartridge.read(all_schedules))["example.com"].next_attempt == failed_at + 300 + 600
    assert await tick(manager, clock, 300) == []                        # +10 min: waiting
    assert len(await tick(manager, clock, 300)) == 4                    # +15 min: third failure
    assert (await cartridge.read(all_schedules))["example.com"].failures == 3
    for _ in range(3):
        assert await tick(manager, clock, 300) == []                    # waiting out 20 minutes
    assert len(ca.orders) == orders + 8

    ca.failing = False
    assert len(await tick(manager, clock, 300)) == 4
    schedules = await cartridge.read(all_schedules)
    assert {(s.failures, s.last_error) for s in schedules.values()} == {(0, None)}
    new = await certificates_in(cartridge)
    assert all(new[name].cert_pem != old[name].cert_pem for name in BASE)
    assert {s.status for s in await manager.statuses()} == {"valid"}
    await manager.stopService()


@pytest_twisted.ensureDeferred
async def test_a_failed_first_order_leaves_the_fallback_in_service(cartridge, clock):
    ca = FakeCA(clock)
    ca.failing = True
    manager = make_manager(cartridge, clock, ca)
    await manager.check()
    assert await certificates_in(cartridge) == {}
    assert manager.certificates["example.com"] is manager.certificates.fallback
    statuses = {s.name: s for s in await manager.statuses()}
    assert statuses["example.com"].status == "failed"
    assert statuses["example.com"].next_attempt == START + 300


@pytest_twisted.ensureDeferred
async def test_an_unknown_sni_name_gets_the_fallback_and_is_never_ordered(cartridge, clock):
    ca = FakeCA(clock)
    manager = make_manager(cartridge, clock, ca)
    await manager.check()
    for asked in (b"evil.example.net", b"sub.blog.example.com", b"nosuchsite.example.com", None, b""):
        assert manager.certificates[asked] is manager.certificates.fallback
    await manager.check()
    assert sorted(ca.orders) == sorted(BASE)


@pytest_twisted.ensureDeferred
async def test_a_site_is_ordered_on_its_first_deploy_only(cartridge, clock):
    ca = FakeCA(clock)
    manager = make_manager(cartridge, clock, ca)
    await manager.check()
    await cartridge.write(deploy_site, "shop")
    first = manager.site_deployed("shop")
    second = manager.site_deployed("shop")  # a second deploy while the first is being settled
    await first
    await second
    assert ca.orders.count("shop.example.com") == 1
    assert "shop.example.com" in manager.certificates
    await manager.site_deployed("shop")
    assert await manager.check() == []
    assert ca.orders.count("shop.example.com") == 1


@pytest_twisted.ensureDeferred
async def test_a_localhost_domain_orders_nothing(cartridge, clock):
    ca = FakeCA(clock)
    manager = make_manager(cartridge, clock, ca, domain="localhost")
    assert await manager.check() == []
    manager.site_deployed("blog")
    assert ca.orders == []
    assert {s.status for s in await manager.statuses()} == {"self-signed"}


@pytest_twisted.ensureDeferred
async def test_ari_moves_renewal_into_the_suggested_window(cartridge, clock):
    ca = FakeCA(clock)
    manager = make_manager(cartridge, clock, ca)
    await manager.check()
    window = START + 2 * DAY
    ca.ari = lambda cert_pem: (window, clock.seconds() + DAY)
    clock.advance(12 * 3600)
    assert await manager.check() == []   # asked; the window is not open yet
    assert ca.ari_calls == 4
    clock.advance(DAY)
    assert await manager.check() == []
    assert ca.ari_calls == 8              # asked again when the CA said to
    clock.advance(window - clock.seconds())
    assert sorted(await manager.check()) == sorted(BASE)


@pytest_twisted.ensureDeferred
async def test_without_ari_the_ca_is_asked_once(cartridge, clock):
    ca = FakeCA(clock)
    manager = make_manager(cartridge, clock, ca)
    await manager.check()
    for _ in range(4):
        clock.advance(DAY)
        assert await manager.check() == []
    assert ca.ari_calls == 4              # once per certificate, then never again


@pytest_twisted.ensureDeferred
async def test_a_restart_serves_stored_certificates_without_ordering(cartridge, clock):
    ca = FakeCA(clock)
    await make_manager(cartridge, clock, ca).check()
    stored = await certificates_in(cartridge)

    clock.advance(3600)
    again = FakeCA(clock)
    certificates = CertificateMap(fallback_options(DOMAIN, clock.seconds()))
    certificates.load(stored.values())
    restarted = make_manager(cartridge, clock, again, certificates=certificates)
    restarted.startService()
    assert await restarted.current_check == []
    await restarted.stopService()
    assert again.orders == [] and again.ari_calls == 0
    assert all(certificates[name] is not certificates.fallback for name in BASE)


@pytest_twisted.ensureDeferred
async def test_an_unreadable_stored_certificate_is_replaced(cartridge, clock):
    from fazt.store.certificates import StoredCertificate, save_certificate

    await cartridge.write(save_certificate, StoredCertificate("example.com", "garbage", "garbage", START + DAY, "?"),
                          START)
    ca = FakeCA(clock)
    manager = make_manager(cartridge, clock, ca)
    assert sorted(await manager.check()) == sorted(BASE)
    assert (await certificates_in(cartridge))["example.com"].issuer == CA_NAME
