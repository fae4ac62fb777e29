"""The retention service on a real Store and SQLite file, its timer driven by a Clock."""

from __future__ import annotations

import sqlite3

import pytest
import pytest_twisted
from twisted.internet.defer import fail
from twisted.internet.task import Clock
from twisted.logger import capturedLogs

from fazt.app.options import Options
from fazt.ops.retention import FIRST_DELAY, INTERVAL, RetentionService, policy_from
from fazt.store.db import Store
from fazt.store.retention import DAY, RetentionPolicy

NOW = 1_800_000_000.0


def add_old_logs(db: str, n: int, age_days: float = 40) -> None:
    conn = sqlite3.connect(db)
    with conn:
        conn.executemany("INSERT INTO site_logs (site_name, level, message, created_at) VALUES ('blog', 'info', ?, ?)",
                         [(str(i), NOW - age_days * DAY) for i in range(n)])
    conn.close()


def log_count(db: str) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT count(*) FROM site_logs").fetchone()[0]
    finally:
        conn.close()


class CountingStore:
    """A real Store that counts its write transactions."""

    def __init__(self, store: Store):
        self.store, self.writes = store, 0

    def write(self, fn, *args, **kwargs):
        self.writes += 1
        return self.store.write(fn, *args, **kwargs)



def test_options_and_policy():
    options = Options()
    options.parseOptions(["--retain-logs-days", "7", "--retain-events-days", "0", "--retain-audit-days", "1.5",
                          "--retain-logs-per-site", "0"])
    assert policy_from(options) == RetentionPolicy(logs_days=7, events_days=0, audit_days=1.5, logs_per_site=0)
    defaults = Options()
    defaults.parseOptions([])
    assert policy_from(defaults) == RetentionPolicy(logs_days=30, events_days=365, audit_days=365,
                                                    logs_per_site=10000)
    for bad in (["--retain-logs-days", "-1"], ["--retain-audit-days", "soon"], ["--retain-logs-per-site", "-2"]):
        with pytest.raises(Exception, match="--retain"):
            Options().parseOptions(bad)


@pytest_twisted.ensureDeferred
async def test_prunes_at_start_and_every_interval_in_bounded_batches(store):
    add_old_logs(store.path, 250)
    add_old_logs(store.path, 3, age_days=1)
    clock = Clock()
    clock.advance(NOW)
    counting = CountingStore(store)
    service = RetentionService(counting, RetentionPolicy(), clock, batch=100)
    service.startService()
    try:
        assert service.current is None  # nothing at start: a cold start is not slowed down
        clock.advance(FIRST_DELAY)
        deleted = await service.current
        assert deleted["site_logs"] == 250 and log_count(store.path) == 3
        assert counting.writes == 3  # 100 + 100 + 50: three short transactions, not one long one
        add_old_logs(store.path, 20)
        clock.advance(INTERVAL - FIRST_DELAY - 1)
        assert log_count(store.path) == 23  # not yet
        clock.advance(1)
        await service.current
        assert log_count(store.path) == 3 and service.totals["site_logs"] == 270 and service.runs == 2
        clock.advance(2 * DAY)  # time goes on: the last three lines are now 3 days old, still kept
        await service.current
        assert log_count(store.path) == 3
    finally:
        await service.stopService()
    assert not clock.getDelayedCalls()


@pytest_twisted.ensureDeferred
async def test_a_failing_pass_is_logged_and_the_next_one_runs(store):
    clock = Clock()
    clock.advance(NOW)

    class Broken:
        calls = 0

        def write(self, fn, *args):
            Broken.calls += 1
            if Broken.calls == 1:
                return fail(sqlite3.OperationalError("database is locked"))
            return store.write(fn, *args)

    service = RetentionService(Broken(), RetentionPolicy(), clock, first_delay=0)
    with capturedLogs() as events:
        service.startService()
        clock.advance(0)
        assert await service.current is None
    assert service.failures == 1
    assert any("retention pruning failed" in e.get("log_format", "") for e in events)
    add_old_logs(store.path, 5)
    clock.advance(INTERVAL)
    assert (await service.current)["site_logs"] == 5
    await service.stopService()
