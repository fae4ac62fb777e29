"""U+0000 (NUL) in user text through the whole server, on SQLite and on a real PostgreSQL (SPEC §19):
both engines answer the same, nothing answers 500, and no stored data is harmed. A KV string set from
JS round-trips; keys, environment values and every admin API field refuse NUL with 400
VALIDATION_FAILED; console lines and analytics keep the text with NUL shown as U+2400."""

from __future__ import annotations

import json

import pytest
import pytest_twisted

from fazt.app.tap import prepare_cartridge
from fazt.store.engines import connect
from fazt_testing import assert_error, start_server, stop_server
from pg_testing import pg_dsn, postgres  # noqa: F401  (fixtures)
from xproc_testing import eventually

APP = r"""export default async function (req) {
  const before = db.get("v");
  db.set("v", "a\u0000b");
  db.set("o", { s: "\u0000" });
  let refused = null;
  try { db.set("k\u0000", 1); } catch (e) { refused = String(e && e.message || e); }
  console.log("line\u0000end");
  const v = db.get("v");
  return Response.json({ before, same: v === "a\u0000b", length: v.length,
                         object: db.get("o").s === "\u0000", refused });
}
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request, tmp_path):
    if request.param == "sqlite":
        db = str(tmp_path / "data.db")
    else:
        db = request.getfixturevalue("pg_dsn")
        prepare_cartridge(db)
    live = start_server(db, extra_args=("--js-workers", "1", "--analytics-flush-seconds", "0.1"))
    yield live
    stop_server(live)


def rows(server, query, *args):
    conn = connect(server.db)
    try:
        return [tuple(row) for row in conn.execute(query, args).fetchall()]
    finally:
        conn.close()


async def admin(server, method, path, payload=None, raw=None):
    body = raw if raw is not None else (json.dumps(payload).encode() if payload is not None else None)
    return await server.request(method, path, headers={"Authorization": f"Bearer {server.admin_token}",
                                                       "Content-Type": "application/json"}, body=body)


@pytest_twisted.ensureDeferred
async def test_a_kv_string_with_nul_set_from_js_round_trips(server):
    assert (await server.deploy("app", {"main.js": APP})).code == 200
    first = await server.get("/", host="app.example.test")
    assert first.code == 200, first.body
    answer = json.loads(first.body)
    assert answer == {"before": None, "same": True, "length": 3, "object": True,
                      "refused": answer["refused"]}
    assert "U+0000" in answer["refused"]
    second = json.loads((await server.get("/", host="app.example.test")).body)
    assert second["before"] == "a\x00b" and second["same"]
    await eventually(lambda: rows(server, "SELECT message FROM site_logs WHERE site_name = 'app'"),
                     "the console lines stored")
    assert ("line\u2400end",) in rows(server, "SELECT message FROM site_logs WHERE site_name = 'app'")


@pytest_twisted.ensureDeferred
async def test_admin_api_text_with_nul_is_refused_with_400_and_nothing_changes(server):
    assert (await server.deploy("app", {"index.html": "x"})).code == 200
    assert (await admin(server, "PUT", "/api/sites/app/env/GOOD", {"value": "kept"})).code == 200
    for method, path, payload in (
            ("PUT", "/api/sites/app/env/V", {"value": "a\u0000b"}),
            ("PUT", "/api/sites/app/env", {"vars": {"A": "x\u0000"}}),
            ("POST", "/api/envvars", {"site_id": "app", "name": "B", "value": "\u0000"}),
            ("POST", "/api/redirects", {"slug": "go", "destination": "https://example.com/\u0000"}),
            ("POST", "/api/keys", {"name": "k\u0000", "scopes": ["admin"]}),
            ("POST", "/api/login", {"username": "ad\u0000min", "password": "x"})):
        response = await admin(server, method, path, payload)
        error = assert_error(response, 400, "VALIDATION_FAILED")
        assert "U+0000" in error["message"], (path, error)
    for path in ("/api/sites/app/kv/a%00b", "/api/sites/app/kv?prefix=%00", "/api/sites/app/logs?level=%00"):
        assert_error(await admin(server, "GET", path), 400, "VALIDATION_FAILED")
    assert rows(server, "SELECT name, value FROM env_vars WHERE site_name = 'app'") == [("GOOD", "kept")]
    assert rows(server, "SELECT count(*) FROM redirects") == [(0,)]


@pytest_twisted.ensureDeferred
async def test_analytics_with_nul_are_kept_with_the_symbol(server):
    body = json.dumps({"d": "app.example.test", "p": "/a\u0000b", "e": "cl\u0000ick", "t": ["t\u0000"],
                       "q": {"x": "\u0000"}}).encode()
    response = await server.request("POST", "/track", headers={"Content-Type": "application/json"}, body=body)
    assert response.code == 204, response.body
    await eventually(lambda: rows(server, "SELECT path FROM events WHERE source_type = 'web'"), "the event stored")
    assert rows(server, "SELECT path, event_type, tags FROM events WHERE source_type = 'web'") == [
        ("/a\u2400b", "cl\u2400ick", "t\u2400")]
    query = rows(server, "SELECT query_params FROM events WHERE source_type = 'web'")[0][0]
    assert json.loads(query) == {"x": "\u0000"}  # JSON keeps it exactly
