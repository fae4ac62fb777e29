"""Where one name stands: what its order schedule and stored certificate say (pure).

Whether an order for the name is due now (L{order_due}), and the name as C{GET /api/certificates}
shows it (L{status_of}, a L{CertificateStatus}). The certificate service
(L{fazt.acme.service.CertificateManager}) reads both from the cartridge and asks here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from fazt.acme import pem
from fazt.acme.policy import renewal_due
from fazt.store.certificates import Schedule, StoredCertificate


@dataclass(frozen=True)
class CertificateStatus:
    """One name as C{GET /api/certificates} shows it."""

    name: str
    status: str                  # valid, pending, failed, expired or self-signed
    issuer: Optional[str]
    not_after: Optional[float]
    last_attempt: Optional[float]
    last_error: Optional[str]
    next_attempt: Optional[float]


def order_due(schedule: Optional[Schedule], cert: Optional[StoredCertificate], now: float) -> bool:
    """Whether a name with this schedule (None: never tried) and certificate (None: none) is due for an order."""
    if schedule is not None:
        return schedule.next_attempt <= now
    if cert is None:
        return True
    try:
        about = pem.facts(cert.cert_pem)
    except ValueError:  # an unreadable stored certificate is replaced
        return True
    return renewal_due(about.not_before, about.not_after) <= now


def status_of(name: str, cert: Optional[StoredCertificate], schedule: Optional[Schedule], now: float,
              orderable: bool) -> CertificateStatus:
    """The status of C{name}; C{orderable}: whether fazt may order a certificate for it."""
    if schedule is not None and schedule.last_error:
        status = "failed"
    elif cert is not None:
        status = "valid" if cert.not_after > now else "expired"
    elif orderable:
        status = "pending"
    else:
        status = "self-signed"
    schedule = schedule or Schedule(name)
    issuer = cert.issuer if cert is not None else (pem.SELF_SIGNED_ISSUER if status == "self-signed" else None)
    return CertificateStatus(
        name=name, status=status, issuer=issuer, not_after=cert.not_after if cert else None,
        last_attempt=schedule.last_attempt, last_error=schedule.last_error,
        next_attempt=schedule.next_attempt if orderable else None)
