"""The schema of a PostgreSQL cartridge: the migrations of C{schema/postgresql/}, applied at start.

They mirror the SQLite ones (C{schema/NNNN_*.sql}): same numbers, tables, columns, keys and
indexes, with PostgreSQL's types (C{BYTEA} for blobs, C{BIGINT} for integers, C{DOUBLE PRECISION}
for reals, identity columns for autoincrement). The version applied is kept in the one-row table
L{VERSION_TABLE} (SQLite keeps it in C{PRAGMA user_version}). Several nodes may start at once:
each migration runs in one transaction under the writer's advisory lock, so exactly one applies it.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import TYPE_CHECKING

from fazt.store.migrate import MigrationError
from fazt.store.transaction import transaction

if TYPE_CHECKING:  # psycopg is imported only when a PostgreSQL cartridge is used
    from fazt.store.pgconn import PgConnection

VERSION_TABLE = "fazt_schema"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def available_migrations() -> list[tuple[int, str, str]]:
    """Every shipped PostgreSQL migration as (version, file name, SQL), in version order."""
    found = []
    for entry in resources.files("fazt.store").joinpath("schema", "postgresql").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort()
    return found


def schema_version(conn: PgConnection) -> int:
    """The version of the newest migration applied (0 on an empty database)."""
    exists = conn.execute("SELECT to_regclass(?) IS NOT NULL", (VERSION_TABLE,)).fetchone()[0]
    if not exists:
        return 0
    row = conn.execute(f"SELECT version FROM {VERSION_TABLE}").fetchone()
    return row[0] if row else 0


def migrate(conn: PgConnection) -> list[int]:
    """Apply every migration newer than the database, each in its own transaction; the versions applied."""
    migrations = available_migrations()
    newest = migrations[-1][0] if migrations else 0
    applied = []
    for version, name, sql in migrations:
        try:
            with transaction(conn):  # the writer's lock: one node migrates, the others wait and skip
                conn.execute(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version INTEGER NOT NULL)")
                current = schema_version(conn)
                if current > newest:
                    raise MigrationError(f"database schema version {current} is newer than this fazt ({newest})")
                if version <= current:
                    continue
                conn.execute(sql)
                conn.execute(f"DELETE FROM {VERSION_TABLE}")
                conn.execute(f"INSERT INTO {VERSION_TABLE} (version) VALUES (?)", (version,))
        except MigrationError:
            raise
        except Exception as exc:
            raise MigrationError(f"migration postgresql/{name} failed: {exc}") from exc
        applied.append(version)
    return applied
