"""Sites, their files and deployments through the admin API (SPEC §9), against a live server:
deleting a site, listing and reading its files, and every site's deployments."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.task import deferLater

from fazt.cli.operator import create_key
from fazt_testing import assert_error, start_server, stop_server

HOST = "blog.example.test"
BLOG = {"index.html": "<h1>blog</h1>", "shared.css": "body{}", "docs/a b é.txt": "spaced",
        "main.js": 'db.set("hits", 1); console.log("hello"); res.send("<h1>app</h1>");'}


@pytest.fixture
def live(tmp_path):
    server = start_server(str(tmp_path / "data.db"), extra_args=("--js-workers", "1"))
    yield server
    stop_server(server)


async def api(server, method: str, path: str, body=None, token: str | None = None, auth: bool = True):
    headers = {"Authorization": f"Bearer {token or server.admin_token}"} if auth else {}
    if body is not None:
        headers["Content-Type"] = "application/json"
        body = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await server.request(method, path, headers=headers, body=body)


def assert_page(response, total: int, limit: int = 50, offset: int = 0) -> list:
    assert response.code == 200, response.body
    body = response.json()
    assert set(body) == {"data", "meta"}
    assert body["meta"] == {"total": total, "limit": limit, "offset": offset}
    return body["data"]


def rows(db: str, sql: str, *args) -> list:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


async def deploy(server, site: str, files: dict) -> dict:
    response = await server.deploy(site, files)
    assert response.code == 200, response.body
    return response.json()["data"]


# -- authentication and scopes on every route --------------------------------------------

ROUTES = [
    ("DELETE", "/api/sites/blog", True),
    ("DELETE", "/api/sites?site_id=blog", True),
    ("GET", "/api/sites/blog/files", True),
    ("GET", "/api/sites/blog/files/index.html", True),
    ("GET", "/api/deployments", True),
    ("GET", "/api/sites", True),
]


@pytest.mark.parametrize("method,path,admin_only", ROUTES)
@pytest_twisted.ensureDeferred
async def test_routes_need_a_valid_key_with_the_right_scope(live, method, path, admin_only):
    await deploy(live, "blog", BLOG)
    assert_error(await live.request(method, path), 401, "UNAUTHORIZED")
    assert_error(await api(live, method, path, token="fazt_not-a-key"), 401, "INVALID_API_KEY")
    other = create_key(live.db, "other", ["deploy:other"])
    response = await api(live, method, path, token=other)
    if admin_only:
        assert_error(response, 403, "FORBIDDEN")
    else:
        assert response.code == 200 and response.json()["data"] == [], response.body
    assert (await live.get("/", HOST)).code == 200  # nothing was deleted on the way


@pytest_twisted.ensureDeferred
async def test_wrong_methods_answer_405_with_allow(live):
    response = await api(live, "PUT", "/api/sites/blog")
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert set(response.header("allow").split(", ")) >= {"DELETE", "GET"}
    assert_error(await api(live, "POST", "/api/deployments"), 405, "METHOD_NOT_ALLOWED")
    assert_error(await api(live, "DELETE", "/api/sites/blog/files/index.html"), 405, "METHOD_NOT_ALLOWED")


# -- deleting a site -----------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_deleting_a_site_removes_everything_it_owns(live):
    await deploy(live, "blog", BLOG)
    await deploy(live, "blog", {**BLOG, "index.html": "<h1>v2</h1>"})
    await deploy(live, "docs", {"shared.css": "body{}", "index.html": "<h1>docs</h1>"})
    assert (await live.get("/", HOST)).body == b"<h1>app</h1>"  # writes kv, logs
    assert (await api(live, "PUT", "/api/sites/blog/env/TOKEN", {"value": "s3cret"})).code == 200
    assert rows(live.db, "SELECT COUNT(*) FROM kv WHERE site_name = 'blog'") == [(1,)]

    response = await api(live, "DELETE", "/api/sites/blog")

    assert response.code == 200, response.body
    data = response.json()["data"]
    assert data["site"] == "blog" and data["message"] == "Site deleted"
    assert data["removed"]["deployments"] == 2 and data["removed"]["env_vars"] == 1
    assert data["removed"]["kv_keys"] == 1
    assert (await live.get("/", HOST)).code == 404
    assert_error(await api(live, "GET", "/api/sites/blog"), 404, "SITE_NOT_FOUND")
    for table in ("kv", "env_vars", "site_logs", "deployments"):
        assert rows(live.db, f"SELECT COUNT(*) FROM {table} WHERE site_name = 'blog'") == [(0,)], table
    # Blobs only blog used are gone; the one docs shares stays, and docs still serves.
    assert rows(live.db, "SELECT COUNT(*) FROM blobs b WHERE NOT EXISTS"
                         " (SELECT 1 FROM manifests m WHERE m.blob_hash = b.hash)") == [(0,)]
    assert (await live.get("/shared.css", "docs.example.test")).body == b"body{}"
    names = [s["name"] for s in (await api(live, "GET", "/api/sites")).json()["data"]]
    assert "blog" not in names and "docs" in names
    deadline = time.monotonic() + 5  # the audit row is written in the next batch
    while not rows(live.db, "SELECT actor FROM audit_log WHERE action = 'site.delete' AND resource = 'blog'"):
        assert time.monotonic() < deadline, "no audit entry for the deletion"
        await deferLater(reactor, 0.05, lambda: None)
    # The name is free again, with nothing left over from before.
    await deploy(live, "blog", {"main.js": "res.json({hits: db.get('hits'), env: process.env})"})
    assert (await live.get("/", HOST)).json() == {"hits": None, "env": {}}


@pytest_twisted.ensureDeferred
async def test_the_original_delete_route_takes_site_id(live):
    await deploy(live, "blog", {"index.html": "x"})
    assert_error(await api(live, "DELETE", "/api/sites"), 400, "MISSING_FIELD", "site_id")
    response = await api(live, "DELETE", "/api/sites?site_id=blog")
    assert response.code == 200 and response.json()["data"]["site"] == "blog"
    assert_error(await api(live, "DELETE", "/api/sites?site_id=blog"), 404, "SITE_NOT_FOUND")


@pytest.mark.parametrize("name", ["nope", "Blog", "a" * 64, "-x", "%00", "blog%0A"])
@pytest_twisted.ensureDeferred
async def test_deleting_an_unknown_site_is_404(live, name):
    assert_error(await api(live, "DELETE", f"/api/sites/{name}"), 404, "SITE_NOT_FOUND")
    assert_error(await api(live, "DELETE", f"/api/sites?site_id={name}"), 404, "SITE_NOT_FOUND")


@pytest.mark.parametrize("name", ["root", "404"])
@pytest_twisted.ensureDeferred
async def test_built_in_sites_cannot_be_deleted(live, name):
    assert_error(await api(live, "DELETE", f"/api/sites/{name}"), 409, "CONFLICT")
    assert_error(await api(live, "DELETE", f"/api/sites?site_id={name}"), 409, "CONFLICT")
    assert (await api(live, "GET", f"/api/sites/{name}")).code == 200


@pytest_twisted.ensureDeferred
async def test_a_deploy_key_cannot_delete_even_its_own_site(live):
    await deploy(live, "blog", {"index.html": "x"})
    own = create_key(live.db, "blog-ci", ["deploy:blog"])
    assert_error(await api(live, "DELETE", "/api/sites/blog", token=own), 403, "FORBIDDEN")
    assert (await live.get("/", HOST)).code == 200


# -- files ---------------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_files_lists_the_active_deployment_by_path(live):
    await deploy(live, "blog", BLOG)
    files = assert_page(await api(live, "GET", "/api/sites/blog/files"), total=4)
    assert [f["path"] for f in files] == ["docs/a b é.txt", "index.html", "main.js", "shared.css"]
    assert files[1]["size"] == len("<h1>blog</h1>")
    assert files[1]["content_type"].startswith("text/html")
    assert files[0]["mod_time"].endswith("Z") and set(files[0]) == {"path", "size", "content_type", "mod_time"}
    page = assert_page(await api(live, "GET", "/api/sites/blog/files?limit=2&offset=2"), 4, 2, 2)
    assert [f["path"] for f in page] == ["main.js", "shared.css"]
    await deploy(live, "blog", {"only.txt": "1"})
    assert [f["path"] for f in assert_page(await api(live, "GET", "/api/sites/blog/files"), 1)] == ["only.txt"]


@pytest_twisted.ensureDeferred
async def test_a_file_is_served_raw_with_its_content_type(live):
    await deploy(live, "blog", BLOG)
    page = await api(live, "GET", "/api/sites/blog/files/index.html")
    assert (page.code, page.body) == (200, b"<h1>blog</h1>")
    assert page.header("content-type").startswith("text/html")
    assert "sandbox" in page.header("content-security-policy")  # no script runs on the admin origin
    script = await api(live, "GET", "/api/sites/blog/files/main.js")  # never served to visitors
    assert script.code == 200 and script.body.startswith(b'db.set("hits"')
    spaced = await api(live, "GET", "/api/sites/blog/files/docs/a%20b%20%C3%A9.txt")
    assert (spaced.code, spaced.body) == (200, b"spaced")


@pytest.mark.parametrize("path", ["nope.html", "docs", "docs/", "INDEX.HTML", "../blog/index.html",
                                  "index.html%00"])
@pytest_twisted.ensureDeferred
async def test_a_missing_file_is_404_in_the_envelope(live, path):
    await deploy(live, "blog", BLOG)
    response = await api(live, "GET", f"/api/sites/blog/files/{path}")
    assert response.code == 404 and response.json()["error"]["code"] in ("FILE_NOT_FOUND", "NOT_FOUND")


@pytest_twisted.ensureDeferred
async def test_a_path_that_is_not_utf8_is_a_bad_request(live):
    await deploy(live, "blog", BLOG)
    assert_error(await api(live, "GET", "/api/sites/blog/files/%FF"), 400, "BAD_REQUEST")


@pytest_twisted.ensureDeferred
async def test_files_of_an_unknown_site(live):
    assert_error(await api(live, "GET", "/api/sites/nope/files"), 404, "SITE_NOT_FOUND")
    assert_error(await api(live, "GET", "/api/sites/nope/files/index.html"), 404, "SITE_NOT_FOUND")
    assert_error(await api(live, "GET", "/api/sites/blog/files?limit=0"), 400, "VALIDATION_FAILED", "limit")
    assert_error(await api(live, "GET", "/api/sites/blog/files?offset=-1"), 400, "VALIDATION_FAILED", "offset")


# -- deployments of every site -------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_deployments_lists_every_site_newest_first(live):
    first = await deploy(live, "blog", {"index.html": "1"})
    second = await deploy(live, "docs", {"index.html": "2"})
    third = await deploy(live, "blog", {"index.html": "3"})
    seeded = len(rows(live.db, "SELECT id FROM deployments"))
    listing = assert_page(await api(live, "GET", "/api/deployments"), total=seeded)
    assert [d["id"] for d in listing[:3]] == [third["deployment_id"], second["deployment_id"], first["deployment_id"]]
    newest = listing[0]
    assert newest["site"] == newest["site_id"] == "blog" and newest["active"] is True
    assert listing[2]["active"] is False and newest["deployed_by"] == "test-admin"
    assert {"id", "site", "site_id", "created_at", "file_count", "size_bytes", "deployed_by"} <= set(newest)

    blog = assert_page(await api(live, "GET", "/api/deployments?site_id=blog&limit=1"), total=2, limit=1)
    assert [d["id"] for d in blog] == [third["deployment_id"]]
    assert assert_page(await api(live, "GET", "/api/deployments?site_id=gone"), total=0) == []


@pytest_twisted.ensureDeferred
async def test_a_deploy_key_sees_no_deployments(live):
    await deploy(live, "blog", {"index.html": "1"})
    own = create_key(live.db, "blog-ci", ["deploy:blog"])
    for path in ("/api/deployments", "/api/deployments?site_id=blog", "/api/sites/blog/deployments"):
        assert_error(await api(live, "GET", path, token=own), 403, "FORBIDDEN")


@pytest.mark.parametrize("query,field", [("limit=1001", "limit"), ("limit=x", "limit"),
                                         ("offset=99999999999999999999", "offset"),
                                         ("site_id=%FF", "site_id")])
@pytest_twisted.ensureDeferred
async def test_deployments_query_validation(live, query, field):
    assert_error(await api(live, "GET", f"/api/deployments?{query}"), 400, "VALIDATION_FAILED", field)
