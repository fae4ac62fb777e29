"""Scheduled backups: the directory logic on real files, and the service driven by a Clock."""

from __future__ import annotations

import os

import pytest
import pytest_twisted
from twisted.internet import reactor as real_reactor
from twisted.internet.task import Clock
from twisted.logger import capturedLogs
from twisted.python.failure import Failure

from fazt.app.options import Options
from fazt.ops.backups import ScheduledBackups
from fazt.ops.durations import describe, parse_duration
from fazt.store.backup import BackupError, verify_cartridge
from fazt.store.db import open_cartridge
from fazt.store.snapshots import backup_name, is_due, list_backups, prune, scheduled_backup

HOUR = 3600.0
T0 = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC


class SyncReactor(Clock):
    """A Clock that also runs C{callFromThread} at once (for L{SyncPool})."""

    def callFromThread(self, f, *args, **kwargs):
        f(*args, **kwargs)


class SyncPool:
    """A thread pool that runs its work at once, in the calling thread; counts its lifecycle."""

    def __init__(self):
        self.started = self.stopped = 0

    def start(self):
        self.started += 1

    def stop(self):
        self.stopped += 1

    def callInThreadWithCallback(self, on_result, f, *args, **kwargs):
        try:
            result = f(*args, **kwargs)
        except BaseException:
            on_result(False, Failure())
        else:
            on_result(True, result)


@pytest.fixture
def db(tmp_path):
    path = str(tmp_path / "data.db")
    open_cartridge(path)
    return path


def test_durations():
    assert [parse_duration(t) for t in ("90", "90s", "30m", "6h", "1d", "2w", "1.5h")] == \
        [90, 90, 1800, 21600, 86400, 1209600, 5400]
    for bad in ("", "h", "-1h", "6 hours", "1y", "1e9"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    assert [describe(s) for s in (21600, 86400, 90, 604800, 1.5)] == ["6h", "1d", "90s", "1w", "1.5s"]


def test_options():
    options = Options()
    options.parseOptions(["--backup-dir", "b", "--backup-every", "6h", "--backup-keep", "3"])
    assert (options["backup-dir"], options["backup-every"], options["backup-keep"]) == \
        (os.path.abspath("b"), 21600.0, 3)
    defaults = Options()
    defaults.parseOptions([])
    assert (defaults["backup-dir"], defaults["backup-every"], defaults["backup-keep"]) == (None, 86400.0, 7)
    for bad in (["--backup-every", "soon"], ["--backup-every", "5"], ["--backup-keep", "0"],
                ["--backup-keep", "x"], ["--backup-dir", " "]):
        with pytest.raises(Exception, match="--backup"):
            Options().parseOptions(bad)


def test_due_make_and_prune(db, tmp_path):
    out = str(tmp_path / "backups")
    first = scheduled_backup(db, out, HOUR, 2, T0)
    assert first.path == os.path.join(out, backup_name(T0)) and first.size > 0 and first.removed == ()
    verify_cartridge(first.path)
    assert not is_due(out, HOUR, T0 + HOUR - 1) and is_due(out, HOUR, T0 + HOUR)
    assert scheduled_backup(db, out, HOUR, 2, T0 + 60).path is None
    (tmp_path / "backups" / "notes.txt").write_text("mine")
    (tmp_path / "backups" / (backup_name(T0 + 5) + ".partial")).write_bytes(b"crashed")
    second = scheduled_backup(db, out, HOUR, 2, T0 + HOUR)
    third = scheduled_backup(db, out, HOUR, 2, T0 + 2 * HOUR)
    assert third.removed == (first.path,)
    assert [path for _, path in list_backups(out)] == [second.path, third.path]
    assert sorted(os.listdir(out)) == sorted([os.path.basename(second.path), os.path.basename(third.path),
                                              "notes.txt"])
    assert prune(out, 1) == [second.path]


def test_the_service_backs_up_on_schedule_with_a_clock(db, tmp_path):
    clock, pool = SyncReactor(), SyncPool()
    clock.advance(T0)
    out = str(tmp_path / "backups")
    service = ScheduledBackups(db, out, HOUR, 3, clock, pool=pool)
    service.startService()
    assert pool.started == 1
    assert len(list_backups(out)) == 1  # a first backup at start, there being none
    for _ in range(59):
        clock.advance(60)
    assert len(list_backups(out)) == 1  # checked every minute, not yet due
    clock.advance(60)
    assert len(list_backups(out)) == 2
    for _ in range(5 * 60):
        clock.advance(60)
    assert [made for made, _ in list_backups(out)] == [T0 + 4 * HOUR, T0 + 5 * HOUR, T0 + 6 * HOUR]
    service.stopService()
    assert pool.stopped == 1 and not clock.getDelayedCalls()

    # A restart within the interval does not back up again at once.
    again = ScheduledBackups(db, out, HOUR, 3, clock, pool=SyncPool())
    again.startService()
    assert len(list_backups(out)) == 3 and again.last.path is None
    again.stopService()


def test_failures_are_logged_and_the_schedule_goes_on(db, tmp_path):
    clock = SyncReactor()
    calls = []

    def flaky(*args):
        calls.append(args)
        if len(calls) == 1:
            raise BackupError("disk full")
        if len(calls) == 2:
            raise RuntimeError("something unexpected")
        return scheduled_backup(*args)

    service = ScheduledBackups(db, str(tmp_path / "b"), 120, 2, clock, pool=SyncPool(), run=flaky)
    with capturedLogs() as events:
        service.startService()
        clock.advance(60)
        clock.advance(60)
    assert service.failures == 2 and service.last.path is not None
    messages = [e.get("log_format", "") for e in events]
    assert any("scheduled backup failed" in m for m in messages)
    assert any(e.get("message") == "disk full" for e in events)
    service.stopService()


@pytest_twisted.ensureDeferred
async def test_the_pool_is_a_real_thread_pool_started_and_stopped_with_the_service(db, tmp_path):
    clock = Clock()
    service = ScheduledBackups(db, str(tmp_path / "b"), HOUR, 2, real_reactor, clock=clock)
    service.startService()
    try:
        outcome = await service.check()  # the one at start is queued first: this one is not due
        assert service.last is not None and outcome is None
        assert len(list_backups(str(tmp_path / "b"))) == 1
    finally:
        await service.stopService()
    assert service._pool.pool.joined and not any(t.is_alive() for t in service._pool.pool.threads)
