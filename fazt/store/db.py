"""The cartridge: one SQLite file, one writer thread, a pool of reader threads.

Every public method returns a Deferred; the SQL itself lives in plain synchronous functions
(C{fazt.store.sites}, C{fazt.store.accounts}) that take a connection as first argument, so that
they can be tested directly and scheduled here.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any, Callable, TypeVar

from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

from fazt.store.migrate import connect, migrate

T = TypeVar("T")


def open_cartridge(path: str) -> list[int]:
    """Create or upgrade the database at C{path}; returns the migrations applied.

    Synchronous, for start-up (before the reactor runs) and for the operator CLI.
    """
    conn = connect(path)
    try:
        return migrate(conn)
    finally:
        conn.close()


class Store(Service):
    """Runs SQL against the cartridge off the reactor thread.

    Writes are serialised on one thread and one connection (SQLite has one writer anyway, and
    this way no write ever waits on a lock); reads go to a small pool, each thread with its own
    connection, so a slow read never delays a write.
    """

    def __init__(self, path: str, reactor: Any, reader_threads: int = 4) -> None:
        self.path = path
        self._reactor = reactor
        self._writer = ThreadPool(1, 1, name="fazt-db-writer")
        self._readers = ThreadPool(1, reader_threads, name="fazt-db-reader")
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()

    def startService(self) -> None:
        super().startService()
        self._writer.start()
        self._readers.start()
        # Open the writer's connection now: its lock on the WAL index tells `fazt restore`
        # that a server is using this file, even before the first request.
        self.write(_nothing)

    def stopService(self) -> None:
        super().stopService()
        # Joining waits for at most the transaction in flight; at shutdown that is what we want:
        # nothing acknowledged to a client may be lost.
        self._writer.stop()
        self._readers.stop()
        with self._connections_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()

    def _connection(self, readonly: bool) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, readonly=readonly)
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Deferred[T]:
        """Run C{fn(conn, *args, **kwargs)} in one write transaction on the writer thread."""
        return deferToThreadPool(
            self._reactor, self._writer, self._in_transaction, fn, args, kwargs
        )

    def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Deferred[T]:
        """Run C{fn(conn, *args, **kwargs)} on a reader thread (a consistent snapshot)."""
        return deferToThreadPool(
            self._reactor, self._readers, self._in_read, fn, args, kwargs
        )

    def _in_transaction(self, fn: Callable[..., T], args: tuple, kwargs: dict) -> T:
        conn = self._connection(readonly=False)
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn, *args, **kwargs)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    def _in_read(self, fn: Callable[..., T], args: tuple, kwargs: dict) -> T:
        conn = self._connection(readonly=True)
        conn.execute("BEGIN")
        try:
            return fn(conn, *args, **kwargs)
        finally:
            conn.execute("COMMIT")



def _nothing(conn: sqlite3.Connection) -> None:
    return None
