"""A psycopg 3 connection that query functions use exactly like a C{sqlite3} one.

The query modules call C{conn.execute(sql, params)} with C{?} (or C{?N}) placeholders,
C{executemany}, read rows as tuples and check C{conn.in_transaction}. L{PgConnection} gives a
psycopg connection that face: it rewrites the placeholders to psycopg's (once per distinct
statement), and maps the two transaction openings of L{fazt.store.transaction.transaction}:

- C{BEGIN IMMEDIATE} (a write) becomes C{BEGIN} plus C{pg_advisory_xact_lock(WRITER_LOCK)}: one
  writer at a time over the whole database, as SQLite has, so a read-then-write in a write
  transaction (C{kv_incr}'s general path, a deploy) is as atomic across fazt nodes as it is on
  one file. A wait for it ends after C{lock_timeout} (10 s, SQLite's busy timeout) with an error.
- C{BEGIN} (a read) becomes C{BEGIN ISOLATION LEVEL REPEATABLE READ}: one consistent snapshot.

psycopg's errors become L{fazt.store.dialect.PgIntegrityError} (a taken key: the query modules
answer L{fazt.store.errors.Conflict}) and L{fazt.store.dialect.PgDatabaseError}; a lost or unusable
connection raises L{fazt.store.errors.StoreError} with the reason, and L{broken} tells the store to
open a new one. Only this module imports psycopg.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Iterable, Iterator, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit

import psycopg
from psycopg import pq
from psycopg.adapt import Dumper, Loader

from fazt.store.dialect import POSTGRESQL, PgDatabaseError, PgIntegrityError
from fazt.store.errors import StoreError

#: The key of the transaction-level advisory lock every write transaction takes (the one-bigint
#: key space; "fazt" in ASCII). Session-level leader locks must use other keys.
WRITER_LOCK = 0x66617a74
_WRITE_BEGIN = "BEGIN"
_READ_BEGIN = "BEGIN ISOLATION LEVEL REPEATABLE READ"
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?(\d*)|%")


@functools.lru_cache(maxsize=1024)
def translate(sql: str) -> tuple[str, bool]:
    """C{sql} with C{?} as C{%s} and C{?N} as C{%(pN)s} (C{%} doubled), and whether it numbers them.

    Quoted strings and identifiers keep their question marks.
    """
    numbered = False

    def replace(match: re.Match) -> str:
        nonlocal numbered
        text = match.group(0)
        if text == "%":
            return "%%"
        if text.startswith("?"):
            if match.group(1):
                numbered = True
                return f"%(p{match.group(1)})s"
            return "%s"
        return text.replace("%", "%%")

    return _TOKENS.sub(replace, sql), numbered


class _BoolAsInt(Dumper):
    """SQLite stores True as 1: so do the INTEGER flag columns here."""

    oid = psycopg.adapters.types["int8"].oid

    def dump(self, obj: bool) -> bytes:
        return b"1" if obj else b"0"


class _NumericAsNumber(Loader):
    """C{SUM} of integers is C{numeric} in PostgreSQL; give it back as an int (or a float), as SQLite does."""

    def load(self, data: Any) -> Any:
        text = bytes(data).decode()
        try:
            return int(text)
        except ValueError:
            return float(text)


def connect_raw(dsn: str, readonly: bool = False) -> psycopg.Connection:
    """A psycopg connection in autocommit mode with fazt's settings; L{StoreError} when it cannot be made."""
    try:
        raw = psycopg.connect(dsn, autocommit=True, connect_timeout=10, application_name="fazt",
                              keepalives=1, keepalives_idle=30, keepalives_interval=10, keepalives_count=3)
    except psycopg.Error as error:
        raise StoreError(f"cannot connect to PostgreSQL at {display_dsn(dsn)}: {_one_line(error)}") from None
    raw.adapters.register_dumper(bool, _BoolAsInt)
    raw.adapters.register_loader("numeric", _NumericAsNumber)
    raw.execute("SET lock_timeout = '10s'")
    raw.execute("SET TIME ZONE 'UTC'")
    if readonly:
        raw.execute("SET default_transaction_read_only = on")
    return raw


