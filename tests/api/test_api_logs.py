"""A site's console log through the admin API (SPEC §9), against a live server: paging, levels,
the C{after_id} cursor that C{fazt logs --follow} uses, and lines a real script printed."""

from __future__ import annotations

import sqlite3
import time

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import ensureDeferred
from twisted.internet.task import deferLater

from fazt.cli.operator import create_key
from fazt_testing import assert_error, start_server, stop_server

LEVELS = ["info", "warn", "error", "debug"]


@pytest.fixture
def live(tmp_path):
    server = start_server(str(tmp_path / "data.db"), extra_args=("--js-workers", "1"))
    deployed = pytest_twisted.blockon(ensureDeferred(server.deploy("blog", {"index.html": "x"})))
    assert deployed.code == 200, deployed.body
    yield server
    stop_server(server)


def write_logs(db: str, site: str, count: int, start: float = 1_700_000_000.0) -> list[int]:
    """Append C{count} lines (levels in turn) the way the runtime does; returns their ids."""
    conn = sqlite3.connect(db)
    try:
        ids = []
        for i in range(count):
            cursor = conn.execute(
                "INSERT INTO site_logs (site_name, level, message, created_at) VALUES (?, ?, ?, ?)",
                (site, LEVELS[i % 4], f"line {i}", start + i),
            )
            ids.append(cursor.lastrowid)
        conn.commit()
        return ids
    finally:
        conn.close()


async def api(server, method: str, path: str, token: str | None = None):
    return await server.request(method, path, headers={"Authorization": f"Bearer {token or server.admin_token}"})


def page(response) -> tuple[list[str], dict]:
    assert response.code == 200, response.body
    body = response.json()
    assert set(body) == {"data", "meta"}
    return [line["message"] for line in body["data"]], body["meta"]


@pytest.mark.parametrize("path", ["/api/logs?site_id=blog", "/api/sites/blog/logs"])
@pytest_twisted.ensureDeferred
async def test_routes_need_an_admin_key(live, path):
    assert_error(await live.request("GET", path), 401, "UNAUTHORIZED")
    assert_error(await api(live, "GET", path, token="fazt_nope"), 401, "INVALID_API_KEY")
    assert_error(await api(live, "GET", path, token=create_key(live.db, "ci", ["deploy:blog"])), 403, "FORBIDDEN")
    assert_error(await api(live, "POST", path), 405, "METHOD_NOT_ALLOWED")


@pytest_twisted.ensureDeferred
async def test_logs_are_newest_first_and_paged(live):
    write_logs(live.db, "blog", 7)
    write_logs(live.db, "docs", 3)  # another site's lines never show
    response = await api(live, "GET", "/api/logs?site_id=blog")
    messages, meta = page(response)
    assert messages == [f"line {i}" for i in range(6, -1, -1)]
    assert meta == {"total": 7, "limit": 50, "offset": 0}
    first = response.json()["data"][0]
    assert set(first) == {"id", "site", "level", "message", "created_at"}
    assert (first["site"], first["level"], first["created_at"]) == ("blog", "error", "2023-11-14T22:13:26Z")

    messages, meta = page(await api(live, "GET", "/api/sites/blog/logs?limit=3&offset=2"))
    assert messages == ["line 4", "line 3", "line 2"] and meta == {"total": 7, "limit": 3, "offset": 2}
    messages, meta = page(await api(live, "GET", "/api/logs?site_id=blog&level=warn"))
    assert messages == ["line 5", "line 1"] and meta["total"] == 2


@pytest_twisted.ensureDeferred
async def test_after_id_reads_forward_from_a_cursor(live):
    ids = write_logs(live.db, "blog", 5)
    messages, meta = page(await api(live, "GET", f"/api/logs?site_id=blog&after_id={ids[1]}"))
    assert messages == ["line 2", "line 3", "line 4"] and meta["total"] == 3
    messages, _ = page(await api(live, "GET", f"/api/logs?site_id=blog&after_id={ids[1]}&limit=2"))
    assert messages == ["line 2", "line 3"]
    messages, meta = page(await api(live, "GET", f"/api/logs?site_id=blog&after_id={ids[-1]}"))
    assert messages == [] and meta["total"] == 0
    more = write_logs(live.db, "blog", 2, start=1_800_000_000.0)
    response = await api(live, "GET", f"/api/logs?site_id=blog&after_id={ids[-1]}")
    assert [line["id"] for line in response.json()["data"]] == more
    messages, _ = page(await api(live, "GET", "/api/logs?site_id=blog&after_id=0&level=error"))
    assert messages == ["line 2"]


@pytest.mark.parametrize("query,status,code,field", [
    ("", 400, "MISSING_FIELD", "site_id"),
    ("site_id=", 400, "MISSING_FIELD", "site_id"),
    ("site_id=nope", 404, "SITE_NOT_FOUND", None),
    ("site_id=Blog", 404, "SITE_NOT_FOUND", None),
    ("site_id=%FF", 400, "VALIDATION_FAILED", "site_id"),
    ("site_id=blog&limit=0", 400, "VALIDATION_FAILED", "limit"),
    ("site_id=blog&limit=1001", 400, "VALIDATION_FAILED", "limit"),
    ("site_id=blog&offset=x", 400, "VALIDATION_FAILED", "offset"),
    ("site_id=blog&after_id=-1", 400, "VALIDATION_FAILED", "after_id"),
    (f"site_id=blog&after_id={2**64}", 400, "VALIDATION_FAILED", "after_id"),
    ("site_id=blog&after_id=1e3", 400, "VALIDATION_FAILED", "after_id"),
    ("site_id=blog&level=fatal", 400, "VALIDATION_FAILED", "level"),
    ("site_id=blog&level=", 400, "VALIDATION_FAILED", "level"),
])
@pytest_twisted.ensureDeferred
async def test_query_validation(live, query, status, code, field):
    assert_error(await api(live, "GET", f"/api/logs?{query}"), status, code, field)


@pytest_twisted.ensureDeferred
async def test_what_a_script_prints_is_in_the_log(live):
    script = 'console.log("hello", {n: 1}); console.warn("careful"); res.send("ok");'
    assert (await live.deploy("app", {"main.js": script})).code == 200
    assert (await live.get("/", "app.example.test")).body == b"ok"
    deadline = time.monotonic() + 5
    while True:
        response = await api(live, "GET", "/api/sites/app/logs")
        if response.json()["data"] or time.monotonic() > deadline:
            break
        await deferLater(reactor, 0.05, lambda: None)
    lines = [(line["level"], line["message"]) for line in response.json()["data"]]
    assert lines == [("warn", "careful"), ("info", 'hello {"n":1}')]
