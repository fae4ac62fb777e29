"""A site's console log (what its C{main.js} printed), paged (SPEC §9).

C{GET /api/logs/stream?site_id=NAME}: the live stream (Server-Sent Events, L{fazt.api.livelogs}).
C{GET /api/logs?site_id=NAME} (the original's route) and C{GET /api/sites/NAME/logs}: newest
first; with C{after_id=N} the lines written after line N, oldest first, for following the log.
"""

from __future__ import annotations

from twisted.internet.defer import inlineCallbacks
from twisted.web.server import Request

from fazt.api.livelogs import LiveStream
from fazt.api.siteroutes import REQUIRED_SITE_ID, check_site_name, exact_paths_app, required_site, site_not_found
from fazt.base.errors import ApiError
from fazt.store.interfaces import IStore
from fazt.store.logs import LEVELS, LogLine, log_page
from fazt.store.sites import site_exists
from fazt.web.auth import Authenticator
from fazt.web.envelope import add_error_handlers, iso, ok, page_args
from fazt.web.spec import ID_SCHEMA, Param, query, takes


LOG_QUERY = (Param("after_id", ID_SCHEMA, description="Only lines after this one, oldest first."),
             Param("level", {"type": "string", "enum": list(LEVELS)}))


def log_json(line: LogLine) -> dict:
    return {"id": line.id, "site": line.site_name, "level": line.level, "message": line.message,
            "created_at": iso(line.created_at)}


class LogsApi:
    """Routes under C{/api/logs} and C{/api/sites/NAME/logs} (admin keys and sessions)."""

    app = exact_paths_app()
    paths = ('logs',)  # served under /api/PATH
    site_segment = 'logs'  # and under /api/sites/NAME/logs

    def __init__(self, store: IStore, auth: Authenticator, live=None, reactor=None) -> None:
        self.store = store
        self.auth = auth
        self.live = live          # fazt.web.livelog.LiveLog (None: no live stream, 404)
        self.reactor = reactor

    @app.route("/logs/stream", methods=["GET"])
    @takes(params=(REQUIRED_SITE_ID,), answer_media="text/event-stream", answer_schema={"type": "string"},
           errors=(404,))
    @inlineCallbacks
    def stream(self, request: Request):
        """Server-Sent Events of a site (see L{fazt.api.livelogs})."""
        yield self.auth.api_key(request)
        site = required_site(request)
        check_site_name(site)
        if self.live is None:
            raise ApiError(404, "NOT_FOUND", "no live log stream on this server")
        # A stream of a site that does not exist would wait for ever on lines that never come.
        if not (yield self.store.read(site_exists, site)):
            raise site_not_found(site)
        return LiveStream(self.reactor, self.live, site)

    @app.route("/logs", methods=["GET"])
    @takes(params=(REQUIRED_SITE_ID, *LOG_QUERY), paged=True, errors=(404,))
    @inlineCallbacks
    def logs(self, request: Request):
        yield self.auth.api_key(request)
        return (yield self._page(request, required_site(request)))

    @app.route("/sites/<name>/logs", methods=["GET"])
    @takes(params=LOG_QUERY, paged=True)
    @inlineCallbacks
    def site_logs(self, request: Request, name: str):
        yield self.auth.api_key(request)
        return (yield self._page(request, name))

    @inlineCallbacks
    def _page(self, request: Request, site: str):
        check_site_name(site)
        limit, offset = page_args(request)
        after_id, level = (query(request, param) for param in LOG_QUERY)
        page = yield self.store.read(log_page, site, limit, offset, level, after_id)
        if page is None:
            raise site_not_found(site)
        rows, total = page
        return ok(request, [log_json(r) for r in rows], meta={"total": total, "limit": limit, "offset": offset})


add_error_handlers(LogsApi.app)
