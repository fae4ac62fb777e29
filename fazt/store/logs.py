"""SQL for reading a site's console log (synchronous, connection first).

Lines are written by the app runtime (C{fazt.store.kv.append_logs}); ids only grow, so an id is
also a cursor: C{after_id} asks for what was written since.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional
from fazt.store.transaction import Connection

LEVELS = ("debug", "info", "warn", "error")


@dataclass(frozen=True)
class LogLine:
    id: int
    site_name: str
    level: str
    message: str
    created_at: float


def _where(site: str, level: Optional[str], after_id: Optional[int]) -> tuple[str, list]:
    clauses, args = ["site_name = ?"], [site]
    if level is not None:
        clauses.append("level = ?")
        args.append(level)
    if after_id is not None:
        clauses.append("id > ?")
        args.append(after_id)
    return " AND ".join(clauses), args


def list_logs(conn: Connection, site: str, limit: int, offset: int = 0,
              level: Optional[str] = None, after_id: Optional[int] = None) -> list[LogLine]:
    """A site's log lines: newest first, or with C{after_id} the oldest ones after that id first."""
    where, args = _where(site, level, after_id)
    order = "ASC" if after_id is not None else "DESC"
    rows = conn.execute(
        f"SELECT id, site_name, level, message, created_at FROM site_logs WHERE {where}"
        f" ORDER BY id {order} LIMIT ? OFFSET ?",
        (*args, limit, offset),
    ).fetchall()
    return [LogLine(*r) for r in rows]


def count_logs(conn: Connection, site: str, level: Optional[str] = None,
               after_id: Optional[int] = None) -> int:
    where, args = _where(site, level, after_id)
    return conn.execute(f"SELECT COUNT(*) FROM site_logs WHERE {where}", args).fetchone()[0]


def log_page(conn: Connection, site: str, limit: int, offset: int = 0, level: Optional[str] = None,
             after_id: Optional[int] = None) -> Optional[tuple[list[LogLine], int]]:
    """One page of L{list_logs} and the matching total in one snapshot; None if no such site."""
    if conn.execute("SELECT 1 FROM sites WHERE name = ?", (site,)).fetchone() is None:
        return None
    return list_logs(conn, site, limit, offset, level, after_id), count_logs(conn, site, level, after_id)
