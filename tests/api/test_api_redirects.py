"""/api/redirects and /api/redirects/{id} against a live server (SPEC §9, §10)."""

from __future__ import annotations

import json
import sqlite3

import pytest_twisted

from fazt.cli.operator import create_key
from fazt_testing import assert_error

ROUTES = [("GET", "/api/redirects"), ("POST", "/api/redirects"), ("GET", "/api/redirects/1"),
          ("PUT", "/api/redirects/1"), ("DELETE", "/api/redirects/1")]


async def api(server, method: str, path: str, body=None, token: str | None = None, raw: bytes | None = None):
    headers = {"Authorization": f"Bearer {token or server.admin_token}", "Content-Type": "application/json"}
    payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    return await server.request(method, path, headers=headers, body=payload)


async def create(server, slug="docs", destination="https://example.org/docs", **extra) -> dict:
    response = await api(server, "POST", "/api/redirects", {"slug": slug, "destination": destination, **extra})
    assert response.code == 201, response.body
    return response.json()["data"]


@pytest_twisted.ensureDeferred
async def test_create_list_read_update_delete(server):
    created = await create(server, tags=["launch", "q3", "launch"])
    assert set(created) == {"id", "slug", "destination", "tags", "click_count", "created_at"}
    assert created["slug"] == "docs" and created["tags"] == ["launch", "q3"] and created["click_count"] == 0
    assert created["created_at"].endswith("Z")
    second = await create(server, "b", "http://example.com/")
    assert second["tags"] == []

    listing = await api(server, "GET", "/api/redirects?limit=1")
    assert listing.code == 200
    assert listing.json()["meta"] == {"total": 2, "limit": 1, "offset": 0}
    assert len(listing.json()["data"]) == 1

    read = await api(server, "GET", f"/api/redirects/{created['id']}")
    assert read.json() == {"data": created}

    updated = await api(server, "PUT", f"/api/redirects/{created['id']}",
                        {"destination": "https://example.org/new", "tags": []})
    assert updated.code == 200
    assert updated.json()["data"] == {**created, "destination": "https://example.org/new", "tags": []}
    renamed = await api(server, "PUT", f"/api/redirects/{created['id']}", {"slug": "docs2"})
    assert renamed.json()["data"]["slug"] == "docs2"
    assert (await server.get("/r/docs2")).header("location") == "https://example.org/new"
    assert (await server.get("/r/docs")).code == 404

    deleted = await api(server, "DELETE", f"/api/redirects/{created['id']}")
    assert deleted.code == 200 and deleted.json()["data"]["message"] == "Redirect deleted"
    assert_error(await api(server, "GET", f"/api/redirects/{created['id']}"), 404, "REDIRECT_NOT_FOUND")
    assert_error(await api(server, "DELETE", f"/api/redirects/{created['id']}"), 404, "REDIRECT_NOT_FOUND")
    assert (await api(server, "GET", "/api/redirects")).json()["meta"]["total"] == 1


@pytest_twisted.ensureDeferred
async def test_duplicate_slug_is_a_conflict(server):
    first = await create(server, "a")
    await create(server, "b")
    assert_error(await api(server, "POST", "/api/redirects", {"slug": "a", "destination": "https://x.org"}),
                 409, "CONFLICT", "slug")
    assert_error(await api(server, "PUT", f"/api/redirects/{first['id']}", {"slug": "b"}), 409, "CONFLICT", "slug")
    assert (await api(server, "GET", f"/api/redirects/{first['id']}")).json()["data"]["slug"] == "a"


@pytest_twisted.ensureDeferred
async def test_unknown_and_malformed_ids(server):
    for method in ("GET", "PUT", "DELETE"):
        body = {} if method == "PUT" else None
        assert_error(await api(server, method, "/api/redirects/999", body), 404, "REDIRECT_NOT_FOUND")
        assert_error(await api(server, method, "/api/redirects/" + "9" * 30, body), 404, "REDIRECT_NOT_FOUND")
        assert_error(await api(server, method, "/api/redirects/abc", body), 400, "VALIDATION_FAILED", "id")
        assert_error(await api(server, method, "/api/redirects/-1", body), 400, "VALIDATION_FAILED", "id")
        assert_error(await api(server, method, "/api/redirects/%C2%B2", body), 400, "VALIDATION_FAILED", "id")


BAD_SLUGS = ["", "has space", "a/b", "x" * 65, "ünï", 5, True, ["a"], {"a": 1}]
BAD_DESTINATIONS = ["javascript:alert(1)", "data:text/html,hi", "ftp://example.org/", "/relative", "example.org",
                    "https://", "http:///path", "https://exa mple.org/", "https://example.org/\r\nX: y",
                    "https://example.org:99999/", "http://[::1/", "https://example.org\\@evil/",
                    "https://" + "a" * 2040 + ".org", "https://" + "\u00e9" * 70 + ".org", "https://a b.org/", 42, ["https://x.org"], ""]
BAD_TAGS = ["a,b", ["a,b"], [1], [""], ["x" * 65], [None], {"a": 1}, ["t%d" % n for n in range(21)]]


