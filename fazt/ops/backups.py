"""Scheduled backups (C{--backup-dir}, C{--backup-every}, C{--backup-keep}).

A L{TimerService} looks about once a minute whether a backup is due (L{fazt.store.snapshots}
decides from the files already there, so a restart does not start the interval over) and makes
it on a thread pool this service owns: the reactor never waits on the copy, and neither does
the store's writer. A failure is logged and the next check tries again; it never stops the
timer nor the server.
"""

from __future__ import annotations

from typing import Callable, Optional

from twisted.application.internet import TimerService
from twisted.application.service import MultiService
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool

from fazt.base.threads import ThreadPoolService
from fazt.ops.durations import describe
from fazt.store.backup import BackupError
from fazt.store.snapshots import Outcome, scheduled_backup

_log = Logger()
# How often to look whether a backup is due, at most.
CHECK_SECONDS = 60.0


class ScheduledBackups(MultiService):
    """Backs C{db_path} up into C{directory} every C{interval} seconds, keeping C{keep} files."""

    def __init__(self, db_path: str, directory: str, interval: float, keep: int, reactor: IReactorTime,
                 clock: Optional[IReactorTime] = None, pool: Optional[ThreadPool] = None,
                 run: Callable[..., Outcome] = scheduled_backup) -> None:
        super().__init__()
        self.db_path = db_path
        self.directory = directory
        self.interval = interval
        self.keep = keep
        self._reactor = reactor
        self._clock = clock or reactor
        self._run = run
        self.last: Optional[Outcome] = None
        self.failures = 0
        self._pool = ThreadPoolService(pool or ThreadPool(1, 1, name="fazt-scheduled-backup"))
        self._pool.setServiceParent(self)
        timer = TimerService(min(interval, CHECK_SECONDS), self.check)
        timer.clock = self._clock
        timer.setServiceParent(self)

    def startService(self) -> None:
        super().startService()
        _log.info("backups of {db} every {every} into {directory}, keeping {keep}", db=self.db_path,
                  every=describe(self.interval), directory=self.directory, keep=self.keep)

    def check(self) -> Deferred:
        """Make a backup if one is due; the Deferred never fails (the timer would stop)."""
        now = self._clock.seconds()
        running = deferToThreadPool(self._reactor, self._pool.pool, self._run, self.db_path,
                                    self.directory, self.interval, self.keep, now)
        return running.addCallbacks(self._done, self._failed)

    def _done(self, outcome: Outcome) -> None:
        self.last = outcome
        if outcome.path is not None:
            _log.info("backup written to {path} ({size} bytes)", path=outcome.path, size=outcome.size)
        for path in outcome.removed:
            _log.info("old backup {path} removed", path=path)

    def _failed(self, failure: Failure) -> None:
        self.failures += 1
        if failure.check(BackupError):
            _log.error("scheduled backup failed: {message}", message=failure.value.message)
        else:
            _log.failure("scheduled backup failed", failure)
