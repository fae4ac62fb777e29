"""TLS for tests: a self-signed certificate, a live server's TLS listener, HTTPS requests to it.

The listener is made from the same C{ssl:} endpoint string a user passes to C{--https}; clients
send SNI and verify the certificate, as browsers do.
"""

from __future__ import annotations

import datetime
import io
from typing import Optional

import pytest_twisted
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from twisted.internet import endpoints, reactor
from twisted.internet.ssl import Certificate, optionsForClientTLS
from twisted.web.client import Agent, FileBodyProducer, HTTPConnectionPool, readBody
from twisted.web.http_headers import Headers

from fazt_testing import Response


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


def listen_tls(server, directory):
    """Serve C{server}'s site with TLS too (a certificate for C{*.DOMAIN}); returns the listening port.

    Sets C{server.tls_port} and C{server.trust} (the certificate, to verify against).
    """
    cert_path, key_path, cert_pem = make_certificate(directory, [f"*.{server.domain}", server.domain])
    endpoint = endpoints.serverFromString(
        reactor, f"ssl:0:interface=127.0.0.1:privateKey={key_path}:certKey={cert_path}")
    port = pytest_twisted.blockon(endpoint.listen(server.listener.factory))
    server.tls_port = port.getHost().port
    server.trust = Certificate.loadPEM(cert_pem)
    return port


def listen_sni(server):
    """Serve C{server}'s site behind TLS as C{--https tcp:...} does: SNI map, no certificate issued yet.

    Every name gets the self-signed fallback (for C{DOMAIN} and C{*.DOMAIN}), made here so the test
    can trust it. Sets C{server.tls_port} and C{server.trust}; returns the listening port.
    """
    from fazt.acme import pem
    from fazt.acme.sni import CertificateMap, tls_factory

    key_pem = pem.new_key_pem()
    cert_pem = pem.self_signed([server.domain, f"*.{server.domain}"], key_pem, reactor.seconds())
    certificates = CertificateMap(pem.tls_options(cert_pem, key_pem))
    port = reactor.listenTCP(0, tls_factory(certificates, server.listener.factory), interface="127.0.0.1")
    server.tls_port = port.getHost().port
    server.trust = Certificate.loadPEM(cert_pem.encode("ascii"))
    return port


async def https_request(server, name: str, method: str, path: str, headers: Optional[dict] = None,
                        body: Optional[bytes] = None) -> Response:
    """One request to C{https://NAME:PORT/PATH} through the TLS listener, the certificate verified."""
    pool = HTTPConnectionPool(reactor, persistent=False)
    agent = Agent.usingEndpointFactory(reactor, _LoopbackEndpoints(server.tls_port, server.trust), pool=pool)
    producer = FileBodyProducer(io.BytesIO(body)) if body is not None else None
    all_headers = Headers({k: [v] for k, v in (headers or {}).items()})
    response = await agent.request(method.encode(), f"https://{name}:{server.tls_port}{path}".encode(),
                                   all_headers, producer)
    content = await readBody(response)
    return Response(response.code, {k.decode().lower(): [x.decode("latin-1") for x in v]
                                    for k, v in response.headers.getAllRawHeaders()}, content)


class _LoopbackEndpoints:
    """Connects every https URL to the test's TLS port on 127.0.0.1, with SNI and verification of its name."""

    def __init__(self, port, trust):
        self.port = port
        self.trust = trust

    def endpointForURI(self, uri):
        name = uri.host.decode()
        return endpoints.wrapClientTLS(optionsForClientTLS(name, trustRoot=self.trust),
                                       endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", self.port))


def plain_get(port: int, path: str, host: str):
    """One plain-HTTP GET to 127.0.0.1:C{port} with C{Host: host}, redirects not followed:
    (status, location, body)."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        return response.status, response.getheader("location"), response.read()
    finally:
        conn.close()


def handshake(port: int, name: str, root_pem: str, request: bytes = b"") -> tuple[bytes, bytes]:
    """A verified TLS handshake to 127.0.0.1:C{port} (chain to C{root_pem}, hostname C{name}); the
    leaf DER and the reply to C{request}, read to the end."""
    import socket
    import ssl

    context = ssl.create_default_context(cadata=root_pem)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=name) as tls:
            der = tls.getpeercert(binary_form=True)
            reply = b""
            if request:
                tls.sendall(request)
                while chunk := tls.recv(65536):
                    reply += chunk
    return der, reply
