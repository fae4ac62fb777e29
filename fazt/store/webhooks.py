"""SQL for inbound webhook receivers (synchronous, connection first).

The secret is kept as given (HMAC needs it) and never read back out by the listing functions:
they report only C{has_secret}. A duplicate endpoint surfaces as C{sqlite3.IntegrityError}.
"""

from __future__ import annotations

import sqlite3
from typing import Optional

_COLUMNS = "id, name, endpoint, secret IS NOT NULL AND secret != '', is_active, created_at"


def _webhook(row) -> dict:
    return {"id": row[0], "name": row[1], "endpoint": row[2], "has_secret": bool(row[3]),
            "is_active": bool(row[4]), "created_at": row[5]}


def list_webhooks(conn: sqlite3.Connection, limit: int, offset: int) -> list[dict]:
    """A page of webhooks, newest first."""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM webhooks ORDER BY id DESC LIMIT ? OFFSET ?",
                        (limit, offset)).fetchall()
    return [_webhook(r) for r in rows]


def count_webhooks(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT COUNT(*) FROM webhooks").fetchone()[0]


def get_webhook(conn: sqlite3.Connection, webhook_id: int) -> Optional[dict]:
    row = conn.execute(f"SELECT {_COLUMNS} FROM webhooks WHERE id = ?", (webhook_id,)).fetchone()
    return _webhook(row) if row else None


def find_receiver(conn: sqlite3.Connection, endpoint: str) -> Optional[tuple[str, Optional[str], bool]]:
    """C{(name, secret, is_active)} of the receiver at C{endpoint}, or None (for C{/webhook/...})."""
    row = conn.execute("SELECT name, secret, is_active FROM webhooks WHERE endpoint = ?", (endpoint,)).fetchone()
    return (row[0], row[1] or None, bool(row[2])) if row else None


def create_webhook(conn: sqlite3.Connection, name: str, endpoint: str, secret: Optional[str],
                   is_active: bool, now: int) -> dict:
    """Insert a receiver and return it; raises IntegrityError when the endpoint is taken."""
    cursor = conn.execute(
        "INSERT INTO webhooks (name, endpoint, secret, is_active, created_at) VALUES (?, ?, ?, ?, ?)",
        (name, endpoint, secret or None, int(is_active), now),
    )
    return get_webhook(conn, cursor.lastrowid)


def update_webhook(conn: sqlite3.Connection, webhook_id: int, changes: dict) -> Optional[dict]:
    """Apply C{changes} (name, endpoint, secret, is_active) in one UPDATE; None if unknown."""
    values = {}
    for column in ("name", "endpoint", "secret", "is_active"):
        if column in changes:
            value = changes[column]
            values[column] = int(value) if column == "is_active" else (value or None if column == "secret" else value)
    if values:
        assignments = ", ".join(f"{column} = ?" for column in values)
        cursor = conn.execute(f"UPDATE webhooks SET {assignments} WHERE id = ?", (*values.values(), webhook_id))
        if cursor.rowcount == 0:
            return None
    return get_webhook(conn, webhook_id)


def delete_webhook(conn: sqlite3.Connection, webhook_id: int) -> bool:
    return conn.execute("DELETE FROM webhooks WHERE id = ?", (webhook_id,)).rowcount > 0
