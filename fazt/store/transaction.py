"""The one way to write a transaction by hand, and the handle query functions take.

Query functions (the modules of C{fazt.store}) take a connection as first argument and never
open or close transactions themselves: L{fazt.store.db.Store} runs each one in a transaction,
and code that works on a file directly (start-up, the operator CLI) wraps its calls in
L{transaction}.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:  # not at run time: psycopg is imported only when a PostgreSQL cartridge is used
    from fazt.store.pgconn import PgConnection

#: The handle every query function takes: a SQLite connection or a PostgreSQL one with the same
#: face (L{fazt.store.pgconn.PgConnection}). Outside the store it is opaque: pass it on, never
#: execute SQL on it.
Connection = Union[sqlite3.Connection, "PgConnection"]


class transaction:
    """C{with transaction(conn):} runs the block in one transaction: committed when it ends,
    rolled back when it raises. The C{with} gives C{conn}.

    A write transaction takes the write lock at once (C{BEGIN IMMEDIATE}), so it never fails
    half-way for want of it; a read one (C{write=False}) is a consistent snapshot. (A class,
    not a generator: every store read and write goes through it; this adds under a microsecond
    to a hand-written BEGIN/COMMIT, a generator about four.)
    """

    __slots__ = ("_conn", "_begin")

    def __init__(self, conn: Connection, write: bool = True) -> None:
        self._conn = conn
        self._begin = "BEGIN IMMEDIATE" if write else "BEGIN"

    def __enter__(self) -> Connection:
        self._conn.execute(self._begin)
        return self._conn

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self._conn.execute("COMMIT")
        elif self._conn.in_transaction:
            self._conn.execute("ROLLBACK")
