"""The cartridge's store: one writer thread, a pool of reader threads, either engine.

The store runs on SQLite (a file) or PostgreSQL (L{fazt.store.engines} makes either); only the
way a thread opens its connection differs (the C{connector}).

Every public method returns a Deferred; the SQL itself lives in plain synchronous functions
(C{fazt.store.sites}, C{fazt.store.accounts}) that take a connection as first argument, so that
they can be tested directly and scheduled here.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from typing import Any, Callable, Optional, TypeVar

from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorFromThreads
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool
from zope.interface import implementer

from fazt.store.errors import StoreError
from fazt.store.interfaces import IStore
from fazt.store.migrate import connect, migrate
from fazt.store.transaction import transaction

T = TypeVar("T")

# Small writes committed together at most; bounds how long one transaction holds the WAL.
MAX_BATCH = 500
_STOP = object()
_log = Logger()


def open_cartridge(path: str) -> list[int]:
    """Create or upgrade the database at C{path}; returns the migrations applied.

    Synchronous, for start-up (before the reactor runs) and for the operator CLI.
    """
    conn = connect(path)
    try:
        return migrate(conn)
    finally:
        conn.close()


def open_file(path: str) -> sqlite3.Connection:
    """A connection to the cartridge at C{path}, for work on the file without a L{Store}.

    Raises L{StoreError} when it cannot be opened. The caller closes it.
    """
    try:
        return connect(path)
    except sqlite3.Error as error:
        raise StoreError(str(error)) from error


@implementer(IStore)
class Store(Service):
    """Runs SQL against the cartridge off the reactor thread.

    Writes are serialised on one thread and one connection (SQLite has one writer anyway, and
    this way no write ever waits on a lock); reads go to a small pool, each thread with its own
    connection, so a slow read never delays a write.

    The writer is a plain thread fed by a L{queue.SimpleQueue} rather than a Twisted thread
    pool: a job costs one queue put, and the results of all the jobs it finds waiting come back
    to the reactor in one C{callFromThread}. Small writes (L{submit}) found waiting together
    share one transaction (group commit), each in its own savepoint.
    """

    def __init__(self, path: str, reactor: IReactorFromThreads, reader_threads: int = 4,
                 connector: Optional[Callable[[bool], Any]] = None) -> None:
        #: the SQLite file, or the PostgreSQL URL without its password
        self.path = path
        # connector(readonly) opens one thread's connection; a PostgreSQL one that breaks (the
        # server restarted, the network dropped) is closed and replaced by the next job.
        self._connector = connector or (lambda readonly: connect(path, readonly=readonly))
        self._reactor = reactor
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write_loop, name="fazt-db-writer", daemon=True)
        self._readers = ThreadPool(1, reader_threads, name="fazt-db-reader")
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        #: small writes submitted whose results have not reached the reactor yet
        self.pending_small = 0

    def startService(self) -> None:
        super().startService()
        self._writer.start()
        self._readers.start()
        # Open the writer's connection now: its lock on the WAL index tells `fazt restore`
        # that a server is using this file, even before the first request.
        self.write(_nothing).addErrback(
            lambda f: _log.error("cannot open the database {path}: {error}", path=self.path, error=f.value))

    def stopService(self) -> None:
        super().stopService()
        # The writer runs every job queued before this one, then ends; joining waits for them:
        # nothing acknowledged to a client may be lost.
        if self._writer.is_alive():
            self._jobs.put(_STOP)
            self._writer.join()
        self._readers.stop()
        with self._connections_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()

    def _drop_if_broken(self) -> bool:
        """Forget this thread's connection if it broke; whether it did."""
        conn = getattr(self._local, "conn", None)
        if conn is None or not getattr(conn, "broken", False):
            return False
        self._local.conn = None
        with self._connections_lock:
            if conn in self._connections:
                self._connections.remove(conn)
        conn.close()
        return True

    def _connection(self, readonly: bool) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connector(readonly)
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Deferred[T]:
        """Run C{fn(conn, *args, **kwargs)} in a write transaction of its own on the writer thread."""
        d: Deferred = Deferred()
        self._jobs.put((False, fn, args, kwargs, d))
        return d

    def submit(self, fn: Callable[..., T], *args: Any) -> Deferred[T]:
        """Run a small write C{fn(conn, *args)}, atomically, in a transaction it may share.

        Other small writes waiting at the same time go in the same transaction, each in a
        savepoint, so one that fails undoes only itself. Fires with C{fn}'s result or error.
        """
        d: Deferred = Deferred()
        self.pending_small += 1
        self._jobs.put((True, fn, args, None, d))
        return d

    def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Deferred[T]:
        """Run C{fn(conn, *args, **kwargs)} on a reader thread (a consistent snapshot)."""
        return deferToThreadPool(
            self._reactor, self._readers, self._in_read, fn, args, kwargs
        )

    # -- the writer thread ---------------------------------------------------------------

    def _write_loop(self) -> None:
        jobs = self._jobs
        while True:
            job = jobs.get()
            if job is _STOP:
                return
            batch = [job]
            stopping = False
            while len(batch) < MAX_BATCH:
                try:
                    job = jobs.get_nowait()
                except queue.Empty:
                    break
                if job is _STOP:
                    stopping = True
                    break
                batch.append(job)
            self._run_jobs(batch)
            if stopping:
                return

    def _run_jobs(self, batch: list) -> None:
        """Run jobs in order: each plain write alone, each run of small writes together."""
        start = 0
        while start < len(batch):
            end = start + 1
            if batch[start][0]:
                while end < len(batch) and batch[end][0]:
                    end += 1
                outcomes = self._run_small(batch[start:end])
            else:
                outcomes = [self._run_one(batch[start])]
            self._reactor.callFromThread(self._deliver, outcomes)
            start = end

    def _run_one(self, job: tuple, small: bool = False) -> tuple:
        _, fn, args, kwargs, d = job
        try:
            with transaction(self._connection(readonly=False)) as conn:
                result = fn(conn, *args, **(kwargs or {}))
        except BaseException:
            failure = Failure()
            self._drop_if_broken()  # never retried: a lost COMMIT may have happened
            return (small, d, False, failure)
        return (small, d, True, result)

    def _run_small(self, jobs: list) -> list:
        if len(jobs) == 1:  # then the transaction itself is the operation's savepoint
            return [self._run_one(jobs[0], small=True)]
        outcomes = []
        try:
            with transaction(self._connection(readonly=False)) as conn:
                for _, fn, args, _, d in jobs:
                    conn.execute("SAVEPOINT op")
                    try:
                        outcomes.append((True, d, True, fn(conn, *args)))
                    except Exception:  # one bad operation must not undo its neighbours
                        outcomes.append((True, d, False, Failure()))
                        conn.execute("ROLLBACK TO op")
                    conn.execute("RELEASE op")
        except BaseException:
            failure = Failure()
            self._drop_if_broken()
            return [(True, d, False, failure) for _, _, _, _, d in jobs]
        return outcomes

    def _deliver(self, outcomes: list) -> None:
        """On the reactor: fire the Deferreds of one transaction's jobs."""
        for small, d, ok, value in outcomes:
            if small:
                self.pending_small -= 1
            if ok:
                d.callback(value)
            else:
                d.errback(value)

    def _in_read(self, fn: Callable[..., T], args: tuple, kwargs: dict) -> T:
        try:
            with transaction(self._connection(readonly=True), write=False) as conn:
                return fn(conn, *args, **kwargs)
        except StoreError:
            if not self._drop_if_broken():
                raise
        # The connection was lost (a server restart): a read is safe to run again, once, on a new one.
        with transaction(self._connection(readonly=True), write=False) as conn:
            return fn(conn, *args, **kwargs)


def _nothing(conn: sqlite3.Connection) -> None:
    return None
