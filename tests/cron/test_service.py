"""The scheduler on a L{Clock}, with a real cartridge, real worker processes and real KV writes."""

from __future__ import annotations

import calendar
import hashlib
import json
import sqlite3
import time

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock, deferLater

from fazt.cron.service import CronService
from fazt.runtime.host import HostApi
from fazt.runtime.pool import WorkerPool
from fazt.store.batch import BatchWriter
from fazt.store.blobcache import ByteLRU
from fazt.store.db import Store
from fazt.store.sites import BlobContent, NewFile, commit_deployment
from fazt.web.apps import AppRenderer
from fazt.web.sitestate import SiteIndex
from fazt_testing import fresh_cartridge, sql

SCRIPT = """
if (req.headers["x-fazt-cron"] !== "1") {
  res.status(400).send("not a cron run");
} else {
  if (req.path === "/slow") { fetch("https://slow.example/"); }
  if (req.path === "/fail") { throw new Error("boom"); }
  db.incr("runs:" + req.path, 1);
  console.log("ran " + req.path + " on " + req.host);
  res.send("done");
}
"""
TEN = calendar.timegm((2026, 12, 1, 10, 0, 0, 0, 0, 0))  # 2026-12-01 10:00 UTC


class HeldFetches:
    """A fetcher whose answers the test releases: a run waits in it for as long as the test likes."""

    def __init__(self) -> None:
        self.waiting: list[Deferred] = []

    def fetch(self, url, method="GET", headers=None, body=None) -> Deferred:
        d: Deferred = Deferred()
        self.waiting.append(d)
        return d

    def release(self) -> None:
        waiting, self.waiting = self.waiting, []
        for d in waiting:
            d.callback({"status": 200, "headers": {}, "body": "ok"})


class Parts:
    def __init__(self, db: str) -> None:
        self.db = db
        self.store = Store(db, reactor)
        self.store.startService()
        self.index = SiteIndex(self.store, ByteLRU(8 * 1024 * 1024))
        self.writer = BatchWriter(self.store)
        self.fetches = HeldFetches()
        self.pool = WorkerPool(reactor, HostApi(self.store, self.writer, self.fetches, clock=reactor), size=1)
        self.pool.startService()
        self.apps = AppRenderer(self.pool, self.store, self.writer, self.index, clock=reactor)

    def cron(self, at: float) -> tuple[CronService, Clock]:
        clock = Clock()
        clock.advance(at)
        return CronService(clock, self.store, self.index, self.apps, "example.test"), clock

    async def deploy(self, site: str, entries: list[dict]) -> None:
        files = {"main.js": SCRIPT.encode(), "fazt.json": json.dumps({"cron": entries}).encode()}
        new = [NewFile(path, hashlib.sha256(data).hexdigest(), len(data), "text/plain",
                       lambda data=data: BlobContent(data, None, None)) for path, data in files.items()]
        await self.store.write(commit_deployment, site, new, "test", time.time(), 20)
        self.index.invalidate(site)

    def runs(self, site: str, path: str):
        rows = sql(self.db, "SELECT value FROM kv WHERE site_name = ? AND key = ?", site, f"runs:{path}")
        return json.loads(rows[0][0]) if rows else 0

    def logs(self, site: str) -> list[tuple[str, str]]:
        return [tuple(r) for r in sql(self.db, "SELECT level, message FROM site_logs WHERE site_name = ? ORDER BY id", site)]

    async def settle(self, cron: CronService) -> None:
        """Wait for the scheduler's work, then for the batched KV and log writes behind it."""
        await cron.idle()
        while not self.writer.idle:
            await deferLater(reactor, 0.01, lambda: None)


@pytest.fixture
def parts(tmp_path):
    db = str(tmp_path / "data.db")
    fresh_cartridge(db)
    built = Parts(db)
    yield built
    pytest_twisted.blockon(built.pool.stopService())
    built.store.stopService()


async def advance_to(cron, clock, parts, when: float) -> None:
    """Move the clock to a second past C{when} (ticks come just after each minute's start)."""
    clock.advance(when + 1 - clock.seconds())
    await parts.settle(cron)


