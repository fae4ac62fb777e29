"""TLS with the certificate chosen by SNI, over real loopback sockets (fazt.acme.sni)."""

from __future__ import annotations

import socket
import ssl

import pytest
import pytest_twisted
from cryptography import x509
from twisted.internet import reactor
from twisted.internet.threads import deferToThread
from twisted.web.resource import Resource
from twisted.web.server import Site

from fazt.acme import pem
from fazt.acme.certstore import record
from fazt.acme.sni import CertificateMap, fallback_options, tls_factory

NOW = 1_800_000_000.0


def presented_names(port: int, server_name) -> tuple[str, ...]:
    """The DNS names of the certificate 127.0.0.1:C{port} presents for C{server_name} (None: no SNI)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=server_name) as tls:
            der = tls.getpeercert(binary_form=True)
    cert = x509.load_der_x509_certificate(der)
    return tuple(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
                 .get_values_for_type(x509.DNSName))


def stored(name: str) -> object:
    key = pem.new_key_pem()
    return record(name, pem.self_signed([name], key, NOW), key)


class Hello(Resource):
    isLeaf = True

    def render_GET(self, request):
        return b"hello"


@pytest.fixture
def listening():
    certificates = CertificateMap(fallback_options("example.com", NOW))
    root = Hello()
    port = reactor.listenTCP(0, tls_factory(certificates, Site(root)), interface="127.0.0.1")
    yield certificates, port.getHost().port
    pytest_twisted.blockon(port.stopListening())


@pytest_twisted.ensureDeferred
async def test_each_name_gets_its_own_certificate_and_others_the_fallback(listening):
    certificates, port = listening
    certificates.put(stored("blog.example.com"))
    certificates.put(stored("example.com"))
    assert await deferToThread(presented_names, port, "blog.example.com") == ("blog.example.com",)
    assert await deferToThread(presented_names, port, "EXAMPLE.com") == ("example.com",)
    fallback = ("example.com", "*.example.com")
    assert await deferToThread(presented_names, port, "evil.example.net") == fallback
    assert await deferToThread(presented_names, port, None) == fallback


@pytest_twisted.ensureDeferred
async def test_a_new_certificate_is_served_from_the_next_handshake(listening):
    certificates, port = listening
    assert await deferToThread(presented_names, port, "shop.example.com") == ("example.com", "*.example.com")
    certificates.put(stored("shop.example.com"))
    assert await deferToThread(presented_names, port, "shop.example.com") == ("shop.example.com",)


def test_has_valid_looks_at_expiry():
    certificates = CertificateMap(fallback_options("example.com", NOW))
    cert = stored("a.example.com")
    certificates.put(cert)
    assert certificates.has_valid("a.example.com", NOW)
    assert certificates.has_valid(b"A.example.com.", NOW)
    assert not certificates.has_valid("a.example.com", cert.not_after + 1)
    assert not certificates.has_valid("b.example.com", NOW)


def test_a_broken_stored_certificate_is_skipped():
    certificates = CertificateMap(fallback_options("example.com", NOW))
    good = stored("good.example.com")
    broken = good.__class__("bad.example.com", "garbage", good.key_pem, good.not_after, "x")
    certificates.load([broken, good])
    assert certificates.names() == ["good.example.com"]
