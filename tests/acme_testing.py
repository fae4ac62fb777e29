"""Helpers for fazt.acme tests: a fake CA standing in for ACME, and deployed sites.

Imported by name (C{pytest.ini} puts C{tests/} on the path); fixtures live in C{acme/conftest.py}.
"""

from __future__ import annotations

import datetime
import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from twisted.internet.defer import fail, succeed

from fazt.acme import pem
from fazt.store.sites import BlobContent, NewFile, commit_deployment

START = 1_800_000_000.0
DAY = 86400.0
CA_NAME = "Fake Test CA"


class FakeCA:
    """Issues real certificates from a throwaway CA; records every order; fails when told to.

    It has the shape of L{fazt.acme.issuer.AcmeIssuer}: C{issue(name)} and C{renewal_info(pem)}.
    """

    def __init__(self, clock, lifetime_days: float = 90) -> None:
        self.clock = clock
        self.lifetime = lifetime_days * DAY
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.orders: list[str] = []
        self.failing = False
        self.ari = None          # None: the CA offers no ARI; else a function (cert_pem) -> (renew_at, ask_again)
        self.ari_calls = 0

    def issue(self, name: str):
        self.orders.append(name)
        if self.failing:
            return fail(RuntimeError("urn:ietf:params:acme:error:serverInternal :: the CA is down"))
        key_pem = pem.new_key_pem()
        start = datetime.datetime.fromtimestamp(self.clock.seconds(), datetime.timezone.utc)
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([]))
                .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)]))
                .public_key(pem.load_key(key_pem).public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(start)
                .not_valid_after(start + datetime.timedelta(seconds=self.lifetime))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=True)
                .sign(self.key, hashes.SHA256()))
        return succeed((cert.public_bytes(serialization.Encoding.PEM).decode("ascii"), key_pem))

    def renewal_info(self, cert_pem: str):
        self.ari_calls += 1
        return succeed(self.ari(cert_pem) if self.ari else (None, None))


def deploy_site(conn, name: str, now: float = START) -> None:
    """Give the cartridge a deployed site C{name} (one small file)."""
    data = f"<h1>{name}</h1>".encode()
    digest = hashlib.sha256(data).hexdigest()
    commit_deployment(conn, name, [NewFile("index.html", digest, len(data), "text/html",
                                           lambda: BlobContent(data, None, None))], "test", now, keep=5)
