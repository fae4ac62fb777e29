"""Analytics read routes: /api/stats, /api/events, /api/domains, /api/tags (SPEC §10).

The event buffer, the redirect and webhook admin routes and the public endpoints are wired beside
it in L{fazt.app.tap}.
"""

from __future__ import annotations

import json
from typing import Optional

from klein import Klein
from twisted.internet.defer import inlineCallbacks
from twisted.web.server import Request

from fazt.api.common import AdminRoutes
from fazt.store.events import EventFilter, count_domains, count_events, domain_counts, list_events, tag_counts
from fazt.store.events import stats as event_stats
from fazt.web.envelope import add_error_handlers, iso, ok, page_args
from fazt.web.spec import Param, query, takes

FILTER_LIMIT = 500
EVENT_FILTERS = tuple(Param(name, {"type": "string", "maxLength": FILTER_LIMIT}, description=text)
                      for name, text in (("domain", "Only events of this domain."),
                                         ("tags", "Only events whose tags contain this."),
                                         ("source_type", "Only events of this source (web, pixel, ...).")))


def _no_constants(name: str):
    raise ValueError(name)


def _stored_json(value: Optional[str]):
    if value is None:
        return None
    try:
        return json.loads(value, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        return value


def event_json(event: dict) -> dict:
    """An event as the API shows it: the visitor hash, never an address."""
    return {**event, "query_params": _stored_json(event["query_params"]), "created_at": iso(event["created_at"])}


class AnalyticsApi(AdminRoutes):
    """Routes under C{/api/stats}, C{/api/events}, C{/api/domains} and C{/api/tags} (admin only)."""

    app = Klein()
    paths = ('stats', 'events', 'domains', 'tags')  # served under /api/PATH

    @app.route("/stats", methods=["GET"])
    @inlineCallbacks
    def stats(self, request: Request):
        yield self._admin(request)
        data = yield self.store.read(event_stats, self._clock.seconds())
        return ok(request, data)

    @app.route("/events", methods=["GET"])
    @takes(params=EVENT_FILTERS, paged=True)
    @inlineCallbacks
    def events(self, request: Request):
        yield self._admin(request)
        limit, offset = page_args(request)
        where = EventFilter(*(query(request, param) for param in EVENT_FILTERS))
        rows = yield self.store.read(list_events, where, limit, offset)
        total = yield self.store.read(count_events, where)
        return ok(request, [event_json(e) for e in rows], meta={"total": total, "limit": limit, "offset": offset})

    @app.route("/domains", methods=["GET"])
    @takes(paged=True)
    @inlineCallbacks
    def domains(self, request: Request):
        yield self._admin(request)
        limit, offset = page_args(request)
        rows = yield self.store.read(domain_counts, limit, offset)
        total = yield self.store.read(count_domains)
        return ok(request, rows, meta={"total": total, "limit": limit, "offset": offset})

    @app.route("/tags", methods=["GET"])
    @takes(paged=True)
    @inlineCallbacks
    def tags(self, request: Request):
        yield self._admin(request)
        limit, offset = page_args(request)
        rows = yield self.store.read(tag_counts)
        return ok(request, rows[offset:offset + limit], meta={"total": len(rows), "limit": limit, "offset": offset})


add_error_handlers(AnalyticsApi.app)
