"""The audit log: a recorder every area can call, and C{GET /api/audit} (admin only).

The wiring makes one L{AuditRecorder} and gives it to the L{fazt.web.auth.Authenticator}; areas
record through C{auth.audit} (or C{auth.audit_request}): C{audit(actor, action, resource, result="ok", details="")}. The write is queued on the
batch writer; the Deferred it returns fires once the row is committed and never fails (a failed
write is logged), so a caller may wait for it or not.
"""

from __future__ import annotations


from klein import Klein
from twisted.internet.interfaces import IReactorTime
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.logger import Logger
from twisted.web.server import Request

from fazt.store.audit import AuditEntry, count_entries, list_entries, record
from fazt.store.batch import BatchWriter
from fazt.store.interfaces import IStore
from fazt.web.auth import Authenticator
from fazt.web.envelope import add_error_handlers, iso, ok, page_args
from fazt.web.spec import takes

_log = Logger()


class AuditRecorder:
    """C{recorder(actor, action, resource, result="ok", details="")}: queue one audit row."""

    def __init__(self, writer: BatchWriter, clock: IReactorTime) -> None:
        self._writer = writer
        self._clock = clock

    def __call__(self, actor: str, action: str, resource: str = "", result: str = "ok",
                 details: str = "") -> Deferred:
        d = self._writer.submit(record, actor, action, resource, result, details, self._clock.seconds())
        d.addErrback(lambda failure: _log.failure("could not record {action} in the audit log",
                                                  failure, action=action))
        return d


def entry_json(entry: AuditEntry) -> dict:
    return {
        "id": entry.id,
        "created_at": iso(entry.created_at),
        "actor": entry.actor,
        "action": entry.action,
        "resource": entry.resource,
        "result": entry.result,
        "details": entry.details,
    }


def _page(conn, limit: int, offset: int) -> tuple[list[AuditEntry], int]:
    return list_entries(conn, limit, offset), count_entries(conn)


class AuditApi:
    """C{GET /api/audit}: the log, newest first, paged."""

    app = Klein()
    paths = ('audit',)  # served under /api/PATH

    def __init__(self, store: IStore, auth: Authenticator) -> None:
        self.store = store
        self.auth = auth

    @app.route("/audit", methods=["GET"])
    @takes(paged=True)
    @inlineCallbacks
    def entries(self, request: Request):
        """The audit log, newest first."""
        yield self.auth.api_key(request)
        limit, offset = page_args(request)
        rows, total = yield self.store.read(_page, limit, offset)
        return ok(request, [entry_json(e) for e in rows], meta={"total": total, "limit": limit, "offset": offset})


add_error_handlers(AuditApi.app)
