"""Keys, certificates and TLS options from PEM text (pure and synchronous).

Key generation is cheap for EC P-256 but still CPU work: callers on the reactor thread run
L{new_key_pem} and L{self_signed} on a thread pool.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from twisted.internet.ssl import CertificateOptions

SELF_SIGNED_ISSUER = "fazt self-signed"


@dataclass(frozen=True)
class CertificateFacts:
    """What the API and the renewal service need to know about a certificate."""

    names: tuple[str, ...]
    not_before: float
    not_after: float
    issuer: str
    self_signed: bool


def new_key_pem() -> str:
    """A new EC P-256 private key, PEM (PKCS#8)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def load_key(key_pem: str):
    """A cryptography private key from PEM."""
    return serialization.load_pem_private_key(key_pem.encode("ascii"), password=None)


def split_chain(cert_pem: str) -> list[str]:
    """The PEM blocks of a certificate chain, leaf first."""
    marker = "-----END CERTIFICATE-----"
    blocks = []
    for part in cert_pem.split(marker)[:-1]:
        start = part.find("-----BEGIN CERTIFICATE-----")
        if start != -1:
            blocks.append(part[start:] + marker + "\n")
    return blocks


def self_signed(names: Iterable[str], key_pem: str, now: float, days: int = 90) -> str:
    """A self-signed certificate for C{names} (the first is the subject), valid from C{now}."""
    names = list(names)
    key = load_key(key_pem)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0]),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, SELF_SIGNED_ISSUER)])
    start = datetime.datetime.fromtimestamp(now - 3600, datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=days, hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _issuer_name(cert: x509.Certificate) -> str:
    for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME):
        attributes = cert.issuer.get_attributes_for_oid(oid)
        if attributes:
            return str(attributes[0].value)
    return cert.issuer.rfc4514_string()


def facts(cert_pem: str) -> CertificateFacts:
    """Names, validity and issuer of the leaf of C{cert_pem}; raises ValueError if unreadable."""
    cert = x509.load_pem_x509_certificate(cert_pem.encode("ascii"))
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = tuple(san.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        names = ()
    self_issued = cert.issuer == cert.subject
    return CertificateFacts(
        names=names,
        not_before=cert.not_valid_before_utc.timestamp(),
        not_after=cert.not_valid_after_utc.timestamp(),
        issuer=SELF_SIGNED_ISSUER if self_issued else _issuer_name(cert),
        self_signed=self_issued,
    )


def tls_options(cert_pem: str, key_pem: str) -> CertificateOptions:
    """Server TLS options presenting C{cert_pem} (leaf then chain) with C{key_pem}."""
    blocks = split_chain(cert_pem)
    if not blocks:
        raise ValueError("no certificate in PEM text")
    leaf, *chain = (x509.load_pem_x509_certificate(b.encode("ascii")) for b in blocks)
    return CertificateOptions(privateKey=load_key(key_pem), certificate=leaf, extraCertChain=chain)
