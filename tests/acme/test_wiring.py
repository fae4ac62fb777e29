"""How C{twistd fazt} puts automatic HTTPS together (fazt.acme.wiring through fazt.app.tap.makeService).

Nothing listens: the service tree is built on a memory reactor and inspected.
"""

from __future__ import annotations

import pytest
from twisted.application.internet import StreamServerEndpointService
from twisted.internet.testing import MemoryReactorClock
from twisted.protocols.tls import TLSMemoryBIOFactory

from fazt.acme import pem
from fazt.acme.responder import HTTP01Responder
from fazt.acme.service import CertificateManager
from fazt.app.options import Options
from fazt.app.tap import makeService
from fazt.web.root import FaztSite
from fazt_testing import fresh_cartridge


def service_tree(tmp_path, *argv):
    db = str(tmp_path / "data.db")
    fresh_cartridge(db)
    options = Options()
    options.parseOptions(["--domain", "example.com", "--db", db, *argv])
    top = makeService(options, reactor=MemoryReactorClock())
    return top, [s.factory for s in top if isinstance(s, StreamServerEndpointService)]


def own_certificate(tmp_path) -> str:
    """An C{ssl:} endpoint with a certificate and key written to files."""
    key = pem.new_key_pem()
    (tmp_path / "k.pem").write_text(key)
    (tmp_path / "c.pem").write_text(pem.self_signed(["example.com"], key, 1_800_000_000.0))
    return f"ssl:0:privateKey={tmp_path / 'k.pem'}:certKey={tmp_path / 'c.pem'}"


def root_of(top):
    site = next(s.factory for s in top if isinstance(s, StreamServerEndpointService)
                and isinstance(s.factory, FaztSite))
    return site.resource


def test_tcp_https_is_tls_with_sni_and_ssl_https_is_the_site_itself(tmp_path):
    top, factories = service_tree(tmp_path, "--http", "tcp:0", "--https", "tcp:0",
                                  "--https", own_certificate(tmp_path), "--https", "tcp:1")
    http, automatic, own, second = factories
    assert isinstance(http, FaztSite) and own is http
    for wrapped in (automatic, second):
        assert isinstance(wrapped, TLSMemoryBIOFactory)
        assert wrapped.wrappedFactory is http
    manager = top.getServiceNamed("certificates")
    assert isinstance(manager, CertificateManager) and manager.issuer is not None
    root = root_of(top)
    assert isinstance(root.acme_challenge, HTTP01Responder)
    assert root.https_redirect is not None


def test_no_acme_serves_tls_but_orders_nothing(tmp_path):
    top, _ = service_tree(tmp_path, "--http", "tcp:0", "--https", "tcp:0", "--no-acme")
    assert top.getServiceNamed("certificates").issuer is None
    root = root_of(top)
    assert root.acme_challenge is None and root.https_redirect is not None
    assert not any(getattr(s, "pool", None) and s.pool.name == "fazt-acme" for s in top)


@pytest.mark.parametrize("own", [False, True])
def test_without_a_tcp_https_listener_nothing_is_ordered_or_redirected(tmp_path, own):
    https = ("--https", own_certificate(tmp_path)) if own else ()
    top, _ = service_tree(tmp_path, "--http", "tcp:0", *https)
    assert top.getServiceNamed("certificates").issuer is None
    root = root_of(top)
    assert root.acme_challenge is None and root.https_redirect is None


def test_the_acme_pool_is_its_own(tmp_path):
    top, _ = service_tree(tmp_path, "--https", "tcp:0")
    names = [s.pool.name for s in top if getattr(s, "pool", None) is not None and hasattr(s.pool, "name")]
    assert "fazt-acme" in names