@pytest_twisted.ensureDeferred
async def test_runs_on_schedule_and_its_kv_write_is_visible(parts):
    await parts.deploy("jobs", [{"schedule": "*/5 * * * *", "path": "/count"}])
    cron, clock = parts.cron(TEN + 1)
    cron.startService()
    await parts.settle(cron)
    assert parts.runs("jobs", "/count") == 1  # the minute it started in is due
    for m in range(1, 5):
        await advance_to(cron, clock, parts, TEN + m * 60)
    assert parts.runs("jobs", "/count") == 1
    await advance_to(cron, clock, parts, TEN + 5 * 60)
    assert parts.runs("jobs", "/count") == 2
    cron.stopService()
    logs = parts.logs("jobs")
    assert ("info", "ran /count on jobs.example.test") in logs
    assert [m for level, m in logs if m.startswith("cron */5 * * * * /count: 200 in ")] and len(
        [1 for _, m in logs if m.startswith("cron ")]) == 2
    assert sql(parts.db, "SELECT last_outcome FROM cron_runs WHERE site_name = 'jobs'") == [("ok 200",)]


@pytest_twisted.ensureDeferred
async def test_a_run_never_overlaps_itself(parts):
    await parts.deploy("jobs", [{"schedule": "* * * * *", "path": "/slow"}])
    cron, clock = parts.cron(TEN + 1)
    cron.startService()
    while not parts.fetches.waiting:  # the 10:00 run is now inside its fetch
        await deferLater(reactor, 0.01, lambda: None)
    clock.advance(60)  # 10:01:01: 10:01 is due while 10:00 still runs
    while not cron.counts["skipped"]:
        await deferLater(reactor, 0.01, lambda: None)
    assert len(parts.fetches.waiting) == 1
    parts.fetches.release()
    await parts.settle(cron)
    assert parts.runs("jobs", "/slow") == 1
    assert ("warn", "cron * * * * * /slow: skipped the run of 2026-12-01 10:01 UTC: the previous run is still going") \
        in parts.logs("jobs")
    assert cron.counts == {"ok": 1, "failed": 0, "skipped": 1}
    clock.advance(60)  # 10:02: free to run again
    while not parts.fetches.waiting:
        await deferLater(reactor, 0.01, lambda: None)
    parts.fetches.release()
    await parts.settle(cron)
    assert parts.runs("jobs", "/slow") == 2
    cron.stopService()


@pytest_twisted.ensureDeferred
async def test_failures_are_logged(parts):
    await parts.deploy("jobs", [{"schedule": "@hourly", "path": "/fail"}])
    cron, clock = parts.cron(TEN + 2)
    cron.startService()
    await parts.settle(cron)
    cron.stopService()
    logs = parts.logs("jobs")
    assert any(level == "error" and "boom" in message for level, message in logs), logs
    assert any(level == "error" and message.startswith("cron @hourly /fail: failed (exception) after ")
               for level, message in logs), logs
    assert sql(parts.db, "SELECT last_outcome FROM cron_runs") == [("exception",)]
    assert parts.runs("jobs", "/fail") == 0


@pytest_twisted.ensureDeferred
async def test_a_restart_never_runs_the_same_minute_twice(parts):
    await parts.deploy("jobs", [{"schedule": "* * * * *", "path": "/count"}])
    first, _ = parts.cron(TEN + 1)
    first.startService()
    await parts.settle(first)
    await first.stopService()
    assert parts.runs("jobs", "/count") == 1
    second, clock = parts.cron(TEN + 30)  # restarted within the same minute
    second.startService()
    await parts.settle(second)
    assert parts.runs("jobs", "/count") == 1
    await advance_to(second, clock, parts, TEN + 60)
    assert parts.runs("jobs", "/count") == 2
    await second.stopService()


@pytest_twisted.ensureDeferred
async def test_a_redeploy_changes_the_schedule(parts):
    await parts.deploy("jobs", [{"schedule": "30 * * * *", "path": "/a"}])
    cron, clock = parts.cron(TEN + 1)
    cron.startService()
    await parts.settle(cron)
    await parts.deploy("jobs", [{"schedule": "* * * * *", "path": "/b"}])
    await advance_to(cron, clock, parts, TEN + 60)
    cron.stopService()
    assert (parts.runs("jobs", "/a"), parts.runs("jobs", "/b")) == (0, 1)
