"""Scheduled runs: which app sites have a cron config, and who ran which minute (connection first)."""

from __future__ import annotations

from typing import Optional
from fazt.store.transaction import Connection


def cron_configs(conn: Connection, config_file: str,
                 known: frozenset) -> list[tuple[str, str, Optional[bytes]]]:
    """C{(site, blob hash, bytes)} of the file C{config_file} (C{fazt.json}) of every app site.

    The bytes are left out (None) for hashes in C{known}: the caller has them parsed already.
    """
    rows = conn.execute(
        "SELECT s.name, m.blob_hash FROM sites s"
        " JOIN manifests m ON m.deployment_id = s.active_deployment_id AND m.path = ?"
        " WHERE EXISTS (SELECT 1 FROM manifests a WHERE a.deployment_id = s.active_deployment_id"
        "               AND a.path = 'main.js')"
        " ORDER BY s.name",
        (config_file,),
    ).fetchall()
    found = []
    for site, blob_hash in rows:
        data = None
        if blob_hash not in known:
            row = conn.execute("SELECT data FROM blobs WHERE hash = ?", (blob_hash,)).fetchone()
            data = bytes(row[0]) if row else b""
        found.append((site, blob_hash, data))
    return found


def claim_run(conn: Connection, site: str, entry: str, minute: int) -> bool:
    """Record that C{entry} of C{site} starts in C{minute}; False if that minute was claimed already."""
    row = conn.execute("SELECT last_minute FROM cron_runs WHERE site_name = ? AND entry = ?",
                       (site, entry)).fetchone()
    if row is not None and row[0] >= minute:
        return False
    if conn.execute("SELECT 1 FROM sites WHERE name = ?", (site,)).fetchone() is None:
        return False  # deleted meanwhile
    conn.execute(
        "INSERT INTO cron_runs (site_name, entry, last_minute) VALUES (?, ?, ?)"
        " ON CONFLICT (site_name, entry) DO UPDATE SET last_minute = excluded.last_minute,"
        " last_outcome = NULL, last_ended_at = NULL",
        (site, entry, minute),
    )
    return True


def record_outcome(conn: Connection, site: str, entry: str, minute: int, outcome: str,
                   ended_at: float) -> None:
    """Note how the run of C{minute} ended (unless a later run has been claimed since)."""
    conn.execute("UPDATE cron_runs SET last_outcome = ?, last_ended_at = ?"
                 " WHERE site_name = ? AND entry = ? AND last_minute = ?",
                 (outcome, ended_at, site, entry, minute))


def last_runs(conn: Connection, site: str) -> list[tuple[str, int, Optional[str], Optional[float]]]:
    """C{(entry, last minute, outcome, ended at)} of a site's entries."""
    return conn.execute("SELECT entry, last_minute, last_outcome, last_ended_at FROM cron_runs"
                        " WHERE site_name = ? ORDER BY entry", (site,)).fetchall()
