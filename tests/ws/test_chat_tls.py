"""The original chat example over TLS: C{wss://} on an C{--https ssl:...} listener (SPEC §8, issue 6).

The listener comes from the same endpoint string a user passes to C{--https}, with a certificate
made for the test; the clients verify it against that certificate and send SNI, as browsers do.
"""

from __future__ import annotations

import datetime

import pytest
import pytest_twisted
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from twisted.internet import endpoints, reactor
from twisted.internet.ssl import Certificate, optionsForClientTLS
from twisted.web.client import Agent, HTTPConnectionPool, readBody
from twisted.web.http_headers import Headers

from fazt_testing import start_server, stop_server
from wsclient import close_all, connect, join

CHAT = """<!doctype html><script>
const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
ws.onmessage = (e) => document.body.append(e.data);
</script>"""


def make_certificate(directory, names):
    """A self-signed certificate for C{names}; returns (cert path, key path, PEM bytes)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert_pem)
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path, cert_pem


@pytest.fixture
def tls_server(tmp_path):
    """A fazt server on a fresh cartridge, listening with TLS as C{--https ssl:...} does."""
    cert_path, key_path, cert_pem = make_certificate(tmp_path, ["*.example.test", "example.test"])
    live = start_server(str(tmp_path / "data.db"), extra_args=("--js-workers", "1", "--ws-ping-seconds", "0"))
    endpoint = endpoints.serverFromString(
        reactor, f"ssl:0:interface=127.0.0.1:privateKey={key_path}:certKey={cert_path}")
    port = pytest_twisted.blockon(endpoint.listen(live.listener.factory))
    live.tls_port = port.getHost().port
    live.trust = Certificate.loadPEM(cert_pem)
    yield live
    pytest_twisted.blockon(port.stopListening())
    stop_server(live)


def tls_for(server, name):
    """Client TLS options for C{name}: SNI and verification against the test certificate."""
    return optionsForClientTLS(name, trustRoot=server.trust)


async def https_get(server, name, path):
    """GET C{https://NAME:PORT/PATH} through the TLS listener, verifying the certificate."""
    pool = HTTPConnectionPool(reactor, persistent=False)
    agent = Agent.usingEndpointFactory(reactor, _LoopbackEndpoints(server.tls_port, server.trust), pool=pool)
    response = await agent.request(b"GET", f"https://{name}:{server.tls_port}{path}".encode(),
                                   Headers({}))
    body = await readBody(response)
    return response, body


class _LoopbackEndpoints:
    """Connects every https URL to the test's TLS port on 127.0.0.1, with SNI and verification of its name."""

    def __init__(self, port, trust):
        self.port = port
        self.trust = trust

    def endpointForURI(self, uri):
        name = uri.host.decode()
        return endpoints.wrapClientTLS(optionsForClientTLS(name, trustRoot=self.trust),
                                       endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", self.port))


@pytest_twisted.ensureDeferred
async def test_chat_example_over_tls_reaches_everyone(tls_server):
    response = await tls_server.deploy("chat", {"index.html": CHAT})
    assert response.code == 200, response.body
    name = "chat.example.test"
    host = f"{name}:{tls_server.tls_port}"

    page, body = await https_get(tls_server, name, "/")
    assert page.code == 200 and b"wss://" in body

    alice = await join(tls_server.tls_port, host, origin=f"https://{host}", tls=tls_for(tls_server, name))
    bob = await join(tls_server.tls_port, host, tls=tls_for(tls_server, name))
    try:
        alice.sendMessage(b"hello over tls")
        assert await alice.messages(1) == ["hello over tls"]
        assert await bob.messages(1) == ["hello over tls"]
        bob.sendMessage(b"and back")
        assert await alice.messages(2) == ["hello over tls", "and back"]
    finally:
        await close_all([alice, bob])


@pytest_twisted.ensureDeferred
async def test_plain_http_origin_is_refused_on_tls(tls_server):
    response = await tls_server.deploy("chat", {"index.html": CHAT})
    assert response.code == 200, response.body
    name = "chat.example.test"
    host = f"{name}:{tls_server.tls_port}"
    # The same host and port, but the page was not served over TLS: not the site's own origin.
    client = await connect(tls_server.tls_port, host, origin=f"http://{host}", tls=tls_for(tls_server, name)).open()
    code, reason = await client.closed
    client.opened.addErrback(lambda failure: None)
    assert "[403]" in str(reason), reason
