"""SQL for inbound webhook receivers (synchronous, connection first).

The secret is kept as given (HMAC needs it) and never read back out by the listing functions:
they report only C{has_secret}. A duplicate endpoint raises L{fazt.store.errors.Conflict}.
"""

from __future__ import annotations

from typing import Optional

from fazt.store.rows import RowTable, as_given
from fazt.store.transaction import Connection

def _webhook(row) -> dict:
    return {"id": row[0], "name": row[1], "endpoint": row[2], "has_secret": bool(row[3]),
            "is_active": bool(row[4]), "created_at": row[5]}


def _secret(value: Optional[str]) -> Optional[str]:
    return value or None  # an empty secret is no secret


WEBHOOKS = RowTable("webhooks", "id, name, endpoint, secret IS NOT NULL AND secret != '', is_active, created_at",
                    "id DESC", _webhook,
                    {"name": as_given, "endpoint": as_given, "secret": _secret, "is_active": int})


def list_webhooks(conn: Connection, limit: int, offset: int) -> list[dict]:
    """A page of webhooks, newest first."""
    return WEBHOOKS.page(conn, limit, offset)


def count_webhooks(conn: Connection) -> int:
    return WEBHOOKS.count(conn)


def get_webhook(conn: Connection, webhook_id: int) -> Optional[dict]:
    return WEBHOOKS.get(conn, webhook_id)


def find_receiver(conn: Connection, endpoint: str) -> Optional[tuple[str, Optional[str], bool]]:
    """C{(name, secret, is_active)} of the receiver at C{endpoint}, or None (for C{/webhook/...})."""
    row = conn.execute("SELECT name, secret, is_active FROM webhooks WHERE endpoint = ?", (endpoint,)).fetchone()
    return (row[0], row[1] or None, bool(row[2])) if row else None


def create_webhook(conn: Connection, name: str, endpoint: str, secret: Optional[str],
                   is_active: bool, now: int) -> dict:
    """Insert a receiver and return it; raises Conflict when the endpoint is taken."""
    return WEBHOOKS.insert(conn, {"name": name, "endpoint": endpoint, "secret": _secret(secret),
                                  "is_active": int(is_active), "created_at": now})


def update_webhook(conn: Connection, webhook_id: int, changes: dict) -> Optional[dict]:
    """Apply C{changes} (name, endpoint, secret, is_active) in one UPDATE; None if unknown."""
    return WEBHOOKS.update(conn, webhook_id, changes)


def delete_webhook(conn: Connection, webhook_id: int) -> bool:
    return WEBHOOKS.delete(conn, webhook_id)
