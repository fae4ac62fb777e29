"""The figures of C{/metrics}: one process's, as plain JSON-able data, and their text (SPEC §12, §19).

L{process_figures} reads what this process counted (requests by site, script runs, sockets,
the front door, the file cache, cron) into nested dicts and lists of numbers, the shape the
processes of one platform exchange on the bus and add up (L{fazt.web.metricsshare}); L{render}
writes the sum, with the store's own figures (the same in every process, so read once), in the
Prometheus text format. Keys of the dicts are strings (JSON), status codes included.
"""

from __future__ import annotations

from typing import Any, Optional

from fazt.web.promtext import BUCKETS, family, histogram_family

# The parts of the figures kept by site (each a C{{site: ...}} dict); the rest is process-wide.
SITE_KEYS = ("requests", "responses", "latency", "runs", "ws")


def process_figures(services: Any, counter: Any, cron: Optional[Any] = None) -> dict:
    """This process's figures as plain data (see the module's notes)."""
    blobs = services.index.blobs
    workers = services.workers
    extras = services.extras
    responses: dict[str, dict[str, int]] = {}
    for (site, code), n in counter.statuses.items():
        responses.setdefault(site, {})[str(code)] = n
    runs: dict[str, dict[str, int]] = {}
    for (site, outcome), n in getattr(services.apps, "runs", {}).items():
        runs.setdefault(site, {})[outcome] = n
    sockets = extras.get("sockets")
    # This process's own clients: the figures of all processes are added up.
    local = getattr(sockets, "local_clients", None) or getattr(sockets, "clients", None)
    figures: dict = {
        "requests": dict(counter.counts),
        "responses": responses,
        "latency": {site: list(histogram) for site, histogram in counter.latency.items()},
        "runs": runs,
        "ws": {site: local(site) for site in sockets.sites()} if sockets is not None else {},
        "workers": workers.size,
        "restarts": workers.restarts,
        "cache": {"bytes": blobs.size, "max": blobs.max_bytes, "entries": len(blobs), "hits": blobs.hits,
                  "misses": blobs.misses},
    }
    connections = extras.get("connections")
    if connections is not None:
        figures["connections"] = {"open": connections.open, "refused": dict(connections.refused)}
    rate_limit = extras.get("rate_limit")
    if rate_limit is not None:
        figures["rate_limited"] = dict(rate_limit.limited)
    refusals = extras.get("http_refusals")
    if refusals is not None:
        figures["refused"] = dict(refusals.counts)
    if cron is not None:
        figures["cron"] = dict(cron.counts)
    return figures


