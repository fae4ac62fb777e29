"""Plain HTTP -> HTTPS, the ACME path ahead of host routing, HSTS (fazt.acme.redirect, fazt.web.root).

In memory through the real root resource and twisted.web (treq's StubTreq); the site renderer is
a stand-in that names the site it was asked for. The real process is in tests/app/test_https_process.py.
"""

from __future__ import annotations

import pytest
import pytest_twisted
from acme import challenges
from treq.testing import StubTreq
from twisted.internet.task import Clock
from twisted.web.resource import Resource

from fazt.acme import pem
from fazt.acme.certstore import record
from fazt.acme.redirect import HttpsRedirect, endpoint_port
from fazt.acme.responder import HTTP01Responder
from fazt.acme.sni import CertificateMap, fallback_options
from fazt.web.root import RootResource

NOW = 1_800_000_000.0
TOKEN = challenges.HTTP01(token=b"t" * 32)


class NamedSites:
    """Answers every site request with the site's name."""

    def render(self, request, name):
        return f"site {name}".encode()

    def render_unknown_host(self, request):
        request.setResponseCode(404)
        return b"unknown host"


def stored(name: str):
    key = pem.new_key_pem()
    return record(name, pem.self_signed([name], key, NOW, days=90), key)


def make_client(https_port=8443):
    clock = Clock()
    clock.advance(NOW)
    certificates = CertificateMap(fallback_options("example.com", NOW))
    certificates.put(stored("blog.example.com"))
    responder = HTTP01Responder()
    responder.start_responding("blog.example.com", TOKEN, "key-authorization-text")
    root = RootResource("example.com", NamedSites(), Resource())
    root.acme_challenge = responder
    root.https_redirect = HttpsRedirect(certificates, clock, https_port)
    return StubTreq(root), responder, clock


def answer(stub, url, method="GET", headers=None):
    from twisted.internet.defer import ensureDeferred

    async def go():
        response = await stub.request(method, url, headers=headers, allow_redirects=False)
        return response, await response.content()

    result = []
    ensureDeferred(go()).addBoth(result.append)
    stub.flush()
    assert result, "no answer"
    if isinstance(result[0], Exception) or hasattr(result[0], "raiseException"):
        result[0].raiseException()
    return result[0]


def test_a_host_with_a_certificate_is_redirected_keeping_path_and_query():
    stub, _, _ = make_client()
    response, _ = answer(stub, "http://blog.example.com/notes/a%20b?x=1&y=2")
    assert response.code == 301
    assert response.headers.getRawHeaders(b"location") == [b"https://blog.example.com:8443/notes/a%20b?x=1&y=2"]


def test_other_methods_are_redirected_with_308_which_keeps_them():
    stub, _, _ = make_client()
    for method, code in (("HEAD", 301), ("POST", 308), ("PUT", 308), ("DELETE", 308)):
        response, _ = answer(stub, "http://blog.example.com/api/thing", method=method)
        assert response.code == code, method
        assert response.headers.getRawHeaders(b"location") == [b"https://blog.example.com:8443/api/thing"]


def test_port_443_is_left_out_and_the_request_port_is_ignored():
    stub, _, _ = make_client(https_port=443)
    response, _ = answer(stub, "http://blog.example.com:8080/")
    assert response.headers.getRawHeaders(b"location") == [b"https://blog.example.com/"]


def test_hosts_without_a_valid_certificate_stay_on_http():
    stub, _, clock = make_client()
    for url in ("http://new.example.com/", "http://127.0.0.1/", "http://example.com/"):
        response, _ = answer(stub, url)
        assert response.code != 301, url
    clock.advance(91 * 86400)   # once expired, the certificate no longer pulls visitors to HTTPS
    response, body = answer(stub, "http://blog.example.com/")
    assert (response.code, body) == (200, b"site blog")


