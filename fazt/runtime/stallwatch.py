"""The parent's watch over its JS workers: one that stops answering, or never starts, is killed.

A worker serves its runs in slices and answers frames between them, so a worker that holds runs
and sends nothing for a whole period (while it is not waiting on the parent's answer to a sync
call) is pinged; silent for another period, it is killed (its runs then fail "crash" and it is
replaced, see L{fazt.runtime.pool}). A worker that has not sent C{ready} after C{START_TICKS}
periods is killed too. One timer, ticking only while some worker holds runs or is starting.
"""

from __future__ import annotations

from typing import Callable, Iterable, Optional

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger

from fazt.runtime.workerproc import WorkerProcess

START_TICKS = 4
"""Periods a worker may take to send C{ready}."""

_log = Logger()


class StallWatch:
    """Ticks every C{period} seconds while C{workers()} has a worker holding runs or starting."""

    def __init__(self, clock: IReactorTime, period: float, workers: Callable[[], Iterable[WorkerProcess]]) -> None:
        self._clock = clock
        self.period = period
        self._workers = workers
        self._timer: Optional[IDelayedCall] = None
        self._stopped = False

    def start(self) -> None:
        """Watch again (after L{stop})."""
        self._stopped = False

    def stop(self) -> None:
        """Stop ticking."""
        self._stopped = True
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def poke(self) -> None:
        """Something changed (a run sent, a worker spawned): tick if there is anything to watch."""
        if self._timer is None and not self._stopped and any(w.runs or not w.ready for w in self._workers()):
            self._timer = self._clock.callLater(self.period, self._tick)

    def _tick(self) -> None:
        self._timer = None
        for worker in list(self._workers()):
            if not worker.ready:
                worker.seen += 1  # ticks spent starting; one that never gets ready holds its slot for ever
                if worker.seen >= START_TICKS:
                    _log.warn("JS worker {pid} did not start; killing it", pid=worker.pid)
                    worker.kill()
                continue
            silent = worker.runs and not worker.sync_calls and worker.frames == worker.seen
            worker.seen = worker.frames
            if not silent:
                worker.pinged = False
            elif not worker.pinged:
                worker.pinged = True
                worker.send({"t": "ping"})
            else:
                _log.warn("JS worker {pid} stopped answering; killing it", pid=worker.pid)
                worker.stalled = True
                worker.kill()
        self.poke()
