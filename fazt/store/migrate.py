"""Open the cartridge database and bring its schema up to date.

Synchronous: called once per connection (pragmas) and once at start (migrations), from whatever
thread owns the connection.
"""

from __future__ import annotations

import os
import re
import sqlite3
from importlib import resources

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class MigrationError(Exception):
    """The database cannot be brought to this version of fazt's schema."""


def create_private(path: str) -> None:
    """Create C{path} as an empty file only its owner may read (0600) unless it exists already.

    SQLite creates a database file with mode 0644 (less the umask) and gives its C{-wal},
    C{-shm} and journal files the mode of the database; a cartridge, or any copy of one, holds
    key digests and TLS private keys, so it is created private before SQLite opens it.
    """
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError:
        pass  # it exists, or cannot be created: then SQLite reports the problem as it always did


def connect(path: str, *, readonly: bool = False) -> sqlite3.Connection:
    """Open C{path} with fazt's pragmas: WAL, foreign keys, a busy timeout.

    The connection is in autocommit mode (C{isolation_level=None}) so that callers state their
    transactions explicitly with C{BEGIN IMMEDIATE}/C{COMMIT}. A new file is created 0600.
    """
    if not readonly and path != ":memory:" and not path.startswith("file:"):
        create_private(path)
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, timeout=10.0
    )
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA foreign_keys = ON")
    if not readonly:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal" and path != ":memory:":
            raise MigrationError(f"could not switch {path} to WAL mode (got {mode})")
        # WAL makes NORMAL durable against application crashes; only an OS crash can lose the
        # last transactions, never corrupt the file.
        conn.execute("PRAGMA synchronous = NORMAL")
        # Without a limit the WAL keeps the size of the largest deploy until shutdown.
        conn.execute("PRAGMA journal_size_limit = %d" % (16 * 1024 * 1024))
    conn.execute("PRAGMA query_only = %d" % (1 if readonly else 0))
    return conn


def available_migrations() -> list[tuple[int, str, str]]:
    """Every shipped migration as (version, file name, SQL), in version order."""
    found = []
    for entry in resources.files("fazt.store").joinpath("schema").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort()
    return found


def schema_version(conn: sqlite3.Connection) -> int:
    """The version of the newest migration applied to C{conn}'s database (either engine)."""
    if getattr(conn, "dialect", None) == "postgresql":
        from fazt.store import pgmigrate  # it imports this module

        return pgmigrate.schema_version(conn)
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(conn: sqlite3.Connection) -> list[int]:
    """Apply every migration newer than the database, each in its own transaction.

    A migration that fails is rolled back whole, so the database is left at the last good
    version. Returns the versions applied.
    """
    current = schema_version(conn)
    migrations = available_migrations()
    newest = migrations[-1][0] if migrations else 0
    if current > newest:
        raise MigrationError(
            f"database schema version {current} is newer than this fazt ({newest})"
        )
    applied = []
    for version, name, sql in migrations:
        if version <= current:
            continue
        try:
            # Not store.transaction: executescript commits any open transaction before it runs,
            # so the migration's own script must hold its BEGIN and COMMIT to be atomic.
            conn.executescript(
                f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;"
            )
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise MigrationError(f"migration {name} failed: {exc}") from exc
        applied.append(version)
    return applied
