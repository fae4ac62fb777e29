"""SQL for the audit log: who did what to which resource, and how it went (connection first).

Rows are only ever added. Fields are clipped so that no request, however large its input, can
write a large row.
"""

from __future__ import annotations

from dataclasses import dataclass
from fazt.store.transaction import Connection

MAX_FIELD = 200
MAX_DETAILS = 1000


@dataclass(frozen=True)
class AuditEntry:
    id: int
    created_at: float
    actor: str
    action: str
    resource: str
    result: str
    details: str


def _clip(value: object, limit: int) -> str:
    text = value if isinstance(value, str) else str(value)
    # Lone surrogates cannot be stored as UTF-8 text.
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def record(conn: Connection, actor: str, action: str, resource: str, result: str,
           details: str, now: float) -> int:
    """Add one entry to the audit log; returns its id."""
    cursor = conn.execute(
        "INSERT INTO audit_log (created_at, actor, action, resource, result, details)"
        " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        (now, _clip(actor, MAX_FIELD), _clip(action, MAX_FIELD), _clip(resource, MAX_FIELD),
         _clip(result, MAX_FIELD), _clip(details, MAX_DETAILS)),
    )
    return cursor.fetchone()[0]


def list_entries(conn: Connection, limit: int, offset: int) -> list[AuditEntry]:
    """A page of the log, newest first."""
    rows = conn.execute(
        "SELECT id, created_at, actor, action, resource, result, details FROM audit_log"
        " ORDER BY id DESC LIMIT ? OFFSET ?",
        (limit, offset),
    ).fetchall()
    return [AuditEntry(*row) for row in rows]


def count_entries(conn: Connection) -> int:
    return conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
