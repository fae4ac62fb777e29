"""L{ICertificateStore} on the cartridge: certificates live in SQLite, so copying data.db moves them."""

from __future__ import annotations

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from zope.interface import implementer

from fazt.acme import pem
from fazt.acme.interfaces import ICertificateStore
from fazt.store.certificates import StoredCertificate, all_certificates, load_certificate, save_certificate


def record(server_name: str, cert_pem: str, key_pem: str) -> StoredCertificate:
    """A L{StoredCertificate} for C{cert_pem}, its expiry and issuer read from the leaf."""
    about = pem.facts(cert_pem)
    return StoredCertificate(server_name, cert_pem, key_pem, about.not_after, about.issuer)


@implementer(ICertificateStore)
class SQLiteCertificateStore:
    """Certificates in the C{certificates} table, through a L{fazt.store.db.Store}."""

    def __init__(self, store, clock: IReactorTime) -> None:
        self._store = store
        self._clock = clock

    def get(self, server_name: str) -> Deferred:
        def found(cert):
            if cert is None:
                raise KeyError(server_name)
            return cert

        return self._store.read(load_certificate, server_name).addCallback(found)

    def store(self, server_name: str, cert_pem: str, key_pem: str) -> Deferred:
        return self._store.write(save_certificate, record(server_name, cert_pem, key_pem), self._clock.seconds())

    def as_dict(self) -> Deferred:
        return self._store.read(all_certificates).addCallback(lambda certs: {c.name: c for c in certs})
