"""The event buffer: requests add events in memory; a timer writes them in batches.

Adding an event is an append to a bounded deque and never waits for the database. Batches go
to the store one at a time (one write transaction each): every C{interval} seconds, and as soon
as C{batch_size} events are waiting. If the database is slow, events pile up to C{capacity};
past that the oldest are dropped and counted, so memory stays bounded and no request blocks.
Stopping the service writes everything still buffered, and its Deferred fires when that is done.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Optional

from twisted.application.service import Service
from twisted.internet.defer import Deferred, DeferredList, fail, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from fazt.store.eventrows import PendingEvent
from fazt.store.events import insert_events

_log = Logger()

DEFAULT_INTERVAL = 5.0
DEFAULT_BATCH = 500
DEFAULT_CAPACITY = 10_000


class EventBuffer(Service):
    """Buffers L{PendingEvent}s and writes them through C{store.write} in batches."""

    name = "analytics-events"

    def __init__(self, store: Any, clock: IReactorTime, interval: float = DEFAULT_INTERVAL,
                 batch_size: int = DEFAULT_BATCH, capacity: int = DEFAULT_CAPACITY) -> None:
        if interval <= 0 or batch_size < 1 or capacity < batch_size:
            raise ValueError("need interval > 0 and 1 <= batch_size <= capacity")
        self._store = store
        self._clock = clock
        self.interval = interval
        self.batch_size = batch_size
        self.capacity = capacity
        self._pending: deque[PendingEvent] = deque(maxlen=capacity)
        self._writing = False
        self._stopped = False
        self._this_write: list[Deferred] = []   # fire when the write in flight ends
        self._next_write: list[Deferred] = []   # fire when the write after it ends
        self._loop: Optional[LoopingCall] = None
        self.added = self.written = self.dropped = self.failed = 0

    # -- the hot path ----------------------------------------------------------------------

    def add(self, event: PendingEvent) -> None:
        """Queue C{event}; never blocks. When full, the oldest waiting event is dropped."""
        pending = self._pending
        if self._stopped:
            self.dropped += 1
            return
        if len(pending) == self.capacity:
            self.dropped += 1
        pending.append(event)
        self.added += 1
        if len(pending) >= self.batch_size and not self._writing:
            self._start_write()

    # -- writing ---------------------------------------------------------------------------

    def flush(self) -> Deferred:
        """Write what is buffered; fires once every event added before the call is written."""
        done: Deferred = Deferred()
        if self._writing:
            self._next_write.append(done)
        elif self._pending:
            self._this_write.append(done)
            self._start_write()
        else:
            done.callback(None)
        return done

    def _start_write(self) -> None:
        batch = list(self._pending)
        self._pending.clear()
        self._writing = True
        self._write(batch).addBoth(self._write_ended)

    def _write(self, batch: list[PendingEvent]) -> Deferred:
        try:
            d = self._store.write(insert_events, batch)
        except Exception as exc:  # a store that is already stopped refuses at once
            d = fail(exc)
        return d.addCallbacks(self._written, self._lost, errbackArgs=(len(batch),))

    def _written(self, count: int) -> None:
        self.written += count

    def _lost(self, failure, count: int) -> None:
        # A failed batch is dropped, not retried: a poison event must not block every later one.
        self.failed += count
        _log.error("analytics: could not write {count} events: {error}", count=count,
                   error=failure.getErrorMessage())

    def _write_ended(self, _) -> None:
        self._writing = False
        finished, self._this_write = self._this_write, []
        waiting, self._next_write = self._next_write, []
        if self._pending and (waiting or len(self._pending) >= self.batch_size):
            self._this_write = waiting
            self._start_write()
        else:
            finished += waiting
        for d in finished:
            d.callback(None)

    def _tick(self) -> None:
        if self._pending and not self._writing:
            self._start_write()

    # -- the service -----------------------------------------------------------------------

    def startService(self) -> None:
        super().startService()
        self._stopped = False
        self._loop = LoopingCall(self._tick)
        self._loop.clock = self._clock
        self._loop.start(self.interval, now=False)

    def stopService(self) -> Deferred:
        """Stop the timer and write everything buffered; the Deferred fires when it is written."""
        super().stopService()
        self._stopped = True
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        waits = []
        if self._writing:
            in_flight: Deferred = Deferred()
            self._this_write.append(in_flight)
            waits.append(in_flight)
        if self._pending:
            # Queued on the store now, before the store itself stops (the store's writer runs
            # every queued write before its thread ends), beside any write already in flight.
            batch = list(self._pending)
            self._pending.clear()
            waits.append(self._write(batch))
        return DeferredList(waits) if waits else succeed(None)

    def stats(self) -> dict:
        """Counters for health pages: waiting, added, written, dropped (buffer full), failed."""
        return {"pending": len(self._pending), "added": self.added, "written": self.written,
                "dropped": self.dropped, "failed": self.failed}
