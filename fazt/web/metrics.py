"""C{GET /metrics} on the admin host (SPEC §12): Prometheus text exposition format 0.0.4.

Written by hand (no client library at runtime). Admin only: an admin bearer key or an admin
session; 401/403 in the envelope otherwise. Per-site series are labelled C{site="NAME"}.

Requests are counted per site by a site hook that only increments a dict entry: the static
fast path pays a dict lookup and nothing more (no Deferred, no timing, so no status or latency
series).
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Optional

from klein import Klein
from twisted.internet.defer import inlineCallbacks
from twisted.web.server import Request

from fazt.web.api.common import add_error_handlers
from fazt.web.auth import require

CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"
# Any Host header names a "site"; beyond this many names, requests are counted under OTHER.
MAX_SITES = 10000
OTHER = "_other"


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
    """Requests to site hosts, per site name; C{hook} is a root site hook."""

    def __init__(self, max_sites: int = MAX_SITES) -> None:
        self.counts: dict[str, int] = {}
        self._max = max_sites

    def hook(self, request: Request, site: str) -> None:
        counts = self.counts
        try:
            counts[site] += 1
        except KeyError:
            if len(counts) >= self._max:
                site = OTHER
            counts[site] = counts.get(site, 0) + 1


def _file_size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _db_figures(conn, path: str) -> dict:
    """Figures read on a store thread (file sizes too: a stat may block)."""
    return {
        "db_size": _file_size(path) + _file_size(path + "-wal"),
        "deployments": conn.execute("SELECT COUNT(*) FROM deployments").fetchone()[0],
        "sites": conn.execute("SELECT COUNT(*) FROM sites").fetchone()[0],
        "certificates": conn.execute("SELECT name, not_after FROM certificates ORDER BY name").fetchall(),
    }


class MetricsEndpoint:
    """The C{/metrics} route."""

    app = Klein()

    def __init__(self, services: Any, counter: RequestCounter) -> None:
        self.services = services
        self.counter = counter

    def _sockets(self):
        return self.services.extras.get("sockets")

    @app.route("/metrics", methods=["GET"])
    @inlineCallbacks
    def metrics(self, request: Request):
        principal = yield self.services.auth.api_key(request)
        require(principal)
        store = self.services.store
        db = yield store.read(_db_figures, store.path)
        request.setHeader(b"content-type", CONTENT_TYPE)
        request.setHeader(b"cache-control", b"no-store")
        return self.render_text(db).encode("utf-8")

    def render_text(self, db: dict) -> str:
        blobs = self.services.index.blobs
        workers = self.services.workers
        sockets = self._sockets()
        ws = [({"site": s}, sockets.clients(s)) for s in sockets.sites()] if sockets is not None else []
        lines: list[str] = []
        lines += family("fazt_site_requests_total", "counter", "Requests to site hosts, by site.",
                        [({"site": s}, n) for s, n in sorted(self.counter.counts.items())])
        lines += family("fazt_js_workers", "gauge", "JS worker processes in the pool.", [(None, workers.size)])
        lines += family("fazt_js_worker_restarts_total", "counter", "JS worker processes restarted.",
                        [(None, workers.restarts)])
        lines += family("fazt_deployments_total", "counter", "Deployments recorded in the database.",
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


add_error_handlers(MetricsEndpoint.app)


def mount(services) -> None:
    """Serve C{/metrics} on the admin host and count requests to hosted sites."""
    counter = RequestCounter()
    services.extras["request_counter"] = counter
    services.root.add_site_hook(counter.hook)
    services.root.mount_public("metrics", MetricsEndpoint(services, counter).app.resource())
