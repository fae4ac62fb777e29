"""Leadership among fazt nodes sharing one PostgreSQL database: a session-level advisory lock.

L{AdvisoryLeadership} is an L{ILeadership}. Every C{interval} seconds (the reactor's clock), on a
thread of its own with a connection of its own, a follower tries C{pg_try_advisory_lock} and the
leader checks that its connection is alive. PostgreSQL holds a session-level advisory lock until
the session ends, so the node that got it leads until its connection drops (its process died, an
administrator ended the backend, the network or the server failed): then another node's next try
gets the lock, and the old leader, at its next check, finds its connection gone and tells its
watchers it no longer leads, then tries again like any follower.

Between the drop and that check (at most C{interval}, plus TCP keepalive time when the network
rather than the server failed: see L{fazt.store.pglink}) the old leader may still believe it leads
while the new one already does. Leader duties must therefore tolerate a rare overlap of one
interval (cron ticks and certificate orders do: a second order for a name is harmless).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from twisted.application.service import Service
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.threadpool import ThreadPool
from zope.interface import implementer

from fazt.base.leader import ILeadership
from fazt.store.pglink import LinkError, connect

__all__ = ["AdvisoryLeadership", "LEADER_KEY"]

_log = Logger()

# The advisory lock's key: "faztlead" as a signed 64-bit number. Locks are per database, so one
# database is one platform with one leader.
LEADER_KEY = int.from_bytes(b"faztlead", "big", signed=True)
INTERVAL = 3.0


@implementer(ILeadership)
class AdvisoryLeadership(Service):
    """Leads while holding the advisory lock (see the module's notes); a service: it tries while it runs."""

    def __init__(self, dsn: str, reactor: Any, interval: float = INTERVAL, key: int = LEADER_KEY) -> None:
        self._dsn = dsn
        self._reactor = reactor
        self._interval = interval
        self._key = key
        self.is_leader = False
        self._watchers: list[list[Callable[[bool], None]]] = []
        self._pool = ThreadPool(1, 1, name="fazt-leader")
        self._conn: Optional[Any] = None  # these two are used on the pool's one thread only
        self._holding = False
        self._next: Optional[Any] = None  # the pending IDelayedCall
        self._attempt: Optional[Deferred] = None
        self._failing = False

    def watch(self, callback: Callable[[bool], None]) -> Callable[[], None]:
        """Calls C{callback(is_leader)} now and on every change (on the reactor thread)."""
        entry = [callback]
        self._watchers.append(entry)
        callback(self.is_leader)

        def stop() -> None:
            if entry in self._watchers:
                self._watchers.remove(entry)
        return stop

    def startService(self) -> None:
        super().startService()
        self._pool.start()
        self._try()

    @inlineCallbacks
    def stopService(self):
        """Stops trying, then closes the connection (releasing the lock) off the reactor thread."""
        super().stopService()
        if self._next is not None and self._next.active():
            self._next.cancel()
        self._next = None
        if self._attempt is not None:
            yield self._attempt
        yield deferToThreadPool(self._reactor, self._pool, self._release)
        self._pool.stop()  # its one thread is idle now: joins at once
        self._set(False)

    def _try(self) -> None:
        self._next = None
        self._attempt = deferToThreadPool(self._reactor, self._pool, self._probe)
        self._attempt.addCallback(self._set).addErrback(
            lambda failure: _log.failure("The leadership check failed", failure))
        self._attempt.addBoth(self._again)

    def _again(self, _: Any) -> None:
        self._attempt = None
        if self.running:
            self._next = self._reactor.callLater(self._interval, self._try)

    def _probe(self) -> bool:
        """On the pool's thread: whether this node holds the lock now."""
        try:
            if self._conn is None:
                self._conn = connect(self._dsn, "leader")
            if self._holding:
                self._conn.execute("SELECT 1")  # the session, hence the lock, is still there
            else:
                self._holding = bool(
                    self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()[0])
            if self._failing:
                _log.info("The leadership's connection to PostgreSQL works again")
                self._failing = False
            return self._holding
        except LinkError as error:
            if not self._failing:
                _log.error("The leadership lost PostgreSQL ({error}); trying again", error=error)
                self._failing = True
            self._release()
            return False

    def _release(self) -> None:
        self._holding = False
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = None

    def _set(self, leading: bool) -> None:
        if leading == self.is_leader:
            return
        self.is_leader = leading
        _log.info("This node {now} the leader's duties", now="takes on" if leading else "gives up")
        for entry in list(self._watchers):
            if entry in self._watchers:
                try:
                    entry[0](leading)
                except Exception:
                    _log.failure("A leadership watcher failed")
