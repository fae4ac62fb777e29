"""SQL for one site's traffic as the dashboard shows it (synchronous, connection first).

Pageviews are the site's C{hosting} events; visitors are counted by the daily-rotated visitor
hash (unique per day, summed).
"""

from __future__ import annotations

import time
from fazt.store.dialect import fragment
from fazt.store.transaction import Connection

DAY = 86400
TOP = 10


def site_traffic(conn: Connection, site: str, days: int, now: float) -> dict:
    """Views and visitors per UTC day (every day of the window, zeros included), top paths and referrers."""
    first_day = int(now // DAY) - days + 1
    since = first_day * DAY
    where = "domain = ? AND source_type = 'hosting' AND created_at >= ?"
    per_day = {day: (views, visitors) for day, views, visitors in conn.execute(
        f"SELECT {fragment(conn, 'day_of_created_at')} AS day, COUNT(*), COUNT(DISTINCT visitor_hash)"
        f" FROM events WHERE {where} GROUP BY day", (site, since))}
    timeline = []
    for day in range(first_day, first_day + days):
        views, visitors = per_day.get(day, (0, 0))
        timeline.append({"date": time.strftime("%Y-%m-%d", time.gmtime(day * DAY)), "views": views,
                         "visitors": visitors})

    def top(column: str) -> list[dict]:
        rows = conn.execute(
            f"SELECT {column}, COUNT(*) AS n FROM events WHERE {where} AND {column} IS NOT NULL AND {column} != ''"
            f" GROUP BY {column} ORDER BY n DESC, {column} LIMIT ?", (site, since, TOP))
        return [{"value": value, "count": n} for value, n in rows]

    return {
        "site": site,
        "days": days,
        "views": sum(day["views"] for day in timeline),
        "unique_visitors": sum(day["visitors"] for day in timeline),
        "timeline": timeline,
        "top_paths": top("path"),
        "top_referrers": top("referrer"),
    }
