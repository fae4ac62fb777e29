"""Keeping one process's certificate map up to date with the cartridge (SPEC §19).

Every process serves every certificate, whichever process ordered it: an announcement on the bus
(C{certificate.stored}) makes the others load it from the store, and after a gap in the bus
(C{bus.resync}) every stored certificate newer than the one served is loaded, and every one served
that is no longer stored (deleted as no longer needed, L{fazt.acme.retire}) stops being served.
"""

from __future__ import annotations

from typing import Optional

from twisted.internet.defer import Deferred, succeed
from twisted.logger import Logger

from fazt.acme.sni import CertificateMap
from fazt.store.certificates import StoredCertificate, all_certificates, load_certificate

__all__ = ["serve_announced", "serve_fresher"]

_log = Logger()


def serve_announced(store, certificates: CertificateMap, name: str, not_after: float) -> Deferred:
    """C{name}'s certificate valid until C{not_after} was stored: serve it unless already served."""
    served = certificates.not_after(name)
    if served is not None and served > not_after:
        return succeed(None)  # a newer one is served already
    # Equal expiries are read again: a renewal within the same second as the last order has the
    # same not_after but is another certificate (the process that ordered it reads its own once).
    reading = store.read(load_certificate, name)

    def serve(cert: Optional[StoredCertificate]) -> None:
        if cert is not None:
            certificates.load([cert])
    reading.addCallback(serve)
    reading.addErrback(lambda failure: _log.failure("Could not load the certificate of {name}", failure, name=name))
    return reading


def serve_fresher(store, certificates: CertificateMap) -> Deferred:
    """Serve every stored certificate newer than the one served, and stop serving those no longer
    stored (announcements may have been missed)."""
    reading = store.read(all_certificates)

    def serve(stored: list[StoredCertificate]) -> None:
        fresher = [cert for cert in stored if (certificates.not_after(cert.name) or 0) < cert.not_after]
        if fresher:
            certificates.load(fresher)
        kept = {cert.name for cert in stored}
        certificates.remove([name for name in certificates.names() if name not in kept])
    reading.addCallback(serve)
    reading.addErrback(lambda failure: _log.failure("Could not reload the stored certificates", failure))
    return reading
