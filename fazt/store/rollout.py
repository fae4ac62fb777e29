"""SQL for a site's traffic split (SPEC §15): which deployments it serves, by weight.

A split names deployments of the site itself; setting one replaces the last, and a switch of the
site's active deployment ends it (L{fazt.store.sites.activate} calls L{clear_split}).
"""

from __future__ import annotations

from typing import Optional

from fazt.store.errors import NotFound
from fazt.store.transaction import Connection


def get_split(conn: Connection, site_name: str) -> Optional[tuple[tuple[int, int], ...]]:
    """The site's split as C{((deployment_id, weight), ...)} by deployment id, or None without one."""
    rows = conn.execute(
        "SELECT deployment_id, weight FROM site_splits WHERE site_name = ? ORDER BY deployment_id",
        (site_name,),
    ).fetchall()
    return tuple((r[0], r[1]) for r in rows) or None


def set_split(conn: Connection, site_name: str, weights: list[tuple[int, int]]) -> None:
    """Replace the site's split; raises L{NotFound} naming a deployment that is not the site's.

    Must run inside a write transaction.
    """
    for deployment_id, _ in weights:
        row = conn.execute(
            "SELECT 1 FROM deployments WHERE id = ? AND site_name = ?", (deployment_id, site_name)
        ).fetchone()
        if row is None:
            raise NotFound(f"site '{site_name}' has no deployment {deployment_id}")
    clear_split(conn, site_name)
    conn.executemany(
        "INSERT INTO site_splits (site_name, deployment_id, weight) VALUES (?, ?, ?)",
        [(site_name, deployment_id, weight) for deployment_id, weight in weights],
    )


def clear_split(conn: Connection, site_name: str) -> bool:
    """End the site's split; whether it had one."""
    return conn.execute("DELETE FROM site_splits WHERE site_name = ?", (site_name,)).rowcount > 0
