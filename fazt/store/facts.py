"""Figures about the cartridge for the system routes and C{/metrics} (synchronous, connection first).

Both run on a store thread, file sizes included: a C{stat} may block. On PostgreSQL the sizes are
the database's as the server counts them (C{pg_database_size}), pages are its blocks, the
write-ahead log (the server's, shared by all its databases) counts 0, and C{path} is the URL
without its password.
"""

from __future__ import annotations

import os
from fazt.store.dialect import POSTGRESQL
from fazt.store.dialect import name as dialect_name
from fazt.store.migrate import schema_version
from fazt.store.transaction import Connection


def file_size(path: str) -> int:
    """The size of the file at C{path} in bytes; 0 if there is none."""
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _count_sites(conn: Connection) -> int:
    return conn.execute("SELECT COUNT(*) FROM sites").fetchone()[0]


def database_facts(conn: Connection, path: str) -> dict:
    """The database file, its write-ahead log, pages, schema version and number of sites."""
    if dialect_name(conn) == POSTGRESQL:
        size, block = _pg_size(conn)
        return {"path": path, "size_bytes": size, "wal_size_bytes": 0, "page_count": size // block,
                "page_size": block, "schema_version": schema_version(conn), "sites": _count_sites(conn)}
    return {
        "path": os.path.abspath(path),
        "size_bytes": file_size(path),
        "wal_size_bytes": file_size(path + "-wal"),
        "page_count": conn.execute("PRAGMA page_count").fetchone()[0],
        "page_size": conn.execute("PRAGMA page_size").fetchone()[0],
        "schema_version": schema_version(conn),
        "sites": _count_sites(conn),
    }


def metrics_figures(conn: Connection, path: str) -> dict:
    """The stored figures C{/metrics} reports: size on disk, deployments, sites, certificate expiry."""
    postgresql = dialect_name(conn) == POSTGRESQL
    # AUTOINCREMENT ids (an identity sequence) never go back, even when old deployments are pruned:
    # the last one given is the number of deploys made.
    deploys = ("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM deployments_id_seq" if postgresql
               else "SELECT seq FROM sqlite_sequence WHERE name = 'deployments'")
    return {
        "db_size": _pg_size(conn)[0] if postgresql else file_size(path) + file_size(path + "-wal"),
        "deployments": conn.execute("SELECT COUNT(*) FROM deployments").fetchone()[0],
        "deploys": (conn.execute(deploys).fetchone() or (0,))[0],
        "sites": _count_sites(conn),
        "certificates": conn.execute("SELECT name, not_after FROM certificates ORDER BY name").fetchall(),
    }


def _pg_size(conn: Connection) -> tuple[int, int]:
    """A PostgreSQL database's size in bytes and its block size."""
    return conn.execute("SELECT pg_database_size(current_database()),"
                        " CAST(current_setting('block_size') AS BIGINT)").fetchone()
