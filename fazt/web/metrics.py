"""C{GET /metrics} on the admin host (SPEC §12): Prometheus text exposition format 0.0.4.

With several processes, every process's figures are summed (L{fazt.web.metricsshare}, where
their freshness is described); the store's figures are read once.

Written by hand (no client library at runtime). Readable with an admin bearer key or session,
or with the token given by C{--metrics-token} (compared in constant time), so that a scraper
needs no admin key; 401/403 in the envelope otherwise. Per-site series are labelled
C{site="NAME"}.

Requests to site hosts are measured by two hooks that only touch dicts: the root's site hook
notes the site and the start time on the request, and the web site's finish hook (called as
each response ends) counts it by site and status code and files its latency in a histogram.
Labels stay bounded: past C{MAX_SITES} names (any Host names a "site"), requests count under
C{_other}; status codes are integers from 100 to 599.
"""

from __future__ import annotations

import hmac
from bisect import bisect_left
from typing import Any, Callable, Optional

from klein import Klein
from twisted.internet.defer import inlineCallbacks
from twisted.internet.interfaces import IReactorTime
from twisted.web.server import Request

from fazt.store.facts import metrics_figures
from fazt.web.figures import histogram_samples, process_figures, render
from fazt.web.metricsshare import MetricsShare
from fazt.web.promtext import BUCKETS, escape_label, family, histogram_family
from fazt.web.auth import bearer_token
from fazt.web.envelope import add_error_handlers
from fazt.web.spec import takes

__all__ = ["BUCKETS", "MetricsEndpoint", "RequestCounter", "escape_label", "family", "histogram_family", "mount"]

CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"
# Any Host header names a "site"; beyond this many names, requests are counted under OTHER.
MAX_SITES = 1000
OTHER = "_other"


class RequestCounter:
    """Requests to site hosts by site, by site and status, and their latency by site.

    C{hook} is a root site hook (the request starts); C{finished} a web site finish hook.
    Requests are counted as they end, when C{absent(name)} (if given) can tell that a host named
    no site: those count under OTHER and never take one of the C{max_sites} label slots.
    """

    def __init__(self, clock: IReactorTime, max_sites: int = MAX_SITES,
                 absent: Optional[Callable[[str], bool]] = None) -> None:
        self.counts: dict[str, int] = {}
        self.statuses: dict[tuple[str, int], int] = {}
        # Per site: one count per bucket (not cumulative; the last is +Inf), then the sum.
        self.latency: dict[str, list] = {}
        self._max = max_sites
        self._clock = clock
        self._absent = absent

    def hook(self, request: Request, site: str) -> None:
        request.fazt_metrics = (site, self._clock.seconds())

    def finished(self, request: Request) -> None:
        started = getattr(request, "fazt_metrics", None)
        if started is None:
            return  # not a site request
        site, t0 = started
        elapsed = self._clock.seconds() - t0
        counts = self.counts
        try:
            counts[site] += 1
        except KeyError:
            if len(counts) >= self._max or (self._absent is not None and self._absent(site)):
                site = OTHER
            counts[site] = counts.get(site, 0) + 1
        key = (site, request.code)
        try:
            self.statuses[key] += 1
        except KeyError:
            self.statuses[key] = 1
        histogram = self.latency.get(site)
        if histogram is None:
            histogram = self.latency[site] = [0] * (len(BUCKETS) + 1) + [0.0]
        histogram[bisect_left(BUCKETS, elapsed)] += 1
        histogram[-1] += elapsed

    def histogram_samples(self) -> list[tuple[str, dict, float]]:
        """C{(suffix, labels, value)} of the latency histogram, cumulative as the format wants."""
        return histogram_samples(self.latency)


class MetricsEndpoint:
    """The C{/metrics} route."""

    app = Klein()

    def __init__(self, services: Any, counter: RequestCounter, token: Optional[str] = None) -> None:
        self.services = services
        self.counter = counter
        self._token = token.encode("utf-8") if token else None
        self.share: Optional[MetricsShare] = None

    def _sockets(self):
        return self.services.extras.get("sockets")

    @app.route("/metrics", methods=["GET"])
    @takes(secured=True, answer_media="text/plain", answer_schema={"type": "string"},
           summary="Prometheus metrics (text format 0.0.4); an admin key, a session, or the --metrics-token.")
    @inlineCallbacks
    def metrics(self, request: Request):
        if not self._scraper(request):
            yield self.services.auth.api_key(request)
        store = self.services.store
        db = yield store.read(metrics_figures, store.path)
        # Every process's figures added up (fazt.web.metricsshare), or this process's alone.
        figures = (yield self.share.total()) if self.share is not None else None
        request.setHeader(b"content-type", CONTENT_TYPE)
        request.setHeader(b"cache-control", b"no-store")
        return self.render_text(db, figures).encode("utf-8")

    def _scraper(self, request: Request) -> bool:
        """Whether the request carries the configured metrics token (constant-time compare)."""
        if self._token is None:
            return False
        token = bearer_token(request)
        return token is not None and hmac.compare_digest(token.encode("utf-8"), self._token)

    def figures(self) -> dict:
        """This process's figures (L{fazt.web.figures}), as the processes of a platform add them up."""
        return process_figures(self.services, self.counter, _named(self.services.parent, "cron"))

    def render_text(self, db: dict, figures: Optional[dict] = None) -> str:
        """The text of C{/metrics}: C{figures} (by default this process's) and the store's C{db} figures."""
        return render(self.figures() if figures is None else figures, db)


def _named(parent: Any, name: str) -> Optional[Any]:
    """The service called C{name} in C{parent} or one level down (the leader's duties hold cron)."""
    found = parent.namedServices.get(name)
    for child in parent if found is None else ():
        found = getattr(child, "namedServices", {}).get(name)
        if found is not None:
            break
    return found


add_error_handlers(MetricsEndpoint.app)


def mount(services) -> None:
    """Serve C{/metrics} on the admin host and count requests to hosted sites."""
    index = services.index

    def absent(name: str) -> bool:
        known, state = index.cached(name)
        return known and state is None

    counter = RequestCounter(services.reactor, absent=absent)
    services.extras["request_counter"] = counter
    services.root.add_site_hook(counter.hook)
    services.root.add_finish_hook(counter.finished)
    token = services.config.get("metrics-token") if hasattr(services.config, "get") else None
    endpoint = MetricsEndpoint(services, counter, token)
    bus = services.extras.get("bus")
    if bus is not None:  # the figures of every process on the bus, summed
        endpoint.share = MetricsShare(bus, services.reactor, endpoint.figures)
        endpoint.share.setServiceParent(services.parent)
    services.root.mount_public("metrics", endpoint.app.resource())
