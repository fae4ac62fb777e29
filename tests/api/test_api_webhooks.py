"""/api/webhooks and /api/webhooks/{id} against a live server (SPEC §9, §10)."""

from __future__ import annotations

import json
import sqlite3

import pytest_twisted

from fazt.cli.operator import create_key
from fazt_testing import assert_error

ROUTES = [("GET", "/api/webhooks"), ("POST", "/api/webhooks"), ("GET", "/api/webhooks/1"),
          ("PUT", "/api/webhooks/1"), ("DELETE", "/api/webhooks/1")]
FIELDS = {"id", "name", "endpoint", "has_secret", "is_active", "created_at"}


async def api(server, method: str, path: str, body=None, token: str | None = None, raw: bytes | None = None):
    headers = {"Authorization": f"Bearer {token or server.admin_token}", "Content-Type": "application/json"}
    payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    return await server.request(method, path, headers=headers, body=payload)


async def create(server, endpoint="gh", **extra) -> dict:
    response = await api(server, "POST", "/api/webhooks", {"name": "GitHub", "endpoint": endpoint, **extra})
    assert response.code == 201, response.body
    return response.json()["data"]


@pytest_twisted.ensureDeferred
async def test_create_list_read_update_delete(server):
    created = await create(server, secret="top-secret")
    assert set(created) == FIELDS
    assert created["has_secret"] is True and created["is_active"] is True and created["endpoint"] == "gh"
    plain = await create(server, "plain", is_active=False)
    assert plain["has_secret"] is False and plain["is_active"] is False

    listing = await api(server, "GET", "/api/webhooks")
    assert listing.json()["meta"] == {"total": 2, "limit": 50, "offset": 0}
    assert [w["endpoint"] for w in listing.json()["data"]] == ["plain", "gh"]   # newest first
    assert b"top-secret" not in listing.body

    read = await api(server, "GET", f"/api/webhooks/{created['id']}")
    assert read.json() == {"data": created}

    updated = await api(server, "PUT", f"/api/webhooks/{created['id']}",
                        {"name": "GitHub pushes", "endpoint": "github", "is_active": False, "secret": None})
    assert updated.code == 200
    assert updated.json()["data"] == {**created, "name": "GitHub pushes", "endpoint": "github",
                                      "is_active": False, "has_secret": False}
    resecret = await api(server, "PUT", f"/api/webhooks/{created['id']}", {"secret": "new"})
    assert resecret.json()["data"]["has_secret"] is True and b"new" not in resecret.body

    deleted = await api(server, "DELETE", f"/api/webhooks/{created['id']}")
    assert deleted.code == 200 and deleted.json()["data"]["message"] == "Webhook deleted"
    for method in ("GET", "PUT", "DELETE"):
        body = {} if method == "PUT" else None
        assert_error(await api(server, method, f"/api/webhooks/{created['id']}", body), 404, "WEBHOOK_NOT_FOUND")


@pytest_twisted.ensureDeferred
async def test_the_secret_is_stored_but_never_shown(server):
    await create(server, secret="hunter2-secret")
    for path in ("/api/webhooks", "/api/webhooks/1"):
        assert b"hunter2" not in (await api(server, "GET", path)).body
    conn = sqlite3.connect(server.db)
    try:
        assert conn.execute("SELECT secret FROM webhooks").fetchone()[0] == "hunter2-secret"
    finally:
        conn.close()


@pytest_twisted.ensureDeferred
async def test_duplicate_endpoint_is_a_conflict(server):
    first = await create(server, "a")
    await create(server, "b")
    assert_error(await api(server, "POST", "/api/webhooks", {"name": "x", "endpoint": "a"}), 409, "CONFLICT", "endpoint")
    # An update is one UPDATE: a conflict changes none of the other fields either.
    response = await api(server, "PUT", f"/api/webhooks/{first['id']}", {"name": "renamed", "endpoint": "b"})
    assert_error(response, 409, "CONFLICT", "endpoint")
    assert (await api(server, "GET", f"/api/webhooks/{first['id']}")).json()["data"] == first


@pytest_twisted.ensureDeferred
async def test_update_with_one_bad_field_changes_nothing(server):
    created = await create(server)
    path = f"/api/webhooks/{created['id']}"
    for body, field in (({"name": "ok", "is_active": "yes"}, "is_active"), ({"name": "ok", "endpoint": "a b"}, "endpoint"),
                        ({"is_active": False, "name": ""}, "name"), ({"name": "ok", "secret": 5}, "secret")):
        assert_error(await api(server, "PUT", path, body), 400, "VALIDATION_FAILED", field)
    assert_error(await api(server, "PUT", path, raw=b"{"), 400, "INVALID_JSON")
    assert (await api(server, "GET", path)).json()["data"] == created


BAD = {
    "name": ["", "   ", "x" * 101, 5, True, ["n"], "tab\there", "\ud800"],
    "endpoint": ["", "a b", "a/b", "x" * 65, "ü", 5, False, {"e": 1}],
    "secret": [5, True, ["s"], "x" * 257, "new\nline", "ünicode"],
    "is_active": [1, 0, "true", "false", [True]],
}


@pytest_twisted.ensureDeferred
async def test_validation(server):
    for field, values in BAD.items():
        for value in values:
            body = {"name": "n", "endpoint": "e", field: value}
            assert_error(await api(server, "POST", "/api/webhooks", body), 400, "VALIDATION_FAILED", field)
    assert_error(await api(server, "POST", "/api/webhooks", {"endpoint": "e"}), 400, "MISSING_FIELD", "name")
    assert_error(await api(server, "POST", "/api/webhooks", {"name": "n"}), 400, "MISSING_FIELD", "endpoint")
    for raw in (b"{", b"[]", b"null", b"\xff\xfe", b"{" * 3000):
        assert_error(await api(server, "POST", "/api/webhooks", raw=raw), 400, "INVALID_JSON")
    for query, field in (("limit=1001", "limit"), ("offset=x", "offset")):
        assert_error(await api(server, "GET", f"/api/webhooks?{query}"), 400, "VALIDATION_FAILED", field)
    for path in ("/api/webhooks/x", "/api/webhooks/1.5"):
        assert_error(await api(server, "GET", path), 400, "VALIDATION_FAILED", "id")
    assert_error(await api(server, "GET", "/api/webhooks/" + "9" * 40), 404, "WEBHOOK_NOT_FOUND")
    assert (await api(server, "GET", "/api/webhooks")).json()["meta"]["total"] == 0


@pytest_twisted.ensureDeferred
async def test_auth(server):
    narrow = create_key(server.db, "blog-deployer", ["deploy:blog"])
    for method, path in ROUTES:
        body = {"name": "n", "endpoint": "e"} if method in ("POST", "PUT") else None
        no_credentials = await server.request(method, path, body=json.dumps(body).encode() if body else None)
        assert_error(no_credentials, 401, "UNAUTHORIZED")
        assert_error(await api(server, method, path, body, token="fazt_bogus"), 401, "INVALID_API_KEY")
        assert_error(await api(server, method, path, body, token=narrow), 403, "FORBIDDEN")
    assert (await api(server, "GET", "/api/webhooks")).json()["meta"]["total"] == 0


@pytest_twisted.ensureDeferred
async def test_wrong_methods(server):
    for method, path, allowed in (("DELETE", "/api/webhooks", {"GET", "POST"}),
                                  ("PATCH", "/api/webhooks/1", {"GET", "PUT", "DELETE"})):
        response = await api(server, method, path, {})
        assert_error(response, 405, "METHOD_NOT_ALLOWED")
        assert allowed <= {m.strip() for m in response.header("allow").split(",")}
