"""Group commit: small writes waiting together share one transaction.

One write transaction per KV operation would cap a counter app at the writer thread's commit
rate; batching keeps every operation atomic on its own (each runs in a savepoint) while paying
for one commit per batch. The batching itself happens on the store's writer thread
(L{fazt.store.db.Store.submit}): whatever small writes it finds queued when it picks up one go
in the same transaction, so an operation never waits on the reactor for a batch to close.
"""

from __future__ import annotations

from typing import Any, Callable

from twisted.internet.defer import Deferred

from fazt.store.db import MAX_BATCH
from fazt.store.interfaces import IStore

__all__ = ["BatchWriter", "MAX_BATCH"]


class BatchWriter:
    """Queues C{fn(conn, *args)} operations and runs them in shared write transactions."""

    def __init__(self, store: IStore) -> None:
        self._store = store

    def submit(self, fn: Callable[..., Any], *args: Any) -> Deferred:
        """Run C{fn(conn, *args)} in the next batch; fires with its result or its error."""
        return self._store.submit(fn, *args)

    @property
    def idle(self) -> bool:
        """No submitted operation is still waiting for its transaction (or its result)."""
        return self._store.pending_small == 0
