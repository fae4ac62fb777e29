"""C{GET /metrics} on the admin host (SPEC §12): Prometheus text exposition format 0.0.4.

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
from typing import Any, Callable, Iterable, Optional

from klein import Klein
from twisted.internet.defer import inlineCallbacks
from twisted.internet.interfaces import IReactorTime
from twisted.web.server import Request

from fazt.store.facts import metrics_figures
from fazt.web.auth import bearer_token
from fazt.web.envelope import add_error_handlers
from fazt.web.spec import takes

CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"
# Any Host header names a "site"; beyond this many names, requests are counted under OTHER.
MAX_SITES = 1000
OTHER = "_other"
# Upper bounds of the latency histogram's buckets, in seconds (then +Inf).
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def escape_label(value: str) -> str:
    """A label value escaped per the text format: backslash, double quote and newline."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        return str(value)
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def family(name: str, kind: str, help_text: str,
           samples: Iterable[tuple[Optional[dict], float]]) -> list[str]:
    """The lines of one metric family: HELP, TYPE and its samples (C{(labels or None, value)})."""
    help_text = help_text.replace("\\", "\\\\").replace("\n", "\\n")
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        if labels:
            inner = ",".join(f'{k}="{escape_label(str(v))}"' for k, v in labels.items())
            lines.append(f"{name}{{{inner}}} {_number(value)}")
        else:
            lines.append(f"{name} {_number(value)}")
    return lines


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
        samples: list[tuple[str, dict, float]] = []
        for site, histogram in sorted(self.latency.items()):
            running = 0
            for bound, count in zip(BUCKETS + (float("inf"),), histogram):
                running += count
                samples.append(("_bucket", {"site": site, "le": "+Inf" if bound == float("inf") else repr(bound)},
                                running))
            samples.append(("_sum", {"site": site}, histogram[-1]))
            samples.append(("_count", {"site": site}, running))
        return samples


def histogram_family(name: str, help_text: str, samples: list[tuple[str, dict, float]]) -> list[str]:
    """The lines of a histogram family from L{RequestCounter.histogram_samples}."""
    lines = family(name, "histogram", help_text, [])
    for suffix, labels, value in samples:
        lines += family(name + suffix, "histogram", "", [(labels, value)])[2:]
    return lines


