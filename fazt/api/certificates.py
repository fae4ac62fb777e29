"""C{GET /api/certificates} (admin only): every name fazt keeps a certificate for, and how it is going.

Each entry: C{name}, C{issuer}, C{not_after} (ISO 8601 or null), C{status} (C{valid}, C{pending},
C{failed}, C{expired} or C{self-signed}), C{last_error}, C{last_attempt} and C{next_attempt}.
"""

from __future__ import annotations

from typing import Optional

from klein import Klein
from twisted.internet.defer import inlineCallbacks
from twisted.web.server import Request

from fazt.acme.standing import CertificateStatus
from fazt.api.common import AdminRoutes
from fazt.web.envelope import add_error_handlers, iso, ok, page_args
from fazt.web.spec import takes


def _time(ts: Optional[float]) -> Optional[str]:
    return iso(ts) if ts is not None else None


def status_json(entry: CertificateStatus) -> dict:
    return {
        "name": entry.name,
        "issuer": entry.issuer,
        "not_after": _time(entry.not_after),
        "status": entry.status,
        "last_error": entry.last_error,
        "last_attempt": _time(entry.last_attempt),
        "next_attempt": _time(entry.next_attempt),
    }


class CertificatesApi(AdminRoutes):
    """The certificates area."""

    app = Klein()
    paths = ('certificates',)  # served under /api/PATH

    def __init__(self, store, auth, manager) -> None:
        super().__init__(store, auth)
        self.manager = manager

    @app.route("/certificates", methods=["GET"])
    @takes(paged=True)
    @inlineCallbacks
    def certificates(self, request: Request):
        """Every wanted or stored name, sorted by name, paged."""
        yield self._admin(request)
        limit, offset = page_args(request)
        entries = yield self.manager.statuses()
        page = [status_json(e) for e in entries[offset:offset + limit]]
        return ok(request, page, meta={"total": len(entries), "limit": limit, "offset": offset})


add_error_handlers(CertificatesApi.app)
