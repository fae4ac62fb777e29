"""Figures about the cartridge for the system routes and C{/metrics} (synchronous, connection first).

Both run on a store thread, file sizes included: a C{stat} may block.
"""

from __future__ import annotations

import os
import sqlite3

from fazt.store.migrate import schema_version


def file_size(path: str) -> int:
    """The size of the file at C{path} in bytes; 0 if there is none."""
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _count_sites(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT COUNT(*) FROM sites").fetchone()[0]


def database_facts(conn: sqlite3.Connection, path: str) -> dict:
    """The database file, its write-ahead log, pages, schema version and number of sites."""
    return {
        "path": os.path.abspath(path),
        "size_bytes": file_size(path),
        "wal_size_bytes": file_size(path + "-wal"),
        "page_count": conn.execute("PRAGMA page_count").fetchone()[0],
        "page_size": conn.execute("PRAGMA page_size").fetchone()[0],
        "schema_version": schema_version(conn),
        "sites": _count_sites(conn),
    }


def metrics_figures(conn: sqlite3.Connection, path: str) -> dict:
    """The stored figures C{/metrics} reports: size on disk, deployments, sites, certificate expiry."""
    return {
        "db_size": file_size(path) + file_size(path + "-wal"),
        "deployments": conn.execute("SELECT COUNT(*) FROM deployments").fetchone()[0],
        # AUTOINCREMENT ids never go back, even when old deployments are pruned: every deploy made.
        "deploys": (conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'deployments'").fetchone()
                    or (0,))[0],
        "sites": _count_sites(conn),
        "certificates": conn.execute("SELECT name, not_after FROM certificates ORDER BY name").fetchall(),
    }
