"""System routes (SPEC §9): health, limits, cache, database and configuration. Admin keys only.

The original's fields, in snake_case: C{/api/system/health}, C{/api/system/limits},
C{/api/system/cache}, C{/api/system/db}, C{/api/system/config} and C{/api/config}.
"""

from __future__ import annotations

import os
from typing import Any, Optional

from twisted.internet.interfaces import IReactorTime
from twisted.internet.defer import inlineCallbacks
from twisted.web.server import Request

import fazt
from fazt.api.siteroutes import exact_paths_app
from fazt.store.facts import database_facts
from fazt.web.envelope import add_error_handlers, ok
from fazt.web.spec import takes

MIB = 1024 * 1024
DEFAULT_RAM = 512 * MIB
# cgroup v1 reports "no limit" as a huge number; below this it is a real limit.
_CGROUP_UNLIMITED = 1 << 50


def _read_int(path: str) -> Optional[int]:
    try:
        with open(path, encoding="ascii") as f:
            text = f.read().strip()
        return int(text) if text and text != "max" else None
    except (OSError, ValueError):
        return None


def _meminfo(field: str) -> Optional[int]:
    """A C{/proc/meminfo} value in bytes."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def total_ram() -> int:
    """The memory this process may use: its cgroup's limit, else the machine's, else 512 MiB."""
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        limit = _read_int(path)
        if limit is not None and 0 < limit < _CGROUP_UNLIMITED:
            return limit
    return _meminfo("MemTotal") or DEFAULT_RAM


def available_ram() -> int:
    """Memory still free for use (the lesser of the machine's and the cgroup's headroom)."""
    free = _meminfo("MemAvailable") or total_ram()
    used = _read_int("/sys/fs/cgroup/memory.current")
    limit = total_ram()
    if used is not None and limit > used:
        free = min(free, limit - used)
    return free


def rss_bytes() -> int:
    """This process's resident memory, from C{/proc/self/statm} (0 where there is no /proc)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class SystemApi:
    """Routes under C{/api/system} and C{/api/config}."""

    app = exact_paths_app()
    paths = ('system', 'config')  # served under /api/PATH

    def __init__(self, store: Any, auth: Any, config: Any, domain: str, blobs: Any, workers: Any,
                 backups: Any, clock: IReactorTime) -> None:
        """C{config}: the parsed options; C{blobs}: the file cache (L{fazt.store.blobcache.ByteLRU});
        C{workers}: the script pool; C{backups}: the downloads (L{fazt.api.backup.BackupDownloads})."""
        self.store = store
        self.auth = auth
        self.options = config
        self.domain = domain
        self.blobs = blobs
        self.workers = workers
        self.backups = backups
        self._clock = clock
        self._started = clock.seconds()

    @inlineCallbacks
    def _admin(self, request: Request):
        yield self.auth.api_key(request)

    def _option(self, name: str, default: Any) -> Any:
        try:
            return self.options[name]
        except (KeyError, TypeError):
            return default

    def cache_stats(self) -> dict:
        blobs = self.blobs
        lookups = blobs.hits + blobs.misses
        return {
            "cached_files": len(blobs),
            "cache_size_bytes": blobs.size,
            "max_bytes": blobs.max_bytes,
            "hits": blobs.hits,
            "misses": blobs.misses,
            "hit_ratio": round(blobs.hits / lookups, 4) if lookups else 0.0,
        }

    def config_json(self) -> dict:
        return {"version": fazt.__version__, "domain": self.domain,
                "env": self._option("env", "development"), "https": bool(self._option("https", []))}

    @app.route("/system/health", methods=["GET"])
    @inlineCallbacks
    def health(self, request: Request):
        yield self._admin(request)
        db = yield self.store.read(database_facts, self.store.path)
        cache = self.cache_stats()
        rss, limit = rss_bytes(), total_ram()
        workers = self.workers
        return ok(request, {
            "status": "healthy",
            "version": fazt.__version__,
            "mode": self._option("env", "development"),
            "uptime_seconds": int(self._clock.seconds() - self._started),
            "sites": db["sites"],
            "memory": {"rss_bytes": rss, "used_mb": round(rss / MIB, 1), "limit_mb": round(limit / MIB, 1),
                       "vfs_cache_mb": round(cache["cache_size_bytes"] / MIB, 1)},
            "database": {k: db[k] for k in ("path", "size_bytes", "wal_size_bytes")},
            "cache": cache,
            "runtime": {"js_workers": workers.size, "js_worker_restarts": workers.restarts},
        })

    @app.route("/system/limits", methods=["GET"])
    @inlineCallbacks
    def limits(self, request: Request):
        yield self._admin(request)
        return ok(request, {
            "total_ram": total_ram(),
            "available_ram": available_ram(),
            "cpu_count": os.cpu_count() or 1,
            "max_archive_bytes": self._option("max-archive-mb", 0) * MIB,
            "max_unpacked_bytes": self._option("max-unpacked-mb", 0) * MIB,
            "max_entries": self._option("max-entries", 0),
            "max_request_bytes": MIB,
            "cache_max_bytes": self.blobs.max_bytes,
            "keep_deployments": self._option("keep-deployments", 0),
            "js_cpu_ms": self._option("js-cpu-ms", 0),
            "js_wall_seconds": self._option("js-wall-seconds", 0),
            "js_workers": self.workers.size,
        })

    @app.route("/system/cache", methods=["GET"])
    @inlineCallbacks
    def cache(self, request: Request):
        yield self._admin(request)
        return ok(request, self.cache_stats())

    @app.route("/system/db", methods=["GET"])
    @inlineCallbacks
    def db(self, request: Request):
        yield self._admin(request)
        facts = yield self.store.read(database_facts, self.store.path)
        return ok(request, facts)

    @app.route("/system/config", methods=["GET"])
    @inlineCallbacks
    def config(self, request: Request):
        yield self._admin(request)
        return ok(request, self.config_json())

    @app.route("/system/backup", methods=["GET", "POST"])
    @takes(answer_media="application/vnd.sqlite3", answer_schema={"type": "string", "format": "binary"},
           errors=(429, 500), headers={"Content-Disposition": {"schema": {"type": "string"}, "required": True}})
    def backup(self, request: Request):
        """A consistent snapshot of the cartridge as a download (L{fazt.api.backup})."""
        return self.backups.download(request)

    @app.route("/config", methods=["GET"])
    def legacy_config(self, request: Request):
        """The original's C{/api/config}, the same as C{/api/system/config}."""
        return self.config(request)


add_error_handlers(SystemApi.app)
