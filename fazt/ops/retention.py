"""The retention service: prunes old logs, events and audit entries on a timer.

Every L{INTERVAL} seconds (the first time L{FIRST_DELAY} after start) it runs
L{fazt.store.retention.prune_step} through the store's single writer, one bounded batch per write
transaction, until a batch finds nothing more, so the write lock is never held for long and
deploys or KV writes slip in between. A failure is logged; the next run tries again. Stopping
waits for the batch in flight only.
"""

from __future__ import annotations

from typing import Any, Optional

from twisted.application.service import Service
from twisted.internet.defer import Deferred, inlineCallbacks, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from fazt.store.retention import BATCH, RetentionPolicy, more_to_do, prune_step

_log = Logger()
INTERVAL = 3600.0
# The first pass waits this long after start, so that it never slows a cold start.
FIRST_DELAY = 60.0
# Batches per run at most; what is left waits for the next run.
MAX_BATCHES = 1000


class RetentionService(Service):
    """Applies C{policy} to the cartridge behind C{store} every C{interval} seconds of C{clock}."""

    def __init__(self, store: Any, policy: RetentionPolicy, clock: IReactorTime, interval: float = INTERVAL,
                 batch: int = BATCH, max_batches: int = MAX_BATCHES, first_delay: float = FIRST_DELAY) -> None:
        self.store = store
        self.policy = policy
        self._clock = clock
        self.batch = batch
        self.max_batches = max_batches
        self.totals: dict[str, int] = {}
        self.runs = 0
        self.failures = 0
        self.current: Optional[Deferred] = None  # fires with what the timer's latest pass deleted
        self._stopping = False
        self.interval = interval
        self.first_delay = first_delay
        self._loop: Optional[LoopingCall] = None
        self._first: Any = None

    def startService(self) -> None:
        super().startService()
        self._stopping = False
        self._first = self._clock.callLater(self.first_delay, self._tick)
        self._loop = LoopingCall(self._tick)
        self._loop.clock = self._clock
        self._loop.start(self.interval, now=False)

    def _tick(self) -> None:
        """Start a pass unless one is still going (the timer itself never waits on it)."""
        if self.current is not None and not self.current.called:
            return
        self.current = self.run()

    def stopService(self) -> Deferred:
        """Stop the timer; wait for a pass in progress, which ends after its current batch."""
        super().stopService()
        self._stopping = True
        if self._first is not None and self._first.active():
            self._first.cancel()
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        if self.current is None or self.current.called:
            return succeed(None)
        waiting: Deferred = Deferred()
        self.current.addBoth(lambda result: (waiting.callback(None), result)[1])
        return waiting

    @inlineCallbacks
    def run(self):
        """One pruning pass; never fails (a failing call would stop the timer)."""
        try:
            deleted = yield self._prune()
        except Exception:
            self.failures += 1
            _log.failure("retention pruning failed")
            return None
        self.runs += 1
        for kind, count in deleted.items():
            self.totals[kind] = self.totals.get(kind, 0) + count
        if any(deleted.values()):
            _log.info("retention removed {summary}",
                      summary=", ".join(f"{count} {kind}" for kind, count in sorted(deleted.items()) if count))
        return deleted

    @inlineCallbacks
    def _prune(self):
        deleted: dict[str, int] = {}
        now = self._clock.seconds()
        for _ in range(self.max_batches):
            counts = yield self.store.write(prune_step, self.policy, now, self.batch)
            for kind, count in counts.items():
                deleted[kind] = deleted.get(kind, 0) + count
            if self._stopping or not more_to_do(counts, self.batch):
                break
        return deleted


def policy_from(config: Any) -> RetentionPolicy:
    """The policy the options ask for."""
    return RetentionPolicy(logs_days=config["retain-logs-days"], events_days=config["retain-events-days"],
                           audit_days=config["retain-audit-days"], logs_per_site=config["retain-logs-per-site"])
