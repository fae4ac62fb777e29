"""GET /api/sites/NAME/analytics?days=N: a site's views per day, visitors, top paths and referrers."""

from __future__ import annotations

import time

import pytest_twisted

from fazt_testing import assert_error, sql

DAY = 86400


def event(db: str, site: str, path: str, visitor: str, when: float, referrer=None, source="hosting") -> None:
    sql(db, "INSERT INTO events (domain, source_type, event_type, path, referrer, visitor_hash, created_at)"
        " VALUES (?, ?, 'pageview', ?, ?, ?, ?)", site, source, path, referrer, visitor, when)


@pytest_twisted.ensureDeferred
async def test_traffic_of_one_site(server):
    assert (await server.deploy("blog", {"index.html": "hi"})).code == 200
    now = time.time()
    for path, visitor in (("/", "a"), ("/", "b"), ("/post", "a")):
        event(server.db, "blog", path, visitor, now, referrer="https://news.example/")
    event(server.db, "blog", "/", "c", now - DAY)
    event(server.db, "blog", "/old", "d", now - 40 * DAY)          # outside 30 days
    event(server.db, "other", "/", "e", now)                      # another site
    event(server.db, "blog", "/x", "f", now, source="redirect")   # not a pageview of the site
    auth = {"Authorization": f"Bearer {server.admin_token}"}

    data = (await server.get("/api/sites/blog/analytics", **auth)).json()["data"]
    assert (data["site"], data["days"], data["views"], data["unique_visitors"]) == ("blog", 30, 4, 3)
    assert len(data["timeline"]) == 30
    assert data["timeline"][-1] == {"date": time.strftime("%Y-%m-%d", time.gmtime(now)), "views": 3, "visitors": 2}
    assert data["timeline"][-2]["views"] == 1
    assert data["top_paths"] == [{"value": "/", "count": 3}, {"value": "/post", "count": 1}]
    assert data["top_referrers"] == [{"value": "https://news.example/", "count": 3}]
    week = (await server.get("/api/sites/blog/analytics?days=90", **auth)).json()["data"]
    assert week["views"] == 5 and len(week["timeline"]) == 90


@pytest_twisted.ensureDeferred
async def test_errors(server):
    auth = {"Authorization": f"Bearer {server.admin_token}"}
    assert_error(await server.get("/api/sites/root/analytics"), 401, "UNAUTHORIZED")
    assert_error(await server.get("/api/sites/nosuch/analytics", **auth), 404, "SITE_NOT_FOUND")
    for bad in ("0", "367", "x", "-1"):
        assert_error(await server.get(f"/api/sites/root/analytics?days={bad}", **auth), 400, "VALIDATION_FAILED", "days")