@pytest_twisted.ensureDeferred
async def test_validation(server):
    for slug in BAD_SLUGS:
        response = await api(server, "POST", "/api/redirects", {"slug": slug, "destination": "https://x.org"})
        assert_error(response, 400, "VALIDATION_FAILED", "slug")
    for destination in BAD_DESTINATIONS:
        response = await api(server, "POST", "/api/redirects", {"slug": "s", "destination": destination})
        assert_error(response, 400, "VALIDATION_FAILED", "destination")
    for tags in BAD_TAGS:
        response = await api(server, "POST", "/api/redirects", {"slug": "s", "destination": "https://x.org", "tags": tags})
        assert_error(response, 400, "VALIDATION_FAILED", "tags")
    assert_error(await api(server, "POST", "/api/redirects", {"destination": "https://x.org"}), 400, "MISSING_FIELD", "slug")
    assert_error(await api(server, "POST", "/api/redirects", {"slug": "s", "destination": None}), 400,
                 "MISSING_FIELD", "destination")
    for raw in (b"{", b"[]", b'"s"', b"\xff", b"[" * 5000):
        assert_error(await api(server, "POST", "/api/redirects", raw=raw), 400, "INVALID_JSON")
    assert (await api(server, "GET", "/api/redirects")).json()["meta"]["total"] == 0


@pytest_twisted.ensureDeferred
async def test_update_validation_changes_nothing(server):
    created = await create(server)
    path = f"/api/redirects/{created['id']}"
    assert_error(await api(server, "PUT", path, {"tags": ["ok"], "destination": "javascript:x"}), 400,
                 "VALIDATION_FAILED", "destination")
    assert_error(await api(server, "PUT", path, {"slug": "bad slug"}), 400, "VALIDATION_FAILED", "slug")
    assert_error(await api(server, "PUT", path, raw=b"{"), 400, "INVALID_JSON")
    assert (await api(server, "GET", path)).json()["data"] == created
    unchanged = await api(server, "PUT", path, {})
    assert unchanged.code == 200 and unchanged.json()["data"] == created


@pytest_twisted.ensureDeferred
async def test_destinations_are_kept_in_ascii_form(server):
    created = await create(server, "idn", "https://bücher.example/straße?q=ä b#x")
    assert created["destination"] == "https://xn--bcher-kva.example/stra%C3%9Fe?q=%C3%A4%20b#x"
    upper = await create(server, "up", "HTTPS://Example.org/A%20B")
    assert upper["destination"] == "https://Example.org/A%20B"
    response = await server.get("/r/idn")
    assert response.code == 302 and response.header("location") == created["destination"]
    assert len((await create(server, "long", "https://x.org/" + "a" * 2034))["destination"]) == 2048


@pytest_twisted.ensureDeferred
async def test_paging_validation(server):
    for query, field in (("limit=0", "limit"), ("limit=1001", "limit"), ("limit=x", "limit"),
                         ("offset=-1", "offset"), ("offset=" + "9" * 30, "offset")):
        assert_error(await api(server, "GET", f"/api/redirects?{query}"), 400, "VALIDATION_FAILED", field)


@pytest_twisted.ensureDeferred
async def test_list_orders_by_clicks(server):
    await create(server, "a")
    await create(server, "b")
    await server.get("/r/b")
    slugs = [r["slug"] for r in (await api(server, "GET", "/api/redirects")).json()["data"]]
    assert slugs == ["b", "a"]


@pytest_twisted.ensureDeferred
async def test_auth(server):
    narrow = create_key(server.db, "blog-deployer", ["deploy:blog"])
    for method, path in ROUTES:
        body = {"slug": "s", "destination": "https://x.org"} if method in ("POST", "PUT") else None
        no_credentials = await server.request(method, path, body=json.dumps(body).encode() if body else None)
        assert_error(no_credentials, 401, "UNAUTHORIZED")
        assert_error(await api(server, method, path, body, token="fazt_not-a-key"), 401, "INVALID_API_KEY")
        assert_error(await api(server, method, path, body, token=narrow), 403, "FORBIDDEN")
    assert (await api(server, "GET", "/api/redirects")).json()["meta"]["total"] == 0


@pytest_twisted.ensureDeferred
async def test_wrong_methods(server):
    for method, path, allowed in (("PATCH", "/api/redirects", {"GET", "POST"}),
                                  ("POST", "/api/redirects/1", {"GET", "PUT", "DELETE"})):
        response = await api(server, method, path, {})
        assert_error(response, 405, "METHOD_NOT_ALLOWED")
        assert allowed <= {m.strip() for m in response.header("allow").split(",")}


@pytest_twisted.ensureDeferred
async def test_delete_is_audited(server):
    created = await create(server)
    await api(server, "DELETE", f"/api/redirects/{created['id']}")
    conn = sqlite3.connect(server.db)
    try:
        rows = conn.execute("SELECT action, resource FROM audit_log WHERE action = 'redirect.delete'").fetchall()
    finally:
        conn.close()
    assert rows == [("redirect.delete", f"redirect:{created['id']}")]
