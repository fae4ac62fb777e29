"""C{/api/system/backup} against a live server: a verified snapshot streamed to admins only."""

from __future__ import annotations

import json
import os
import re
import sqlite3

import pytest_twisted

from fazt.cli.operator import create_key
from fazt.store.backup import verify_cartridge
from fazt_testing import assert_error, set_admin_password

PASSWORD = "correct horse battery"
PATH = "/api/system/backup"


def leftovers(db: str) -> list[str]:
    return [name for name in os.listdir(os.path.dirname(db)) if name.startswith(".fazt-snapshot-")]


def saved(tmp_path, body: bytes, name: str = "download.db") -> str:
    path = tmp_path / name
    path.write_bytes(body)
    verify_cartridge(str(path))
    return str(path)


@pytest_twisted.ensureDeferred
async def test_an_admin_key_downloads_a_verified_snapshot(server, tmp_path):
    assert (await server.deploy("blog", {"index.html": "<h1>kept</h1>"})).code == 200
    for method in ("POST", "GET"):
        response = await server.request(method, PATH, headers={"Authorization": f"Bearer {server.admin_token}"})
        assert response.code == 200, response.body
        assert response.header("content-type") == "application/vnd.sqlite3"
        assert len(response.body) > 0  # Content-Length: the client's parser keeps it to itself
        assert re.fullmatch(r'attachment; filename="fazt-backup-\d{8}-\d{6}\.db"',
                            response.header("content-disposition"))
        assert response.header("cache-control") == "no-store"
        copy = saved(tmp_path, response.body, f"{method}.db")
        conn = sqlite3.connect(copy)
        names = {row[0] for row in conn.execute("SELECT name FROM sites")}
        conn.close()
        assert {"blog", "root", "404"} <= names
    assert leftovers(server.db) == []
    audit = sqlite3.connect(server.db)
    actions = [row[0] for row in audit.execute("SELECT action FROM audit_log WHERE action = 'system.backup'")]
    audit.close()
    assert len(actions) == 2


@pytest_twisted.ensureDeferred
async def test_only_admins_may_download(server):
    assert_error(await server.request("POST", PATH), 401, "UNAUTHORIZED")
    bad = await server.request("POST", PATH, headers={"Authorization": "Bearer fazt_nope"})
    assert_error(bad, 401, "INVALID_API_KEY")
    scoped = create_key(server.db, "ci", ["deploy:blog"])
    assert_error(await server.request("POST", PATH, headers={"Authorization": f"Bearer {scoped}"}),
                 403, "FORBIDDEN")
    wrong = await server.request("DELETE", PATH, headers={"Authorization": f"Bearer {server.admin_token}"})
    assert_error(wrong, 405, "METHOD_NOT_ALLOWED")
    assert leftovers(server.db) == []


@pytest_twisted.ensureDeferred
async def test_a_session_cookie_works_with_the_csrf_rule(server, tmp_path):
    set_admin_password(server.db, PASSWORD)
    login = await server.request("POST", "/api/login", headers={"Content-Type": "application/json"},
                                 body=json.dumps({"username": "admin", "password": PASSWORD}).encode())
    assert login.code == 200, login.body
    cookie = next(h.split(";")[0] for h in login.headers["set-cookie"] if h.startswith("fazt_session="))
    # A cross-site form could send this POST: refused.
    assert_error(await server.request("POST", PATH, headers={"Cookie": cookie}), 403, "FORBIDDEN")
    posted = await server.request("POST", PATH, headers={"Cookie": cookie, "X-Fazt-CSRF": "1"})
    assert posted.code == 200
    saved(tmp_path, posted.body)
    linked = await server.request("GET", PATH, headers={"Cookie": cookie})
    assert linked.code == 200 and linked.body[:16] == b"SQLite format 3\x00"


@pytest_twisted.ensureDeferred
async def test_a_hosted_site_cannot_make_the_admins_browser_take_backups(server):
    # Every hosted site NAME.D is *same-site* with admin.D, so SameSite=Strict still sends the
    # cookie with an <img src=".../api/system/backup"> there: each one copied the whole database
    # and wrote an audit line. The browser says where a request comes from (Sec-Fetch-Site).
    set_admin_password(server.db, PASSWORD)
    login = await server.request("POST", "/api/login", headers={"Content-Type": "application/json"},
                                 body=json.dumps({"username": "admin", "password": PASSWORD}).encode())
    cookie = next(h.split(";")[0] for h in login.headers["set-cookie"] if h.startswith("fazt_session="))
    for where in ("same-site", "cross-site"):
        for method in ("GET", "HEAD"):
            refused = await server.request(method, PATH, headers={"Cookie": cookie, "Sec-Fetch-Site": where})
            assert refused.code == 403, (where, method)
    assert_error(await server.request("GET", PATH, headers={"Cookie": cookie, "Sec-Fetch-Site": "same-site"}),
                 403, "FORBIDDEN")
    for where in ("same-origin", "none"):  # the dashboard's own link; a typed URL or a bookmark
        allowed = await server.request("GET", PATH, headers={"Cookie": cookie, "Sec-Fetch-Site": where})
        assert allowed.code == 200, where
    # An API key is not a browser's ambient credential: no such rule.
    keyed = await server.request("GET", PATH, headers={"Authorization": f"Bearer {server.admin_token}",
                                                       "Sec-Fetch-Site": "cross-site"})
    assert keyed.code == 200
