"""SQL that keeps the cartridge from growing without end (synchronous, connection first).

Console lines (C{site_logs}), analytics C{events} and the C{audit_log} are deleted once older
than their policy's age; each site keeps at most a number of console lines; expired KV entries
and sessions go too. Every function deletes at most C{limit} rows, so one call is one short
write transaction: L{fazt.ops.retention} calls L{prune_step} through the store's single writer
until nothing is left to delete, and other writes run between the batches.
"""

from __future__ import annotations

from dataclasses import dataclass

from fazt.store.sessions import delete_expired_sessions
from fazt.store.transaction import Connection

DAY = 86400.0
BATCH = 1000
# The tables pruned by age, each with an index on created_at (0001 and 0004_ops.sql).
AGED_TABLES = ("site_logs", "events", "audit_log")


@dataclass(frozen=True)
class RetentionPolicy:
    """How long rows live, in days (0: for ever), and the console lines kept per site (0: all)."""

    logs_days: float = 30
    events_days: float = 365
    audit_days: float = 365
    logs_per_site: int = 10000

    def max_age(self, table: str) -> float:
        """The age in seconds past which rows of C{table} go; 0 keeps them."""
        days = {"site_logs": self.logs_days, "events": self.events_days, "audit_log": self.audit_days}[table]
        return days * DAY


def prune_older(conn: Connection, table: str, cutoff: float, limit: int = BATCH) -> int:
    """Delete up to C{limit} rows of C{table} created before C{cutoff}; how many went."""
    if table not in AGED_TABLES:
        raise ValueError(f"no retention for table {table!r}")
    return conn.execute(
        f"DELETE FROM {table} WHERE id IN"
        f" (SELECT id FROM {table} WHERE created_at < ? ORDER BY created_at LIMIT ?)",
        (cutoff, limit),
    ).rowcount


def prune_site_log_cap(conn: Connection, keep: int, limit: int = BATCH) -> int:
    """Delete up to C{limit} console lines beyond the C{keep} newest of each site."""
    deleted = 0
    sites = [row[0] for row in conn.execute("SELECT DISTINCT site_name FROM site_logs").fetchall()]
    for site in sites:
        if deleted >= limit:
            break
        boundary = conn.execute(
            "SELECT id FROM site_logs WHERE site_name = ? ORDER BY id DESC LIMIT 1 OFFSET ?", (site, keep)
        ).fetchone()
        if boundary is None:
            continue
        deleted += conn.execute(
            "DELETE FROM site_logs WHERE id IN (SELECT id FROM site_logs WHERE site_name = ? AND id <= ?"
            " ORDER BY id LIMIT ?)",
            (site, boundary[0], limit - deleted),
        ).rowcount
    return deleted


def prune_expired_kv(conn: Connection, now: float, limit: int = BATCH) -> int:
    """Delete up to C{limit} KV entries whose TTL has passed (apps already no longer see them)."""
    return conn.execute(
        "DELETE FROM kv WHERE (site_name, key) IN (SELECT site_name, key FROM kv"
        " WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT ?)",
        (now, limit),
    ).rowcount


def prune_step(conn: Connection, policy: RetentionPolicy, now: float,
               limit: int = BATCH) -> dict[str, int]:
    """One batch of every kind of pruning; rows deleted by kind (each at most C{limit})."""
    counts = {}
    for table in AGED_TABLES:
        age = policy.max_age(table)
        counts[table] = prune_older(conn, table, now - age, limit) if age > 0 else 0
    counts["site_logs_cap"] = prune_site_log_cap(conn, policy.logs_per_site, limit) if policy.logs_per_site else 0
    counts["kv_expired"] = prune_expired_kv(conn, now, limit)
    counts["sessions_expired"] = delete_expired_sessions(conn, now)
    return counts


def more_to_do(counts: dict[str, int], limit: int = BATCH) -> bool:
    """Whether a batch was full somewhere, so another one may find more."""
    return any(value >= limit for key, value in counts.items() if key != "sessions_expired")
