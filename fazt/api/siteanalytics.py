"""One site's traffic for the dashboard: C{GET /api/sites/NAME/analytics?days=N}.

Pageviews are the site's C{hosting} events (the pageview hook records the site's name as the
event's domain). Visitors are counted by the daily-rotated visitor hash, so a person seen on two
days counts on each: "unique" means unique per day, summed, which is what the hash allows
without keeping anything that follows a visitor across days (SPEC §10).
"""

from __future__ import annotations

import sqlite3
import time
from typing import Callable

from twisted.internet.defer import inlineCallbacks
from twisted.web.server import Request

from fazt.store.sites import site_exists
from fazt.web.envelope import add_error_handlers, ok
from fazt.api.sites import check_site_name, exact_paths_app, mount_site_segment, site_not_found
from fazt.web.spec import Param, query, takes

DAY = 86400
MAX_DAYS = 366
TOP = 10
DAYS = Param("days", {"type": "integer", "minimum": 1, "maximum": MAX_DAYS, "default": 30},
             description="How many days back, today included.")


def site_traffic(conn: sqlite3.Connection, site: str, days: int, now: float) -> dict:
    """Views and visitors per UTC day (every day of the window, zeros included), top paths and referrers."""
    first_day = int(now // DAY) - days + 1
    since = first_day * DAY
    where = "domain = ? AND source_type = 'hosting' AND created_at >= ?"
    per_day = {day: (views, visitors) for day, views, visitors in conn.execute(
        f"SELECT CAST(created_at / {DAY} AS INTEGER) AS day, COUNT(*), COUNT(DISTINCT visitor_hash)"
        f" FROM events WHERE {where} GROUP BY day", (site, since))}
    timeline = []
    for day in range(first_day, first_day + days):
        views, visitors = per_day.get(day, (0, 0))
        timeline.append({"date": time.strftime("%Y-%m-%d", time.gmtime(day * DAY)), "views": views,
                         "visitors": visitors})

    def top(column: str) -> list[dict]:
        rows = conn.execute(
            f"SELECT {column}, COUNT(*) AS n FROM events WHERE {where} AND {column} IS NOT NULL AND {column} != ''"
            f" GROUP BY {column} ORDER BY n DESC, {column} LIMIT ?", (site, since, TOP))
        return [{"value": value, "count": n} for value, n in rows]

    return {
        "site": site,
        "days": days,
        "views": sum(day["views"] for day in timeline),
        "unique_visitors": sum(day["visitors"] for day in timeline),
        "timeline": timeline,
        "top_paths": top("path"),
        "top_referrers": top("referrer"),
    }


class SiteAnalyticsApi:
    """C{/api/sites/NAME/analytics} (admin keys and sessions)."""

    app = exact_paths_app()

    def __init__(self, store, auth, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.auth = auth
        self.clock = clock

    @app.route("/sites/<name>/analytics", methods=["GET"])
    @takes(params=(DAYS,))
    @inlineCallbacks
    def traffic(self, request: Request, name: str):
        """C{?days=N} (1-366, default 30): C{{views, unique_visitors, timeline, top_paths, top_referrers}}."""
        yield self.auth.api_key(request)
        check_site_name(name)
        days = query(request, DAYS)
        exists = yield self.store.read(site_exists, name)
        if not exists:
            raise site_not_found(name)
        data = yield self.store.read(site_traffic, name, days, self.clock())
        return ok(request, data)


add_error_handlers(SiteAnalyticsApi.app)


def mount(services) -> None:
    """Serve C{/api/sites/NAME/analytics}."""
    mount_site_segment(services, "analytics", SiteAnalyticsApi(services.store, services.auth, services.clock).app.resource())