class PgConnection:
    """The C{sqlite3.Connection} subset the query modules use, over a psycopg connection."""

    dialect = POSTGRESQL

    def __init__(self, raw: psycopg.Connection) -> None:
        self._raw = raw

    @classmethod
    def open(cls, dsn: str, readonly: bool = False) -> "PgConnection":
        """Connect to C{dsn}; raises L{StoreError} when the server cannot be reached."""
        return cls(connect_raw(dsn, readonly))

    @property
    def broken(self) -> bool:
        """The connection is closed or lost: the store replaces it."""
        return self._raw.closed or self._raw.broken

    @property
    def in_transaction(self) -> bool:
        status = self._raw.info.transaction_status
        return status in (pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR,
                          pq.TransactionStatus.ACTIVE)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor:
        """Run one statement (or, without parameters, a script); returns the cursor."""
        if sql.startswith("BEGIN") and self.in_transaction:
            # sqlite3 refuses this; PostgreSQL would only warn, and the inner COMMIT would end the outer.
            raise StoreError("cannot start a transaction within a transaction")
        try:
            if sql == "BEGIN IMMEDIATE":
                self._raw.execute(_WRITE_BEGIN)
                return self._raw.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))
            if sql == "BEGIN":
                return self._raw.execute(_READ_BEGIN)
            if not params:  # as written: no placeholders to rewrite, and a script may hold several statements
                return self._raw.execute(sql)
            query, numbered = translate(sql)
            return self._raw.execute(query, _arguments(params, numbered))
        except psycopg.Error as error:
            raise self._failure(error) from None

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> psycopg.Cursor:
        """Run one statement once per row of parameters."""
        query, numbered = translate(sql)
        cursor = self._raw.cursor()
        try:
            cursor.executemany(query, [_arguments(row, numbered) for row in rows])
        except psycopg.Error as error:
            raise self._failure(error) from None
        return cursor

    def stream(self, sql: str, params: Sequence[Any] = (), batch: int = 200) -> Iterator[list[tuple]]:
        """The rows of one query in lists of up to C{batch}, from a server-side cursor (inside a transaction).

        Unlike L{execute}, which holds the whole result in memory, this keeps at most one batch:
        for reading every blob of a cartridge.
        """
        query, numbered = translate(sql)
        try:
            with self._raw.cursor(name="fazt_stream") as cursor:
                cursor.execute(query, _arguments(params, numbered))
                while rows := cursor.fetchmany(batch):
                    yield rows
        except psycopg.Error as error:
            raise self._failure(error) from None

    def _failure(self, error: Exception) -> Exception:
        """What a psycopg error is raised as (see the module's docstring)."""
        if self.broken:
            return StoreError(f"lost the connection to PostgreSQL: {_one_line(error)}")
        if isinstance(error, psycopg.IntegrityError):
            return PgIntegrityError(_one_line(error))
        if isinstance(error, psycopg.OperationalError):  # a lock or statement timeout, a server shutting down
            return StoreError(f"PostgreSQL: {_one_line(error)}")
        return PgDatabaseError(_one_line(error))

    def close(self) -> None:
        self._raw.close()


def _arguments(params: Sequence[Any], numbered: bool) -> Any:
    if numbered:
        return {f"p{i}": value for i, value in enumerate(params, 1)}
    return tuple(params)


def _one_line(error: Exception) -> str:
    """libpq's message, which runs over several lines, on one."""
    return " ".join(str(error).split())


def display_dsn(dsn: str) -> str:
    """C{dsn} without its password (what C{/api/system}, logs and errors show)."""
    parts = urlsplit(dsn)
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        netloc = user.split(":", 1)[0] + "@" + host
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "password"],
                      safe="/")
    # Not urlunsplit: it drops the '//' of a URL without a host (postgresql:///db?host=/run/sock).
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")
