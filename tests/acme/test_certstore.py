"""Certificates, schedules and the ACME account in the cartridge (fazt.acme.certstore, fazt.store.certificates)."""

from __future__ import annotations

import pytest
import pytest_twisted
from twisted.internet.task import Clock
from zope.interface.verify import verifyObject

from fazt.acme import pem
from fazt.acme.certstore import SQLiteCertificateStore
from fazt.acme.interfaces import ICertificateStore, IResponder
from fazt.acme.responder import HTTP01Responder
from fazt.store.certificates import Schedule, all_schedules, load_account, save_account, save_schedule, site_names

from acme_testing import deploy_site

NOW = 1_800_000_000.0


def clock_at(now: float) -> Clock:
    clock = Clock()
    clock.advance(now)
    return clock


def make_pem(name: str) -> tuple[str, str]:
    key = pem.new_key_pem()
    return pem.self_signed([name], key, NOW), key


def test_the_interfaces_are_provided():
    verifyObject(ICertificateStore, SQLiteCertificateStore(store=None, clock=Clock()))
    verifyObject(IResponder, HTTP01Responder())


@pytest_twisted.ensureDeferred
async def test_store_get_replace_and_as_dict(cartridge):
    certs = SQLiteCertificateStore(cartridge, clock=clock_at(NOW))
    with pytest.raises(KeyError):
        await certs.get("blog.example.com")
    first = make_pem("blog.example.com")
    await certs.store("blog.example.com", *first)
    got = await certs.get("blog.example.com")
    assert (got.cert_pem, got.key_pem) == first
    assert got.not_after == pem.facts(first[0]).not_after
    assert got.issuer == pem.SELF_SIGNED_ISSUER
    second = make_pem("blog.example.com")
    await certs.store("blog.example.com", *second)
    await certs.store("example.com", *make_pem("example.com"))
    everything = await certs.as_dict()
    assert sorted(everything) == ["blog.example.com", "example.com"]
    assert everything["blog.example.com"].cert_pem == second[0]


@pytest_twisted.ensureDeferred
async def test_a_failure_is_noted_on_the_certificate_row_too(cartridge):
    certs = SQLiteCertificateStore(cartridge, clock=clock_at(NOW))
    await certs.store("example.com", *make_pem("example.com"))
    await cartridge.write(save_schedule, Schedule("example.com", 2, NOW + 600, None, NOW, "boom"))
    rows = await cartridge.read(lambda conn: conn.execute(
        "SELECT last_attempt, last_error FROM certificates").fetchall())
    assert rows == [(NOW, "boom")]
    assert (await cartridge.read(all_schedules))["example.com"].failures == 2


@pytest_twisted.ensureDeferred
async def test_the_account_is_kept_per_directory(cartridge):
    assert await cartridge.read(load_account, "https://ca.test/dir") is None
    await cartridge.write(save_account, "https://ca.test/dir", "KEY", '{"uri": "x"}', NOW)
    assert await cartridge.read(load_account, "https://ca.test/dir") == ("KEY", '{"uri": "x"}')
    assert await cartridge.read(load_account, "https://other.test/dir") is None


@pytest_twisted.ensureDeferred
async def test_site_names_are_the_deployed_sites(cartridge):
    assert await cartridge.read(site_names) == ["404", "root"]
    await cartridge.write(deploy_site, "blog")
    assert await cartridge.read(site_names) == ["404", "blog", "root"]
