"""Group commit: small writes queued while a transaction runs share the next one.

One write transaction per KV operation would cap a counter app at the writer thread's commit
rate; batching keeps every operation atomic on its own (each runs in a savepoint) while paying
for one commit per batch.
"""

from __future__ import annotations

from typing import Any, Callable

from twisted.internet.defer import Deferred

from fazt.store.db import Store

MAX_BATCH = 500


class BatchWriter:
    """Queues C{fn(conn, *args)} operations and runs them in shared write transactions."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._queue: list[tuple[Callable, tuple, Deferred]] = []
        self._running = False

    def submit(self, fn: Callable[..., Any], *args: Any) -> Deferred:
        """Run C{fn(conn, *args)} in the next batch; fires with its result or its error."""
        d: Deferred = Deferred()
        self._queue.append((fn, args, d))
        if not self._running:
            self._flush()
        return d

    def _flush(self) -> None:
        batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
        self._running = True
        self._store.write(_run_batch, [(fn, args) for fn, args, _ in batch]).addCallbacks(
            lambda outcomes: self._done(batch, outcomes), lambda failure: self._failed(batch, failure)
        )

    def _done(self, batch, outcomes) -> None:
        self._running = False
        if self._queue:
            self._flush()
        for (_, _, d), (ok, value) in zip(batch, outcomes):
            if ok:
                d.callback(value)
            else:
                d.errback(value)

    def _failed(self, batch, failure) -> None:
        self._running = False
        if self._queue:
            self._flush()
        for _, _, d in batch:
            d.errback(failure)

    @property
    def idle(self) -> bool:
        return not self._running and not self._queue


def _run_batch(conn, operations) -> list[tuple[bool, Any]]:
    outcomes = []
    for fn, args in operations:
        conn.execute("SAVEPOINT op")
        try:
            outcomes.append((True, fn(conn, *args)))
        except Exception as exc:  # one bad operation must not undo its neighbours
            conn.execute("ROLLBACK TO op")
            outcomes.append((False, exc))
        conn.execute("RELEASE op")
    return outcomes
