"""/api/stats, /api/events, /api/domains and /api/tags against a live server (SPEC §9, §10)."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest_twisted

from fazt.cli.operator import create_key
from fazt_testing import assert_error

ROUTES = ["/api/stats", "/api/events", "/api/domains", "/api/tags"]
HOUR = 3600
DAY = 86400


async def api(server, method: str, path: str, token: str | None = None):
    return await server.request(method, path, headers={"Authorization": f"Bearer {token or server.admin_token}"})


def seed(db: str, now: float) -> None:
    """Events at known times, written straight to the table (the buffer is tested elsewhere)."""
    rows = [
        # domain, tags, source, type, visitor, created_at
        ("blog", "launch,mail", "hosting", "pageview", "v1", now - 60),
        ("blog", "launch", "hosting", "pageview", "v1", now - 120),
        ("blog", "", "hosting", "pageview", "v2", now - 2 * HOUR),
        ("docs", "mail", "redirect", "click", "v3", now - 3 * HOUR),
        ("shop", "100%_off", "web", "buy", "v4", now - 3 * DAY),
        ("shop", "", "pixel", "pixel", "v4", now - 20 * DAY),
        ("old", "", "webhook", "push", None, now - 60 * DAY),
    ]
    conn = sqlite3.connect(db)
    try:
        conn.executemany(
            "INSERT INTO events (domain, tags, source_type, event_type, path, referrer, user_agent,"
            " visitor_hash, query_params, created_at) VALUES (?, ?, ?, ?, '/p', NULL, 'UA', ?, ?, ?)",
            [(d, t, s, e, v, json.dumps({"n": i}) if s == "webhook" else None, ts)
             for i, (d, t, s, e, v, ts) in enumerate(rows)],
        )
        conn.execute("INSERT INTO redirects (slug, destination, tags, click_count, created_at)"
                     " VALUES ('docs', 'https://x.org', '', 7, 0)")
        conn.commit()
    finally:
        conn.close()


@pytest_twisted.ensureDeferred
async def test_stats(server):
    now = time.time()
    seed(server.db, now)
    response = await api(server, "GET", "/api/stats")
    assert response.code == 200
    data = response.json()["data"]
    today_start = now - now % DAY
    expected_today = sum(1 for ago in (60, 120, 2 * HOUR, 3 * HOUR) if now - ago >= today_start)
    assert data["total_events_today"] == expected_today
    assert data["total_events_week"] == 5
    assert data["total_events_month"] == 6
    assert data["total_events_all_time"] == 7
    assert data["events_by_source_type"] == {"hosting": 3, "redirect": 1, "web": 1, "pixel": 1, "webhook": 1}
    assert data["top_domains"][:2] == [{"domain": "blog", "count": 3}, {"domain": "shop", "count": 2}]
    assert data["top_tags"] == [{"tag": "launch", "count": 2}, {"tag": "mail", "count": 2},
                                {"tag": "100%_off", "count": 1}]
    assert sum(point["count"] for point in data["events_timeline"]) == 4
    assert all(len(point["timestamp"]) == 16 and point["timestamp"].endswith(":00") for point in data["events_timeline"])
    assert data["total_unique_domains"] == 4
    assert data["total_redirect_clicks"] == 7
    assert data["unique_visitors"]["week"] == 4 and data["unique_visitors"]["month"] == 4
    assert data["unique_visitors"]["today"] <= 3


@pytest_twisted.ensureDeferred
async def test_stats_of_an_empty_cartridge(server):
    data = (await api(server, "GET", "/api/stats")).json()["data"]
    assert data["total_events_all_time"] == 0 and data["top_domains"] == [] and data["top_tags"] == []
    assert data["events_timeline"] == [] and data["events_by_source_type"] == {}
    assert data["unique_visitors"] == {"today": 0, "week": 0, "month": 0}


@pytest_twisted.ensureDeferred
async def test_events_list_filters_and_pages(server):
    seed(server.db, time.time())
    response = await api(server, "GET", "/api/events")
    body = response.json()
    assert body["meta"] == {"total": 7, "limit": 50, "offset": 0}
    events = body["data"]
    assert [e["domain"] for e in events] == ["blog", "blog", "blog", "docs", "shop", "shop", "old"]  # newest first
    first = events[0]
    assert set(first) == {"id", "domain", "tags", "source_type", "event_type", "path", "referrer", "user_agent",
                          "visitor", "query_params", "created_at"}
    assert "ip_address" not in first and first["visitor"] == "v1" and first["tags"] == ["launch", "mail"]
    assert first["created_at"].endswith("Z")
    assert events[2]["tags"] == []
    assert events[-1]["query_params"] == {"n": 6}

    async def listing(query: str) -> dict:
        result = await api(server, "GET", f"/api/events?{query}")
        assert result.code == 200, result.body
        return result.json()

    assert (await listing("domain=blog"))["meta"]["total"] == 3
    assert (await listing("domain=blo"))["meta"]["total"] == 0          # exact
    assert (await listing("tags=mail"))["meta"]["total"] == 2            # substring, as the original
    assert (await listing("tags=%25_"))["meta"]["total"] == 1            # % and _ are literal
    assert (await listing("tags=_"))["meta"]["total"] == 1
    assert (await listing("source_type=hosting&domain=blog&tags=launch"))["meta"]["total"] == 2
    assert (await listing("domain=%C3%BC"))["meta"]["total"] == 0
    page = await listing("limit=2&offset=5")
    assert page["meta"] == {"total": 7, "limit": 2, "offset": 5}
    assert [e["domain"] for e in page["data"]] == ["shop", "old"]
    assert (await listing("offset=100"))["data"] == []


@pytest_twisted.ensureDeferred
async def test_events_validation(server):
    for query, field in (("limit=1001", "limit"), ("limit=0", "limit"), ("limit=1e3", "limit"), ("offset=-5", "offset"),
                         ("offset=99999999999999999999", "offset"), ("domain=%FF", "domain"), ("tags=%FE", "tags"),
                         ("source_type=" + "x" * 501, "source_type")):
        assert_error(await api(server, "GET", f"/api/events?{query}"), 400, "VALIDATION_FAILED", field)


@pytest_twisted.ensureDeferred
async def test_domains_and_tags(server):
    seed(server.db, time.time())
    domains = (await api(server, "GET", "/api/domains")).json()
    assert domains["meta"] == {"total": 4, "limit": 50, "offset": 0}
    assert domains["data"][0] == {"domain": "blog", "count": 3}
    assert sorted(d["domain"] for d in domains["data"]) == ["blog", "docs", "old", "shop"]
    page = (await api(server, "GET", "/api/domains?limit=1&offset=1")).json()
    assert page["data"] == [{"domain": "shop", "count": 2}] and page["meta"]["total"] == 4
    tags = (await api(server, "GET", "/api/tags")).json()
    assert tags["data"] == [{"tag": "launch", "count": 2}, {"tag": "mail", "count": 2}, {"tag": "100%_off", "count": 1}]
    assert tags["meta"] == {"total": 3, "limit": 50, "offset": 0}
    assert (await api(server, "GET", "/api/tags?offset=2")).json()["data"] == [{"tag": "100%_off", "count": 1}]
    for path in ("/api/domains?limit=1001", "/api/tags?offset=-1"):
        assert_error(await api(server, "GET", path), 400, "VALIDATION_FAILED")


@pytest_twisted.ensureDeferred
async def test_auth(server):
    narrow = create_key(server.db, "blog-deployer", ["deploy:blog"])
    for path in ROUTES:
        assert_error(await server.request("GET", path), 401, "UNAUTHORIZED")
        assert_error(await api(server, "GET", path, token="fazt_nope"), 401, "INVALID_API_KEY")
        assert_error(await server.request("GET", path, headers={"Authorization": "Basic x"}), 401, "UNAUTHORIZED")
        assert_error(await api(server, "GET", path, token=narrow), 403, "FORBIDDEN")


@pytest_twisted.ensureDeferred
async def test_wrong_methods(server):
    for path in ROUTES:
        response = await api(server, "POST", path)
        assert_error(response, 405, "METHOD_NOT_ALLOWED")
        assert "GET" in response.header("allow")
    assert_error(await api(server, "GET", "/api/stats/extra"), 404, "NOT_FOUND")
