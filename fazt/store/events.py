"""SQL for analytics events (synchronous, connection first).

Events are written in batches by L{insert_events}, which is also where an event's address
becomes its visitor hash: the raw address never reaches a table. The day's salt lives in the
config table under L{SALT_KEY}, so a restart does not count everyone twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

from fazt.store.eventrows import PendingEvent, event_row, split_tags, text
from fazt.store.visitors import rotate_salt, utc_day, visitor_hash
from fazt.store.accounts import get_config, set_config
from fazt.store.dialect import NO_LIMIT, fragment
from fazt.store.transaction import Connection

SALT_KEY = "analytics.visitor_salt"
DAY = 86400
TOP = 10

_INSERT = (
    "INSERT INTO events (domain, tags, source_type, event_type, path, referrer, user_agent,"
    " visitor_hash, query_params, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True)
class EventFilter:
    """The filters of C{GET /api/events}: exact domain and source type, a tag substring."""

    domain: Optional[str] = None
    tags: Optional[str] = None
    source_type: Optional[str] = None

    def where(self) -> tuple[str, list]:
        clauses, args = [], []
        if self.domain:
            clauses.append("domain = ?")
            args.append(self.domain)
        if self.tags:
            escaped = self.tags.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            # lower() on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's does not.
            clauses.append("lower(tags) LIKE lower(?) ESCAPE '\\'")
            args.append(f"%{escaped}%")
        if self.source_type:
            clauses.append("source_type = ?")
            args.append(self.source_type)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


def insert_events(conn: Connection, events: list[PendingEvent]) -> int:
    """Write C{events}, each address replaced by its visitor hash; returns how many."""
    salts: dict[str, str] = {}
    rows = []
    for event in events:
        visitor = None
        if event.ip:
            day = utc_day(event.created_at)
            salt = salts.get(day)
            if salt is None:
                salt = salts[day] = _salt_for(conn, day, event.created_at)
            visitor = visitor_hash(salt, event.ip, text(event.user_agent) or "")
        rows.append(event_row(event, visitor))
    conn.executemany(_INSERT, rows)
    return len(rows)


def _salt_for(conn: Connection, day: str, now: float) -> str:
    salt, to_store = rotate_salt(get_config(conn, SALT_KEY), day)
    if to_store is not None:
        set_config(conn, SALT_KEY, to_store, int(now))
    return salt


def list_events(conn: Connection, where: EventFilter, limit: int, offset: int) -> list[dict]:
    """A page of events, newest first, as the API shows them (no address: the visitor hash)."""
    clause, args = where.where()
    rows = conn.execute(
        "SELECT id, domain, tags, source_type, event_type, path, referrer, user_agent, visitor_hash,"
        " query_params, created_at FROM events" + clause + " ORDER BY created_at DESC, id DESC"
        " LIMIT ? OFFSET ?", (*args, limit, offset),
    ).fetchall()
    return [
        {"id": r[0], "domain": r[1], "tags": split_tags(r[2]), "source_type": r[3], "event_type": r[4],
         "path": r[5], "referrer": r[6], "user_agent": r[7], "visitor": r[8], "query_params": r[9],
         "created_at": r[10]}
        for r in rows
    ]


def count_events(conn: Connection, where: EventFilter) -> int:
    clause, args = where.where()
    return conn.execute("SELECT COUNT(*) FROM events" + clause, args).fetchone()[0]


def domain_counts(conn: Connection, limit: Optional[int] = None, offset: int = 0) -> list[dict]:
    """C{[{domain, count}]}, most events first."""
    rows = conn.execute(
        "SELECT domain, COUNT(*) AS n FROM events WHERE domain != '' GROUP BY domain"
        " ORDER BY n DESC, domain LIMIT ? OFFSET ?", (NO_LIMIT if limit is None else limit, offset),
    ).fetchall()
    return [{"domain": d, "count": n} for d, n in rows]


def count_domains(conn: Connection) -> int:
    return conn.execute("SELECT COUNT(DISTINCT domain) FROM events WHERE domain != ''").fetchone()[0]


def tag_counts(conn: Connection) -> list[dict]:
    """C{[{tag, count}]} over every event, most used first (each tag counted once per event)."""
    counts: dict[str, int] = {}
    for joined, n in conn.execute("SELECT tags, COUNT(*) FROM events WHERE tags != '' GROUP BY tags"):
        for tag in set(split_tags(joined)):
            counts[tag] = counts.get(tag, 0) + n
    return [{"tag": t, "count": n} for t, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def _count_since(conn: Connection, since: float) -> tuple[int, int]:
    return conn.execute(
        "SELECT COUNT(*), COUNT(DISTINCT visitor_hash) FROM events WHERE created_at >= ?", (since,)
    ).fetchone()


def stats(conn: Connection, now: Optional[float] = None) -> dict:
    """The dashboard numbers of C{GET /api/stats}, from one consistent snapshot.

    "Today" starts at midnight UTC; the week and the month are the last 7 and 30 days; the
    timeline is the last 24 hours by hour (hours without events are left out, as the original).
    """
    now = time.time() if now is None else now
    today, today_visitors = _count_since(conn, now - now % DAY)
    week, week_visitors = _count_since(conn, now - 7 * DAY)
    month, month_visitors = _count_since(conn, now - 30 * DAY)
    timeline = conn.execute(
        f"SELECT {fragment(conn, 'hour_of_created_at')} AS hour, COUNT(*) FROM events"
        " WHERE created_at >= ? GROUP BY hour ORDER BY hour", (now - DAY,),
    ).fetchall()
    return {
        "total_events_today": today,
        "total_events_week": week,
        "total_events_month": month,
        "total_events_all_time": conn.execute("SELECT COUNT(*) FROM events").fetchone()[0],
        "events_by_source_type": dict(conn.execute(
            "SELECT source_type, COUNT(*) FROM events GROUP BY source_type ORDER BY source_type").fetchall()),
        "top_domains": domain_counts(conn, TOP),
        "top_tags": tag_counts(conn)[:TOP],
        "events_timeline": [{"timestamp": hour, "count": n} for hour, n in timeline],
        "total_unique_domains": count_domains(conn),
        "total_redirect_clicks": conn.execute("SELECT COALESCE(SUM(click_count), 0) FROM redirects").fetchone()[0],
        "unique_visitors": {"today": today_visitors, "week": week_visitors, "month": month_visitors},
    }
