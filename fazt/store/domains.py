"""SQL for custom domains: a host name served by a site (SPEC §15).

A name belongs to one site (UNIQUE: another site's taken name raises L{Conflict}). The routing
map of every process is built from L{all_domains}.
"""

from __future__ import annotations

from typing import Optional

from fazt.store.rows import RowTable, as_given
from fazt.store.transaction import Connection

WWW_MODES = ("none", "serve", "redirect")


def _domain(row) -> dict:
    return {"id": row[0], "site": row[1], "name": row[2], "www": row[3], "created_at": row[4]}


DOMAINS = RowTable("domains", "id, site_name, name, www, created_at", "name", _domain, {"www": as_given})


def list_domains(conn: Connection, site_name: str, limit: int, offset: int) -> list[dict]:
    """A page of one site's domains, by name."""
    rows = conn.execute(f"SELECT {DOMAINS.columns} FROM domains WHERE site_name = ? ORDER BY name"
                        " LIMIT ? OFFSET ?", (site_name, limit, offset)).fetchall()
    return [_domain(row) for row in rows]


def count_domains(conn: Connection, site_name: str) -> int:
    return conn.execute("SELECT COUNT(*) FROM domains WHERE site_name = ?", (site_name,)).fetchone()[0]


def find_domain(conn: Connection, site_name: str, name: str) -> Optional[dict]:
    """Site C{site_name}'s domain C{name}, or None."""
    row = conn.execute(f"SELECT {DOMAINS.columns} FROM domains WHERE site_name = ? AND name = ?",
                       (site_name, name)).fetchone()
    return _domain(row) if row else None


def add_domain(conn: Connection, site_name: str, name: str, www: str, now: int) -> dict:
    """Register C{name} for a site; raises L{fazt.store.errors.Conflict} when it is taken."""
    return DOMAINS.insert(conn, {"site_name": site_name, "name": name, "www": www, "created_at": now})


def remove_domain(conn: Connection, site_name: str, name: str) -> bool:
    """Unregister one of a site's domains; whether it was there."""
    return conn.execute("DELETE FROM domains WHERE site_name = ? AND name = ?", (site_name, name)).rowcount > 0


def remove_site_domains(conn: Connection, site_name: str) -> int:
    """Unregister every domain of a site (when the site is deleted)."""
    return conn.execute("DELETE FROM domains WHERE site_name = ?", (site_name,)).rowcount


def all_domains(conn: Connection) -> list[tuple[str, str, str]]:
    """Every registered C{(name, site, www)}: what the routing map holds."""
    return [tuple(row) for row in conn.execute("SELECT name, site_name, www FROM domains ORDER BY name")]


def check_key(conn: Connection, new_key: str, now: int) -> str:
    """The key every process proves with that a name reaches this server (C{fazt domain check});
    C{new_key} is kept the first time. Must run in a write transaction."""
    conn.execute("INSERT INTO config (key, value, updated_at) VALUES ('domain_check_key', ?, ?)"
                 " ON CONFLICT(key) DO NOTHING", (new_key, now))
    return conn.execute("SELECT value FROM config WHERE key = 'domain_check_key'").fetchone()[0]
