"""The one way to write a transaction by hand, and the handle query functions take.

Query functions (the modules of C{fazt.store}) take a connection as first argument and never
open or close transactions themselves: L{fazt.store.db.Store} runs each one in a transaction,
and code that works on a file directly (start-up, the operator CLI) wraps its calls in
L{transaction}.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from typing import Iterator

#: The handle every query function takes. Outside the store it is opaque: pass it on, never
#: execute SQL on it.
Connection = sqlite3.Connection


@contextmanager
def transaction(conn: Connection, write: bool = True) -> Iterator[Connection]:
    """Run the block in one transaction: committed when it ends, rolled back when it raises.

    A write transaction takes the write lock at once (C{BEGIN IMMEDIATE}), so it never fails
    half-way for want of it; a read one (C{write=False}) is a consistent snapshot.
    """
    conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
