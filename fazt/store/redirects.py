"""SQL for the URL shortener's redirects (synchronous, connection first).

Tags are stored comma-joined (a tag never holds a comma). A duplicate slug surfaces as
C{sqlite3.IntegrityError} from the UNIQUE constraint, which the API answers with 409.
"""

from __future__ import annotations

import sqlite3
from typing import Optional

from fazt.store.eventrows import split_tags

_COLUMNS = "id, slug, destination, tags, click_count, created_at"


def _redirect(row) -> dict:
    return {"id": row[0], "slug": row[1], "destination": row[2], "tags": split_tags(row[3]),
            "click_count": row[4], "created_at": row[5]}


def list_redirects(conn: sqlite3.Connection, limit: int, offset: int) -> list[dict]:
    """A page of redirects, most clicked first."""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM redirects ORDER BY click_count DESC, id LIMIT ? OFFSET ?",
                        (limit, offset)).fetchall()
    return [_redirect(r) for r in rows]


def count_redirects(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT COUNT(*) FROM redirects").fetchone()[0]


def get_redirect(conn: sqlite3.Connection, redirect_id: int) -> Optional[dict]:
    row = conn.execute(f"SELECT {_COLUMNS} FROM redirects WHERE id = ?", (redirect_id,)).fetchone()
    return _redirect(row) if row else None


def find_redirect(conn: sqlite3.Connection, slug: str) -> Optional[tuple[int, str, str]]:
    """C{(id, destination, tags)} of the redirect at C{slug}, or None."""
    return conn.execute("SELECT id, destination, tags FROM redirects WHERE slug = ?", (slug,)).fetchone()


def create_redirect(conn: sqlite3.Connection, slug: str, destination: str, tags: list[str], now: int) -> dict:
    """Insert a redirect and return it; raises IntegrityError when the slug is taken."""
    cursor = conn.execute(
        "INSERT INTO redirects (slug, destination, tags, click_count, created_at) VALUES (?, ?, ?, 0, ?)",
        (slug, destination, ",".join(tags), now),
    )
    return get_redirect(conn, cursor.lastrowid)


def update_redirect(conn: sqlite3.Connection, redirect_id: int, changes: dict) -> Optional[dict]:
    """Apply C{changes} (slug, destination, tags) in one UPDATE; None if there is no such redirect."""
    values = {k: (",".join(v) if k == "tags" else v) for k, v in changes.items()
              if k in ("slug", "destination", "tags")}
    if values:
        assignments = ", ".join(f"{column} = ?" for column in values)
        cursor = conn.execute(f"UPDATE redirects SET {assignments} WHERE id = ?", (*values.values(), redirect_id))
        if cursor.rowcount == 0:
            return None
    return get_redirect(conn, redirect_id)


def delete_redirect(conn: sqlite3.Connection, redirect_id: int) -> bool:
    return conn.execute("DELETE FROM redirects WHERE id = ?", (redirect_id,)).rowcount > 0


def count_click(conn: sqlite3.Connection, redirect_id: int) -> None:
    """One more click on a redirect."""
    conn.execute("UPDATE redirects SET click_count = click_count + 1 WHERE id = ?", (redirect_id,))