class MetricsEndpoint:
    """The C{/metrics} route."""

    app = Klein()

    def __init__(self, services: Any, counter: RequestCounter, token: Optional[str] = None) -> None:
        self.services = services
        self.counter = counter
        self._token = token.encode("utf-8") if token else None

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
        request.setHeader(b"content-type", CONTENT_TYPE)
        request.setHeader(b"cache-control", b"no-store")
        return self.render_text(db).encode("utf-8")

    def _scraper(self, request: Request) -> bool:
        """Whether the request carries the configured metrics token (constant-time compare)."""
        if self._token is None:
            return False
        token = bearer_token(request)
        return token is not None and hmac.compare_digest(token.encode("utf-8"), self._token)

    def render_text(self, db: dict) -> str:
        blobs = self.services.index.blobs
        workers = self.services.workers
        sockets = self._sockets()
        # This process's own clients (the per-process figures are summed across processes).
        local = getattr(sockets, "local_clients", None) or getattr(sockets, "clients", None)
        ws = [({"site": s}, local(s)) for s in sockets.sites()] if sockets is not None else []
        lines: list[str] = []
        lines += family("fazt_site_requests_total", "counter", "Requests to site hosts, by site.",
                        [({"site": s}, n) for s, n in sorted(self.counter.counts.items())])
        lines += family("fazt_site_responses_total", "counter", "Responses from site hosts, by site and status.",
                        [({"site": s, "code": c}, n) for (s, c), n in sorted(self.counter.statuses.items())])
        lines += histogram_family("fazt_site_request_duration_seconds",
                                  "Time from dispatch to the end of the response, by site.",
                                  self.counter.histogram_samples())
        lines += self._js_lines()
        lines += self._front_door_lines()
        lines += self._refusal_lines()
        lines += family("fazt_js_workers", "gauge", "JS worker processes in the pool.", [(None, workers.size)])
        lines += family("fazt_js_worker_restarts_total", "counter", "JS worker processes restarted.",
                        [(None, workers.restarts)])
        lines += family("fazt_deployments_total", "counter", "Deploys ever made to this cartridge.",
                        [(None, db["deploys"])])
        lines += family("fazt_deployments_stored", "gauge", "Deployments kept in the database (after pruning).",
                        [(None, db["deployments"])])
        lines += family("fazt_db_size_bytes", "gauge", "Database file plus write-ahead log, in bytes.",
                        [(None, db["db_size"])])
        lines += family("fazt_cache_bytes", "gauge", "Bytes held by the file cache.", [(None, blobs.size)])
        lines += family("fazt_cache_max_bytes", "gauge", "The file cache's capacity in bytes.",
                        [(None, blobs.max_bytes)])
        lines += family("fazt_cache_entries", "gauge", "Files held by the file cache.", [(None, len(blobs))])
        lines += family("fazt_cache_hits_total", "counter", "File cache hits.", [(None, blobs.hits)])
        lines += family("fazt_cache_misses_total", "counter", "File cache misses.", [(None, blobs.misses)])
        lines += family("fazt_websocket_connections", "gauge", "Open WebSocket connections, by site.", ws)
        lines += family("fazt_sites", "gauge", "Sites hosted.", [(None, db["sites"])])
        lines += family("fazt_certificate_expiry_timestamp_seconds", "gauge",
                        "When each stored TLS certificate expires (Unix time).",
                        [({"name": name}, float(not_after)) for name, not_after in db["certificates"]])
        return "\n".join(lines) + "\n"

    def _front_door_lines(self) -> list[str]:
        """The connection caps and request rate limits (SPEC §18), when the wiring set them up."""
        lines: list[str] = []
        connections = self.services.extras.get("connections")
        if connections is not None:
            lines += family("fazt_open_connections", "gauge", "Open client connections, every listener together.",
                            [(None, connections.open)])
            lines += family("fazt_connections_refused_total", "counter",
                            "Connections closed at accept by a cap, by reason (per_address, total).",
                            [({"reason": r}, n) for r, n in sorted(connections.refused.items())])
        rate_limit = self.services.extras.get("rate_limit")
        if rate_limit is not None:
            lines += family("fazt_rate_limited_total", "counter",
                            "Admin API requests answered 429 by the per-address rate limit, by bucket (api, login).",
                            [({"bucket": b}, n) for b, n in sorted(rate_limit.limited.items())])
        return lines

    # -- requests refused by the HTTP connection itself (issue 11) -----------------------
    # Refused before dispatch (no resource, no FaztSite.log, often no trustworthy Host), so they
    # have their own family by reason rather than a made-up site label in fazt_site_responses_total.

    def _refusal_lines(self) -> list[str]:
        refusals = self.services.extras.get("http_refusals")
        if refusals is None:
            return []
        return family("fazt_http_refused_total", "counter",
                      "Requests the HTTP connection refused itself, before dispatch, by reason (bad_request, "
                      "timeout, too_large, uri_too_long, headers_too_large, unauthorized, forbidden, ...).",
                      [({"reason": r}, n) for r, n in sorted(refusals.counts.items())])

    def _js_lines(self) -> list[str]:
        runs = sorted(getattr(self.services.apps, "runs", {}).items())
        lines = family("fazt_js_runs_total", "counter",
                       "Script runs by site and outcome (ok, exception, timeout, memory, crash, busy...).",
                       [({"site": s, "outcome": o}, n) for (s, o), n in runs])
        for kind, name, what in (("timeout", "fazt_js_timeouts_total", "ran out of CPU or wall time"),
                                 ("memory", "fazt_js_memory_failures_total", "ran out of memory")):
            lines += family(name, "counter", f"Script runs that {what}, by site.",
                            [({"site": s}, n) for (s, o), n in runs if o == kind])
        cron = _named(self.services.parent, "cron")
        if cron is not None:
            lines += family("fazt_cron_runs_total", "counter", "Scheduled runs by outcome (ok, failed, skipped).",
                            [({"outcome": o}, n) for o, n in sorted(cron.counts.items())])
        return lines


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
    services.root.mount_public("metrics", MetricsEndpoint(services, counter, token).app.resource())
