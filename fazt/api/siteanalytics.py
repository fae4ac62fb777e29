"""One site's traffic for the dashboard: C{GET /api/sites/NAME/analytics?days=N}.

Pageviews are the site's C{hosting} events (the pageview hook records the site's name as the
event's domain). Visitors are counted by the daily-rotated visitor hash, so a person seen on two
days counts on each: "unique" means unique per day, summed, which is what the hash allows
without keeping anything that follows a visitor across days (SPEC §10).
"""

from __future__ import annotations


from twisted.internet.defer import inlineCallbacks
from twisted.web.server import Request

from fazt.api.common import AdminRoutes
from fazt.api.siteroutes import check_site_name, exact_paths_app, site_not_found
from fazt.store.sites import site_exists
from fazt.store.traffic import site_traffic
from fazt.web.envelope import add_error_handlers, ok
from fazt.web.spec import Param, query, takes

MAX_DAYS = 366
DAYS = Param("days", {"type": "integer", "minimum": 1, "maximum": MAX_DAYS, "default": 30},
             description="How many days back, today included.")


class SiteAnalyticsApi(AdminRoutes):
    """C{/api/sites/NAME/analytics} (admin keys and sessions)."""

    app = exact_paths_app()
    paths = ()  # served under /api/PATH
    site_segment = 'analytics'  # and under /api/sites/NAME/analytics


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
        data = yield self.store.read(site_traffic, name, days, self._clock.seconds())
        return ok(request, data)


add_error_handlers(SiteAnalyticsApi.app)
