"""C{GET /api/certificates} (admin only): every name fazt keeps a certificate for, and how it is going.

Each entry: C{name}, C{issuer}, C{not_after} (ISO 8601 or null), C{status} (C{valid}, C{pending},
C{failed}, C{expired} or C{self-signed}), C{last_error}, C{last_attempt} and C{next_attempt}.

C{POST /api/certificates/NAME/renew} orders a new certificate for one of those names at once and
answers with its entry once the new one is served (L{fazt.acme.renew}): 404 C{CERTIFICATE_NOT_FOUND}
for a name not listed, 409 C{NOT_ORDERABLE} when nothing may be ordered for it, 502 C{ORDER_FAILED}
with the CA's error, 504 C{ORDER_PENDING} when the order outlasts the wait (it goes on).
"""

from __future__ import annotations

from typing import Optional

from klein import Klein
from twisted.internet.defer import inlineCallbacks
from twisted.web.server import Request

from fazt.acme.renew import NotOrderable, OrderFailed, StillOrdering, UnknownName
from fazt.acme.standing import CertificateStatus
from fazt.api.common import AdminRoutes
from fazt.base.errors import ApiError
from fazt.web.envelope import add_error_handlers, iso, ok, page_args
from fazt.web.spec import Param, takes

SERVER_NAME = Param("server_name", {"type": "string", "minLength": 1, "maxLength": 253,
                                    "examples": ["blog.example.org"]},
                    where="path", description="A name listed by GET /api/certificates.")


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

    def __init__(self, store, auth, manager, renewals) -> None:
        super().__init__(store, auth)
        self.manager = manager
        self.renewals = renewals  # fazt.acme.renew.Renewals

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


    @app.route("/certificates/<server_name>/renew", methods=["POST"])
    @takes(params=(SERVER_NAME,), errors=(404, 409, 502, 504),
           summary="Order a new certificate for the name now; answers its entry once the new one is served.")
    @inlineCallbacks
    def renew(self, request: Request, server_name: str):
        """Renew one certificate now (joining an order already under way for it)."""
        yield self._admin(request)
        name = server_name.strip().lower().rstrip(".")[:253]
        try:
            entry = yield self.renewals.renew(name)
        except UnknownName:
            raise ApiError(404, "CERTIFICATE_NOT_FOUND", f"no certificate named {name} is managed here"
                           " (see GET /api/certificates)") from None
        except NotOrderable:
            raise ApiError(409, "NOT_ORDERABLE", f"no certificate can be ordered for {name} (ACME is off,"
                           " or no CA can validate this name)") from None
        except OrderFailed as error:
            self.auth.audit_request(request, "certificate.renew", name, result="failed", details=str(error))
            raise ApiError(502, "ORDER_FAILED", f"the CA did not issue a certificate for {name}: {error}",
                           {"error": str(error)}) from None
        except StillOrdering:
            raise ApiError(504, "ORDER_PENDING", f"the order for {name} is still under way; see"
                           " GET /api/certificates") from None
        self.auth.audit_request(request, "certificate.renew", name)
        return ok(request, status_json(entry))


add_error_handlers(CertificatesApi.app)