def test_the_acme_path_and_health_are_never_redirected():
    stub, responder, _ = make_client()
    token = TOKEN.encode("token")
    response, body = answer(stub, f"http://blog.example.com/.well-known/acme-challenge/{token}")
    assert (response.code, body) == (200, b"key-authorization-text")
    assert response.headers.getRawHeaders(b"content-type") == [b"text/plain; charset=utf-8"]
    # on every host, even one that is not ours, before host routing
    response, body = answer(stub, f"http://elsewhere.example.net/.well-known/acme-challenge/{token}")
    assert (response.code, body) == (200, b"key-authorization-text")
    response, _ = answer(stub, "http://blog.example.com/.well-known/acme-challenge/unknown")
    assert response.code == 404
    response, _ = answer(stub, f"http://blog.example.com/.well-known/acme-challenge/{token}", method="POST")
    assert response.code == 405
    response, body = answer(stub, "http://blog.example.com/health")
    assert (response.code, body) == (200, b"OK")
    responder.stop_responding("blog.example.com", TOKEN, "key-authorization-text")
    responder.stop_responding("blog.example.com", TOKEN, "key-authorization-text")  # twice is fine
    response, _ = answer(stub, f"http://blog.example.com/.well-known/acme-challenge/{token}")
    assert response.code == 404


def test_tls_requests_get_hsts_and_no_redirect():
    stub, _, _ = make_client()
    response, body = answer(stub, "https://blog.example.com/")
    assert (response.code, body) == (200, b"site blog")
    assert response.headers.getRawHeaders(b"strict-transport-security") == [b"max-age=31536000"]
    response, _ = answer(stub, "https://admin.example.com/")
    assert response.headers.getRawHeaders(b"strict-transport-security") == [b"max-age=31536000; includeSubDomains"]
    response, _ = answer(stub, "http://new.example.com/")
    assert not response.headers.hasHeader(b"strict-transport-security")


@pytest.mark.parametrize("endpoint, port", [
    ("tcp:443", 443), ("tcp:8443:interface=127.0.0.1", 8443), ("tcp:port=9443:interface=::", 9443),
    ("tcp6:443", 443), ("ssl:4443:privateKey=k.pem", 4443), ("systemd:domain=INET:index=0", None),
    ("unix:/run/fazt.sock", None),
])
def test_endpoint_port(endpoint, port):
    assert endpoint_port(endpoint) == port


async def raw_response_head(root, request_bytes: bytes) -> bytes:
    """Send C{request_bytes} as-is to C{root} behind a real listener on 127.0.0.1; the response head."""
    from twisted.internet import reactor
    from twisted.internet.defer import Deferred
    from twisted.internet.protocol import ClientFactory, Protocol
    from twisted.web.server import Site

    listener = reactor.listenTCP(0, Site(root), interface="127.0.0.1")
    done: Deferred = Deferred()

    class Raw(Protocol):
        def connectionMade(self):
            self.data = b""
            self.transport.write(request_bytes)

        def dataReceived(self, data):
            self.data += data
            if b"\r\n\r\n" in self.data and not done.called:
                done.callback(self.data.split(b"\r\n\r\n", 1)[0])
                self.transport.loseConnection()

    factory = ClientFactory.forProtocol(Raw)
    reactor.connectTCP("127.0.0.1", listener.getHost().port, factory)
    try:
        return await done
    finally:
        await listener.stopListening()


@pytest_twisted.ensureDeferred
@pytest.mark.parametrize("target, location", [
    # absolute-form (what a client sends to a proxy): the URL's host is not glued onto ours
    (b".evil.com/x", b"https://blog.example.com/"),
    (b"http://evil.com/x?y=1", b"https://blog.example.com/x?y=1"),
    (b"http://blog.example.com@evil.com/", b"https://blog.example.com/"),
    (b"//evil.com/x", b"https://blog.example.com//evil.com/x"),   # a path on our host
])
async def test_the_location_always_names_our_host_whatever_the_request_target(target, location):
    clock = Clock()
    clock.advance(NOW)
    certificates = CertificateMap(fallback_options("example.com", NOW))
    certificates.put(stored("blog.example.com"))
    root = RootResource("example.com", NamedSites(), Resource())
    root.https_redirect = HttpsRedirect(certificates, clock, 443)
    head = await raw_response_head(root, b"GET " + target + b" HTTP/1.1\r\nHost: blog.example.com\r\n\r\n")
    assert head.split(b"\r\n")[0].startswith(b"HTTP/1.1 301"), head
    assert [line for line in head.split(b"\r\n") if line.lower().startswith(b"location:")] == \
        [b"Location: " + location]
