"""The scheduler: runs each app site's C{cron} entries through the JS worker pool.

Every minute (on an injected clock, UTC) it reads which app sites have a C{fazt.json} in their
active deployment (so a deploy or rollback changes the schedule at the next minute), and for each
entry due in that minute:

- skips it, with a warning in the site's log, if the entry's previous run is still going
  (a run never overlaps itself);
- claims the minute in SQLite (L{fazt.store.cron.claim_run}), so a restart, or a second process
  on the same cartridge, never runs the same minute twice; the minute in which the service starts
  is checked too, so a restart across a minute boundary does not miss it;
- runs the site's handler with a synthetic C{GET PATH} (header C{X-Fazt-Cron: 1}, the site's
  host) under the usual limits, and writes the outcome to the site's log (C{fazt logs}).

Runs missed while the server was down are not caught up, as with cron.
"""

from __future__ import annotations

import time
from typing import Any, Optional

from twisted.application.service import Service
from twisted.internet.defer import Deferred, DeferredList, inlineCallbacks, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from fazt.cron.config import CONFIG_FILE, ConfigError, CronEntry, parse_config
from fazt.runtime.scriptrequest import script_request
from fazt.store.cron import claim_run, cron_configs, record_outcome

_log = Logger()
# Parsed configs kept by blob hash; beyond this many the cache starts over.
MAX_CACHED_CONFIGS = 1024
CRON_HEADER = b"x-fazt-cron"


def site_host(site: str, domain: str) -> str:
    """The host a site is served on (C{root} is the bare domain)."""
    return domain if site == "root" else f"{site}.{domain}"


def _hhmm(minute: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(minute * 60))


class CronService(Service):
    """Runs scheduled requests against app sites; C{clock} provides C{seconds} and C{callLater}."""

    name = "cron"
    stop_first = True  # before connections drain and the workers stop (fazt.app.shutdown)

    def __init__(self, clock: IReactorTime, store: Any, index: Any, apps: Any, domain: str) -> None:
        self._clock = clock
        self._store = store
        self._index = index
        self._apps = apps
        self._domain = domain
        self._call = None
        self._last_minute: Optional[int] = None
        self._configs: dict[str, list[CronEntry]] = {}
        self._running: dict[tuple[str, str], Deferred] = {}
        self._checks: set[Deferred] = set()
        # For /metrics: runs that ended "ok" or "failed", and runs "skipped" for overlapping.
        self.counts = {"ok": 0, "failed": 0, "skipped": 0}

    # -- the service ------------------------------------------------------------------------

    def startService(self) -> None:
        super().startService()
        self._tick()

    def stopService(self) -> Deferred:
        """Start nothing new; fires when the runs in progress have ended."""
        super().stopService()
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
        # A check still reading starts nothing now (see _start); only runs are waited for.
        runs = list(self._running.values())
        return DeferredList(runs) if runs else succeed(None)

    @inlineCallbacks
    def idle(self):
        """Fires when no check or run is in progress (runs a check starts meanwhile included)."""
        while self._checks or self._running:
            yield DeferredList(list(self._checks) + list(self._running.values()))

    # -- every minute -----------------------------------------------------------------------

    def _tick(self) -> None:
        self._call = None
        if not self.running:
            return
        now = self._clock.seconds()
        minute = int(now // 60)
        # Just past the next boundary, so that float rounding never lands us in this minute again.
        self._call = self._clock.callLater((minute + 1) * 60 - now + 0.001, self._tick)
        if self._last_minute is not None and minute <= self._last_minute:
            return
        self._last_minute = minute
        check = self.check(minute)
        self._checks.add(check)
        check.addErrback(lambda f: _log.failure("cron: checking minute {minute} failed", f, minute=minute))
        check.addBoth(lambda _: self._checks.discard(check))

    @inlineCallbacks
    def check(self, minute: int):
        """Start every entry due in C{minute} (Unix seconds // 60); fires once they have started."""
        if len(self._configs) >= MAX_CACHED_CONFIGS:
            self._configs.clear()
        rows = yield self._store.read(cron_configs, CONFIG_FILE, frozenset(self._configs))
        for site, blob_hash, data in rows:
            entries = self._configs.get(blob_hash)
            if entries is None:
                entries = self._configs[blob_hash] = self._parse(site, data or b"")
            for entry in entries:
                if entry.schedule.matches(minute):
                    self._start(site, entry, minute)

    def _parse(self, site: str, data: bytes) -> list[CronEntry]:
        try:
            return parse_config(data)
        except ConfigError as exc:
            # Deploys refuse such files; one deployed before that check existed is ignored, once.
            self._apps.record(site, "error", f"cron: fazt.json ignored: {exc}")
            return []

    def _start(self, site: str, entry: CronEntry, minute: int) -> None:
        if not self.running:
            return
        key = (site, entry.key)
        if key in self._running:
            self.counts["skipped"] += 1
            self._apps.record(site, "warn", f"cron {entry.key}: skipped the run of {_hhmm(minute)}: "
                                            "the previous run is still going")
            return
        run = self._run(site, entry, minute)
        self._running[key] = run
        run.addErrback(lambda f: _log.failure("cron: a run of {site} failed", f, site=site))
        run.addBoth(self._ended, key)

    def _ended(self, _, key: tuple[str, str]) -> None:
        del self._running[key]

    @inlineCallbacks
    def _run(self, site: str, entry: CronEntry, minute: int):
        claimed = yield self._store.write(claim_run, site, entry.key, minute)
        if not claimed:
            return  # this minute already ran (before a restart, or in another process)
        state = yield self._index.load(site)
        if state is None or not state.is_app:
            return
        host = site_host(site, self._domain)
        request = script_request(b"GET", entry.path.encode("ascii"),
                                 [(b"host", [host.encode("ascii")]), (CRON_HEADER, [b"1"]),
                                  (b"user-agent", [b"fazt-cron"])], b"", "", host)
        started = time.monotonic()
        result = yield self._apps.run(state, request)
        elapsed_ms = round((time.monotonic() - started) * 1000)
        if result.failure is None:
            status = (result.response or {}).get("status", 200)
            outcome = f"ok {status}"
            self.counts["ok"] += 1
            level = "warn" if isinstance(status, int) and status >= 500 else "info"
            self._apps.record(site, level, f"cron {entry.key}: {status} in {elapsed_ms} ms")
        else:
            outcome = result.failure
            self.counts["failed"] += 1
            self._apps.record(site, "error", f"cron {entry.key}: failed ({result.failure}) "
                                             f"after {elapsed_ms} ms: {result.message}")
        yield self._store.write(record_outcome, site, entry.key, minute, outcome, self._clock.seconds())
