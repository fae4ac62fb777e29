"""Which engine holds the cartridge, chosen by how it is named: the factory the wiring and CLI use.

A path (C{data.db}) is a SQLite file; a C{postgresql://} (or C{postgres://}) URL is a PostgreSQL
database. Everything above the store opens, migrates and serves a cartridge through these
functions and never needs to know which engine it got:

- L{open_cartridge}: create or upgrade the schema (synchronous, at start and in the CLI);
- L{connect}: one connection for synchronous work with L{fazt.store.transaction.transaction}
  (start-up seeding, operator commands); the caller closes it;
- L{make_store}: the L{IStore} a running server uses (a service: start and stop it);
- L{display}: how the target is shown (a URL loses its password).

PostgreSQL threads: one writer (every write transaction, group commit) and C{reader_threads}
readers, each with its own connection, as on SQLite: the write path keeps its single queue
and its savepoint batching, reads never wait for a write, and a node holds at most
C{1 + reader_threads} connections (psycopg_pool would add a dependency for no gain here).
"""

from __future__ import annotations

from typing import Any

from fazt.store.dialect import is_postgresql_target
from fazt.store.interfaces import IStore

__all__ = ["connect", "display", "is_postgresql_target", "make_store", "open_cartridge"]


def open_cartridge(target: str) -> list[int]:
    """Create or upgrade the cartridge at C{target} (path or URL); the migrations applied.

    Raises L{fazt.store.migrate.MigrationError} when the schema cannot be brought up to date and
    L{fazt.store.errors.StoreError} when a PostgreSQL server cannot be reached.
    """
    if is_postgresql_target(target):
        from fazt.store.pgmigrate import migrate as migrate_pg

        conn = connect(target)
        try:
            return migrate_pg(conn)
        finally:
            conn.close()
    from fazt.store.db import open_cartridge as open_sqlite

    return open_sqlite(target)


def connect(target: str) -> Any:
    """A new read-write connection to the cartridge at C{target}, for query functions run by hand.

    SQLite: C{fazt.store.migrate.connect} (pragmas, WAL). PostgreSQL: a
    L{fazt.store.pgconn.PgConnection}. Both are in autocommit mode: wrap work in
    L{fazt.store.transaction.transaction}. Raises L{fazt.store.errors.StoreError} when the
    database cannot be opened (or the PostgreSQL server reached).
    """
    if is_postgresql_target(target):
        from fazt.store.pgconn import PgConnection

        return PgConnection.open(target)
    from fazt.store.db import open_file

    return open_file(target)


def make_store(target: str, reactor: Any, reader_threads: int = 4) -> IStore:
    """The L{IStore} (a L{fazt.store.db.Store} service, not started) over the cartridge at C{target}.

    Its C{path} is the file, or the URL without password. The schema must be up to date
    (L{open_cartridge}).
    """
    from fazt.store.db import Store

    if is_postgresql_target(target):
        from fazt.store.pgconn import PgConnection

        return Store(display(target), reactor, reader_threads,
                     connector=lambda readonly: PgConnection.open(target, readonly))
    return Store(target, reactor, reader_threads)


def display(target: str) -> str:
    """C{target} as logs, errors and C{/api/system} show it: a URL without its password."""
    if is_postgresql_target(target):
        from fazt.store.pgconn import display_dsn

        return display_dsn(target)
    return target
