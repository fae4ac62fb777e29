"""SQL for the URL shortener's redirects (synchronous, connection first).

Tags are stored comma-joined (a tag never holds a comma). A duplicate slug raises
L{fazt.store.errors.Conflict} (the UNIQUE constraint), which the API answers with 409.
"""

from __future__ import annotations

from typing import Optional

from fazt.store.eventrows import split_tags
from fazt.store.rows import RowTable, as_given
from fazt.store.transaction import Connection

def _redirect(row) -> dict:
    return {"id": row[0], "slug": row[1], "destination": row[2], "tags": split_tags(row[3]),
            "click_count": row[4], "created_at": row[5]}


REDIRECTS = RowTable("redirects", "id, slug, destination, tags, click_count, created_at",
                     "click_count DESC, id", _redirect,
                     {"slug": as_given, "destination": as_given, "tags": ",".join})


def list_redirects(conn: Connection, limit: int, offset: int) -> list[dict]:
    """A page of redirects, most clicked first."""
    return REDIRECTS.page(conn, limit, offset)


def count_redirects(conn: Connection) -> int:
    return REDIRECTS.count(conn)


def get_redirect(conn: Connection, redirect_id: int) -> Optional[dict]:
    return REDIRECTS.get(conn, redirect_id)


def find_redirect(conn: Connection, slug: str) -> Optional[tuple[int, str, str]]:
    """C{(id, destination, tags)} of the redirect at C{slug}, or None."""
    return conn.execute("SELECT id, destination, tags FROM redirects WHERE slug = ?", (slug,)).fetchone()


def create_redirect(conn: Connection, slug: str, destination: str, tags: list[str], now: int) -> dict:
    """Insert a redirect and return it; raises Conflict when the slug is taken."""
    return REDIRECTS.insert(conn, {"slug": slug, "destination": destination, "tags": ",".join(tags),
                                   "click_count": 0, "created_at": now})


def update_redirect(conn: Connection, redirect_id: int, changes: dict) -> Optional[dict]:
    """Apply C{changes} (slug, destination, tags) in one UPDATE; None if there is no such redirect."""
    return REDIRECTS.update(conn, redirect_id, changes)


def delete_redirect(conn: Connection, redirect_id: int) -> bool:
    return REDIRECTS.delete(conn, redirect_id)


def count_click(conn: Connection, redirect_id: int) -> None:
    """One more click on a redirect."""
    conn.execute("UPDATE redirects SET click_count = click_count + 1 WHERE id = ?", (redirect_id,))
