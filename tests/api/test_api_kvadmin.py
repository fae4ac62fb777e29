"""GET /api/sites/NAME/kv?prefix=, GET and DELETE /api/sites/NAME/kv/KEY: the KV browser's API."""

from __future__ import annotations

import json
import time

import pytest_twisted

from fazt_testing import assert_error, sql


def put(db: str, site: str, key: str, value: str, expires_at=None) -> None:
    sql(db, "INSERT INTO kv (site_name, key, value, expires_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        site, key, value, expires_at, time.time())


async def seeded(server):
    assert (await server.deploy("shop", {"index.html": "hi"})).code == 200
    put(server.db, "shop", "user:1", json.dumps({"name": "Ada"}))
    put(server.db, "shop", "user:2", "x" * 500)
    put(server.db, "shop", "dir/with/slash", "42")
    put(server.db, "shop", "gone", "1", expires_at=time.time() - 10)
    put(server.db, "other", "user:9", "not yours")
    return {"Authorization": f"Bearer {server.admin_token}"}


@pytest_twisted.ensureDeferred
async def test_list_by_prefix(server):
    auth = await seeded(server)
    page = await server.get("/api/sites/shop/kv?prefix=user:", **auth)
    body = page.json()
    assert page.code == 200
    assert [row["key"] for row in body["data"]] == ["user:1", "user:2"]
    assert body["meta"] == {"total": 2, "limit": 50, "offset": 0}
    long = body["data"][1]
    assert (long["size"], long["truncated"], len(long["preview"])) == (500, True, 200)
    everything = (await server.get("/api/sites/shop/kv?limit=2&offset=1", **auth)).json()
    assert [row["key"] for row in everything["data"]] == ["user:1", "user:2"]
    assert everything["meta"]["total"] == 3  # expired keys are not listed


@pytest_twisted.ensureDeferred
async def test_get_and_delete_one_key(server):
    auth = await seeded(server)
    one = (await server.get("/api/sites/shop/kv/user:1", **auth)).json()["data"]
    assert one["value"] == {"name": "Ada"} and one["expires_at"] is None
    slashed = (await server.get("/api/sites/shop/kv/dir/with/slash", **auth)).json()["data"]
    assert slashed["value"] == 42
    gone = await server.request("DELETE", "/api/sites/shop/kv/user%3A1", headers=auth)
    assert gone.json()["data"] == {"site": "shop", "key": "user:1", "deleted": True}
    assert sql(server.db, "SELECT key FROM kv WHERE site_name = 'shop' ORDER BY key") == [
        ("dir/with/slash",), ("gone",), ("user:2",)]
    assert_error(await server.get("/api/sites/shop/kv/user:1", **auth), 404, "NOT_FOUND")
    assert_error(await server.get("/api/sites/shop/kv/gone", **auth), 404, "NOT_FOUND")
    assert_error(await server.request("DELETE", "/api/sites/shop/kv/user:1", headers=auth), 404, "NOT_FOUND")
    audit = sql(server.db, "SELECT action, resource FROM audit_log WHERE action = 'kv.delete'")
    assert audit == [("kv.delete", "shop/user:1")]


@pytest_twisted.ensureDeferred
async def test_errors(server):
    auth = await seeded(server)
    assert_error(await server.get("/api/sites/shop/kv"), 401, "UNAUTHORIZED")
    assert_error(await server.get("/api/sites/nosuch/kv", **auth), 404, "SITE_NOT_FOUND")
    assert_error(await server.get("/api/sites/shop/kv?prefix=" + "p" * 600, **auth), 400, "VALIDATION_FAILED", "prefix")
    assert_error(await server.get("/api/sites/shop/kv/%ff", **auth), 400, "BAD_REQUEST")  # the router refuses it
    assert_error(await server.get("/api/sites/shop/kv?limit=0", **auth), 400, "VALIDATION_FAILED", "limit")
    assert_error(await server.request("POST", "/api/sites/shop/kv", headers=auth), 405, "METHOD_NOT_ALLOWED")