def render(figures: dict, db: dict) -> str:
    """The text of C{/metrics}: C{figures} (one process's or a sum) and the store's C{db} figures."""
    cache = figures.get("cache", {})
    lines: list[str] = []
    lines += family("fazt_site_requests_total", "counter", "Requests to site hosts, by site.",
                    [({"site": s}, n) for s, n in sorted(figures.get("requests", {}).items())])
    statuses = sorted((s, int(c), n) for s, codes in figures.get("responses", {}).items() for c, n in codes.items())
    lines += family("fazt_site_responses_total", "counter", "Responses from site hosts, by site and status.",
                    [({"site": s, "code": c}, n) for s, c, n in statuses])
    lines += histogram_family("fazt_site_request_duration_seconds",
                              "Time from dispatch to the end of the response, by site.",
                              histogram_samples(figures.get("latency", {})))
    lines += _js_lines(figures)
    lines += _front_door_lines(figures)
    if "refused" in figures:
        # Refused before dispatch (no resource, often no trustworthy Host): a family of their own by
        # reason rather than a made-up site label in fazt_site_responses_total (issue 11).
        lines += family("fazt_http_refused_total", "counter",
                        "Requests the HTTP connection refused itself, before dispatch, by reason (bad_request, "
                        "timeout, too_large, uri_too_long, headers_too_large, unauthorized, forbidden, ...).",
                        [({"reason": r}, n) for r, n in sorted(figures["refused"].items())])
    lines += family("fazt_js_workers", "gauge", "JS worker processes in the pool.", [(None, figures.get("workers", 0))])
    lines += family("fazt_js_worker_restarts_total", "counter", "JS worker processes restarted.",
                    [(None, figures.get("restarts", 0))])
    lines += family("fazt_deployments_total", "counter", "Deploys ever made to this cartridge.",
                    [(None, db["deploys"])])
    lines += family("fazt_deployments_stored", "gauge", "Deployments kept in the database (after pruning).",
                    [(None, db["deployments"])])
    lines += family("fazt_db_size_bytes", "gauge", "Database file plus write-ahead log, in bytes.",
                    [(None, db["db_size"])])
    lines += family("fazt_cache_bytes", "gauge", "Bytes held by the file cache.", [(None, cache.get("bytes", 0))])
    lines += family("fazt_cache_max_bytes", "gauge", "The file cache's capacity in bytes.",
                    [(None, cache.get("max", 0))])
    lines += family("fazt_cache_entries", "gauge", "Files held by the file cache.", [(None, cache.get("entries", 0))])
    lines += family("fazt_cache_hits_total", "counter", "File cache hits.", [(None, cache.get("hits", 0))])
    lines += family("fazt_cache_misses_total", "counter", "File cache misses.", [(None, cache.get("misses", 0))])
    lines += family("fazt_websocket_connections", "gauge", "Open WebSocket connections, by site.",
                    [({"site": s}, n) for s, n in sorted(figures.get("ws", {}).items())])
    lines += family("fazt_sites", "gauge", "Sites hosted.", [(None, db["sites"])])
    lines += family("fazt_certificate_expiry_timestamp_seconds", "gauge",
                    "When each stored TLS certificate expires (Unix time).",
                    [({"name": name}, float(not_after)) for name, not_after in db["certificates"]])
    return "\n".join(lines) + "\n"


def histogram_samples(latency: dict) -> list[tuple[str, dict, float]]:
    """C{(suffix, labels, value)} of the latency histogram, cumulative as the format wants.

    C{latency} holds per site one count per bucket (not cumulative; the last is +Inf), then the sum.
    """
    samples: list[tuple[str, dict, float]] = []
    for site, histogram in sorted(latency.items()):
        running = 0
        for bound, count in zip(BUCKETS + (float("inf"),), histogram):
            running += count
            samples.append(("_bucket", {"site": site, "le": "+Inf" if bound == float("inf") else repr(bound)},
                            running))
        samples.append(("_sum", {"site": site}, histogram[-1]))
        samples.append(("_count", {"site": site}, running))
    return samples


def _front_door_lines(figures: dict) -> list[str]:
    """The connection caps and request rate limits (SPEC §18), when the wiring set them up."""
    lines: list[str] = []
    connections = figures.get("connections")
    if connections is not None:
        lines += family("fazt_open_connections", "gauge", "Open client connections, every listener together.",
                        [(None, connections["open"])])
        lines += family("fazt_connections_refused_total", "counter",
                        "Connections closed at accept by a cap, by reason (per_address, total).",
                        [({"reason": r}, n) for r, n in sorted(connections["refused"].items())])
    if "rate_limited" in figures:
        lines += family("fazt_rate_limited_total", "counter",
                        "Admin API requests answered 429 by the per-address rate limit, by bucket (api, login).",
                        [({"bucket": b}, n) for b, n in sorted(figures["rate_limited"].items())])
    return lines


def _js_lines(figures: dict) -> list[str]:
    runs = sorted((s, o, n) for s, outcomes in figures.get("runs", {}).items() for o, n in outcomes.items())
    lines = family("fazt_js_runs_total", "counter",
                   "Script runs by site and outcome (ok, exception, timeout, memory, crash, busy...).",
                   [({"site": s, "outcome": o}, n) for s, o, n in runs])
    for kind, name, what in (("timeout", "fazt_js_timeouts_total", "ran out of CPU or wall time"),
                             ("memory", "fazt_js_memory_failures_total", "ran out of memory")):
        lines += family(name, "counter", f"Script runs that {what}, by site.",
                        [({"site": s}, n) for s, o, n in runs if o == kind])
    if "cron" in figures:
        lines += family("fazt_cron_runs_total", "counter", "Scheduled runs by outcome (ok, failed, skipped).",
                        [({"outcome": o}, n) for o, n in sorted(figures["cron"].items())])
    return lines
