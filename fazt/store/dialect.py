"""The few differences between the two engines that the query modules cannot write away.

The query modules write portable SQL (C{?} placeholders, C{ON CONFLICT}, C{RETURNING},
C{COALESCE}, standard functions) and run unchanged on a C{sqlite3} connection and on a
L{fazt.store.pgconn.PgConnection}, which turns C{?} into psycopg's placeholders. What cannot be
written once lives here, keyed by L{name}: a handful of SQL fragments, the error types that mean
"a unique key is taken", and how to tell the engines apart from a connection or a target.
"""

from __future__ import annotations

import sqlite3
from typing import Any

#: A LIMIT that keeps every row (SQLite's LIMIT -1 is an error in PostgreSQL, LIMIT ALL in SQLite).
NO_LIMIT = 2 ** 62

SQLITE = "sqlite"
POSTGRESQL = "postgresql"



class PgDatabaseError(Exception):
    """A statement PostgreSQL refused (L{fazt.store.pgconn.PgConnection} raises it for psycopg's
    errors, so that nothing but that module needs psycopg imported: it costs a SQLite server
    ~0.3 s at start)."""


class PgIntegrityError(PgDatabaseError):
    """PostgreSQL refused a row that breaks a UNIQUE, PRIMARY KEY or FOREIGN KEY constraint."""


#: What an INSERT or UPDATE raises when it would break a UNIQUE, PRIMARY KEY or FOREIGN KEY
#: constraint, on either engine; the query modules turn it into L{fazt.store.errors.Conflict}.
IntegrityError = (sqlite3.IntegrityError, PgIntegrityError)

#: Any error of either driver (a statement refused; a lost connection is a StoreError).
DatabaseError = (sqlite3.Error, PgDatabaseError)


def is_postgresql_target(target: str) -> bool:
    """Whether C{target} names a PostgreSQL database (a C{postgresql://} or C{postgres://} URL)."""
    return target.startswith(("postgresql://", "postgres://"))


def name(conn: Any) -> str:
    """The engine a query function's connection belongs to: L{SQLITE} or L{POSTGRESQL}."""
    return getattr(conn, "dialect", SQLITE)


# Fragments a query module asks for by key. Each is an SQL expression over the given column names.
_FRAGMENTS = {
    # The UTC hour of a Unix time as 'YYYY-MM-DD HH:00'.
    "hour_of_created_at": {
        SQLITE: "strftime('%Y-%m-%d %H:00', created_at, 'unixepoch')",
        POSTGRESQL: "to_char(to_timestamp(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:00')",
    },
    # Whole days since the epoch of a (non-negative) Unix time.
    "day_of_created_at": {
        SQLITE: "CAST(created_at / 86400 AS INTEGER)",
        POSTGRESQL: "CAST(floor(created_at / 86400) AS BIGINT)",
    },
    # The UTF-8 size in bytes of a text column.
    "bytes_of_value": {
        SQLITE: "length(CAST(value AS BLOB))",
        POSTGRESQL: "octet_length(value)",
    },
}


def fragment(conn: Any, key: str) -> str:
    """The SQL fragment C{key} for C{conn}'s engine."""
    return _FRAGMENTS[key][name(conn)]
