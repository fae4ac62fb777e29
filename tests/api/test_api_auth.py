"""Admin login, sessions and the authenticator (SPEC §9) against live servers."""

from __future__ import annotations

import json
import re
import time

import pytest
import pytest_twisted

from fazt.cli.operator import create_key
from fazt_testing import assert_error, make_zip, multipart_body, set_admin_password, sql, start_server

PASSWORD = "correct horse battery"
JSON = {"Content-Type": "application/json"}


# -- helpers -------------------------------------------------------------------------------


def cookie_of(response) -> dict[str, str]:
    """The C{fazt_session} Set-Cookie as {attribute (lowercased): value}, the token under 'value'."""
    for header in response.headers.get("set-cookie", []):
        first, *attributes = [part.strip() for part in header.split(";")]
        name, _, value = first.partition("=")
        if name == "fazt_session":
            parsed = {"value": value}
            for attribute in attributes:
                key, _, val = attribute.partition("=")
                parsed[key.lower()] = val
            return parsed
    return {}


async def login(server, password: str = PASSWORD, **extra):
    body = json.dumps({"username": "admin", "password": password, **extra}).encode()
    return await server.request("POST", "/api/login", headers=JSON, body=body)


async def session_of(server, **extra) -> str:
    response = await login(server, **extra)
    assert response.code == 200, response.body
    return cookie_of(response)["value"]


async def with_cookie(server, method: str, path: str, token: str, body=None, headers=None):
    all_headers = {"Cookie": f"fazt_session={token}", **(headers or {})}
    return await server.request(method, path, headers=all_headers, body=body)


async def with_key(server, method: str, path: str, token: str, body=None, headers=None):
    all_headers = {"Authorization": f"Bearer {token}", **(headers or {})}
    return await server.request(method, path, headers=all_headers, body=body)


@pytest.fixture
def live(server):
    set_admin_password(server.db, PASSWORD)
    return server


# -- login ---------------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_login_sets_a_safe_session_cookie(live):
    before = int(time.time())
    response = await login(live)
    assert response.code == 200, response.body
    data = response.json()["data"]
    assert set(data) == {"message", "username", "expires_at"}
    assert data["message"] == "Login successful" and data["username"] == "admin"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["expires_at"])
    assert response.header("cache-control") == "no-store"
    cookie = cookie_of(response)
    assert re.fullmatch(r"[A-Za-z0-9_-]{40,}", cookie["value"])
    assert cookie["path"] == "/" and "httponly" in cookie and cookie["samesite"].lower() == "strict"
    assert cookie["max-age"] == "86400"
    assert "secure" not in cookie and "domain" not in cookie  # plain HTTP; host-only
    [(digest, expires_at, remember)] = sql(live.db, "SELECT token_digest, expires_at, remember_me FROM sessions")
    assert digest != cookie["value"] and len(digest) == 64  # only the digest is stored
    assert before + 86400 <= expires_at <= int(time.time()) + 86400 and remember == 0


@pytest_twisted.ensureDeferred
async def test_remember_me_keeps_the_session_for_a_week(live):
    response = await login(live, remember_me=True)
    assert response.code == 200
    assert cookie_of(response)["max-age"] == str(7 * 86400)
    [(expires_at, remember)] = sql(live.db, "SELECT expires_at, remember_me FROM sessions")
    assert expires_at >= time.time() + 7 * 86400 - 60 and remember == 1


@pytest_twisted.ensureDeferred
async def test_wrong_credentials(live):
    for body in ({"username": "admin", "password": "wrong"}, {"username": "nobody", "password": PASSWORD},
                 {"username": "admin", "password": "x" * 100}, {"username": "Admin", "password": PASSWORD}):
        response = await live.request("POST", "/api/login", headers=JSON, body=json.dumps(body).encode())
        error = assert_error(response, 401, "INVALID_CREDENTIALS")
        assert error["message"] == "Invalid username or password"
        assert response.header("set-cookie") is None
    assert sql(live.db, "SELECT COUNT(*) FROM sessions") == [(0,)]


@pytest.mark.parametrize("body, status, code, field", [
    (b"{", 400, "INVALID_JSON", None),
    (b"[1, 2]", 400, "INVALID_JSON", None),
    (b"\xff\xfe", 400, "INVALID_JSON", None),
    (b"", 400, "MISSING_FIELD", "username"),
    (b'{"password": "x"}', 400, "MISSING_FIELD", "username"),
    (b'{"username": "", "password": "x"}', 400, "MISSING_FIELD", "username"),
    (b'{"username": "admin"}', 400, "MISSING_FIELD", "password"),
    (b'{"username": 12, "password": "x"}', 400, "VALIDATION_FAILED", "username"),
    (b'{"username": ["admin"], "password": "x"}', 400, "VALIDATION_FAILED", "username"),
    (b'{"username": "admin", "password": 99999999999999999999999999}', 400, "VALIDATION_FAILED", "password"),
    (b'{"username": "admin", "password": true}', 400, "VALIDATION_FAILED", "password"),
    (b'{"username": "\\ud800", "password": "x"}', 400, "VALIDATION_FAILED", "username"),
    (b'{"username": "admin", "password": "x", "remember_me": "yes"}', 400, "VALIDATION_FAILED", "remember_me"),
    (b'{"username": "admin", "password": "x", "remember_me": 1}', 400, "VALIDATION_FAILED", "remember_me"),
])
@pytest_twisted.ensureDeferred
async def test_login_validation(live, body, status, code, field):
    response = await live.request("POST", "/api/login", headers=JSON, body=body)
    assert_error(response, status, code, field)


@pytest_twisted.ensureDeferred
async def test_login_edge_inputs_never_fail_the_server(live):
    for body in ({"username": "a" * 257, "password": "x"}, {"username": "admin", "password": "p" * 1025},
                 {"username": "admin", "password": "\ud800"}, {"username": "ünï\u0000cödé", "password": "\u0000"}):
        response = await live.request("POST", "/api/login", headers=JSON, body=json.dumps(body).encode())
        assert response.code in (400, 401), response.body
        assert set(response.json()) == {"error"}


@pytest_twisted.ensureDeferred
async def test_wrong_methods(live):
    for method, path, allowed in (("GET", "/api/login", "POST"), ("GET", "/api/logout", "POST"),
                                  ("POST", "/api/auth/status", "GET, HEAD"),
                                  ("DELETE", "/api/user/me", "GET, HEAD")):
        response = await live.request(method, path)
        assert_error(response, 405, "METHOD_NOT_ALLOWED")
        assert response.header("allow") == allowed
    assert_error(await live.get("/api/auth/nothing"), 404, "NOT_FOUND")


# -- the session at work -------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_a_session_authenticates_every_admin_route(live):
    token = await session_of(live)
    status = await with_cookie(live, "GET", "/api/auth/status", token)
    assert status.code == 200
    data = status.json()["data"]
    assert data["authenticated"] is True and data["username"] == "admin" and data["method"] == "session"
    assert data["expires_at"].endswith("Z")
    me = await with_cookie(live, "GET", "/api/user/me", token)
    assert me.code == 200 and set(me.json()["data"]) == {"username", "version"}
    assert me.json()["data"]["username"] == "admin"
    assert (await with_cookie(live, "GET", "/api/keys", token)).code == 200  # session logins are admins
    assert (await with_cookie(live, "GET", "/api/sites", token)).code == 200


@pytest_twisted.ensureDeferred
async def test_status_and_me_with_api_keys(live):
    status = await with_key(live, "GET", "/api/auth/status", live.admin_token)
    assert status.json()["data"] == {"authenticated": True, "username": "test-admin", "expires_at": None,
                                     "method": "api_key"}
    narrow = create_key(live.db, "blog-ci", ["deploy:blog"])
    # A deploy key deploys its site and does nothing else, not even describe itself.
    assert_error(await with_key(live, "GET", "/api/auth/status", narrow), 403, "FORBIDDEN")
    assert_error(await with_key(live, "GET", "/api/user/me", narrow), 403, "FORBIDDEN")


@pytest.mark.parametrize("path", ["/api/auth/status", "/api/user/me"])
@pytest_twisted.ensureDeferred
async def test_identity_routes_refuse_the_unauthenticated(live, path):
    assert_error(await live.get(path), 401, "UNAUTHORIZED")
    assert_error(await with_key(live, "GET", path, "fazt_not-a-key"), 401, "INVALID_API_KEY")
    assert_error(await live.get(path, Authorization="Basic YWRtaW46eA=="), 401, "UNAUTHORIZED")
    assert_error(await with_cookie(live, "GET", path, "not-a-session"), 401, "SESSION_EXPIRED")


@pytest_twisted.ensureDeferred
async def test_an_empty_cookie_is_no_session(live):
    assert_error(await with_cookie(live, "GET", "/api/user/me", ""), 401, "UNAUTHORIZED")


@pytest_twisted.ensureDeferred
async def test_a_new_login_replaces_the_session_the_browser_held(live):
    old = await session_of(live)
    body = json.dumps({"username": "admin", "password": PASSWORD}).encode()
    response = await with_cookie(live, "POST", "/api/login", old, body, JSON)
    assert response.code == 200
    assert_error(await with_cookie(live, "GET", "/api/user/me", old), 401, "SESSION_EXPIRED")
    assert (await with_cookie(live, "GET", "/api/user/me", cookie_of(response)["value"])).code == 200
    assert sql(live.db, "SELECT COUNT(*) FROM sessions") == [(1,)]


@pytest_twisted.ensureDeferred
async def test_a_bad_bearer_never_falls_back_to_the_cookie(live):
    token = await session_of(live)
    response = await live.request("GET", "/api/keys", headers={
        "Cookie": f"fazt_session={token}", "Authorization": "Bearer fazt_wrong"})
    assert_error(response, 401, "INVALID_API_KEY")


@pytest_twisted.ensureDeferred
async def test_an_expired_session_is_refused_and_its_cookie_cleared(live):
    token = await session_of(live)
    sql(live.db, "UPDATE sessions SET expires_at = ?", int(time.time()) - 1)
    response = await with_cookie(live, "GET", "/api/user/me", token)
    assert_error(response, 401, "SESSION_EXPIRED")
    assert cookie_of(response)["max-age"] == "0" and cookie_of(response)["value"] == ""
    assert_error(await with_cookie(live, "GET", "/api/keys", token), 401, "SESSION_EXPIRED")


@pytest_twisted.ensureDeferred
async def test_the_expiry_slides_at_most_once_a_minute(live):
    token = await session_of(live)
    soon = int(time.time()) + 100
    sql(live.db, "UPDATE sessions SET expires_at = ?", soon)
    first = await with_cookie(live, "GET", "/api/auth/status", token)
    assert first.code == 200
    assert cookie_of(first)["max-age"] == "86400"  # the browser's copy slides too
    [(expires_at,)] = await _eventually(live.db, "SELECT expires_at FROM sessions", lambda v: v > soon)
    assert expires_at >= time.time() + 86400 - 60
    second = await with_cookie(live, "GET", "/api/auth/status", token)
    assert second.code == 200 and cookie_of(second) == {}


async def _eventually(db, query, accept, attempts=100):
    from twisted.internet import reactor
    from twisted.internet.task import deferLater

    for _ in range(attempts):
        rows = sql(db, query)
        if rows and accept(rows[0][0]):
            return rows
        await deferLater(reactor, 0.01, lambda: None)
    raise AssertionError(f"{query} never matched: {rows}")


async def stopped(server) -> None:
    """L{stop_server} for use inside a test (tests run in the reactor's greenlet: no blockon)."""
    await server.listener.stopListening()
    await server.pool.closeCachedConnections()
    await server.services.stopService()


@pytest_twisted.ensureDeferred
async def test_sessions_survive_a_restart(tmp_path):
    db = str(tmp_path / "data.db")
    first = start_server(db)
    try:
        set_admin_password(db, PASSWORD)
        token = await session_of(first)
    finally:
        await stopped(first)
    second = start_server(db)
    try:
        response = await with_cookie(second, "GET", "/api/user/me", token)
        assert response.code == 200 and response.json()["data"]["username"] == "admin"
    finally:
        await stopped(second)


# -- CSRF ----------------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_cookie_writes_need_json_or_the_csrf_header(live):
    token = await session_of(live)
    body = json.dumps({"name": "from-the-dashboard"}).encode()
    for headers in ({"Content-Type": "text/plain"}, {"Content-Type": "application/x-www-form-urlencoded"}, {}):
        response = await with_cookie(live, "POST", "/api/keys", token, body, headers)
        assert_error(response, 403, "FORBIDDEN")
    for headers in ({"Content-Type": "application/json"}, {"Content-Type": "Application/JSON; charset=utf-8"},
                    {"Content-Type": "text/plain", "X-Fazt-CSRF": "1"}):
        response = await with_cookie(live, "POST", "/api/keys", token, body, headers)
        assert response.code == 201, response.body
    assert (await with_cookie(live, "GET", "/api/keys", token)).code == 200  # reads need nothing
    # Bearer keys are not sent by browsers on their own: no CSRF rule for them.
    key_id = response.json()["data"]["id"]
    assert (await with_key(live, "DELETE", f"/api/keys/{key_id}", live.admin_token)).code == 200


@pytest_twisted.ensureDeferred
async def test_a_cookie_deploy_needs_the_csrf_header(live):
    token = await session_of(live)
    body, ctype = multipart_body({"site_name": "blog"}, {"file": ("site.zip", make_zip({"index.html": "hi"}))})
    refused = await with_cookie(live, "POST", "/api/deploy", token, body, {"Content-Type": ctype})
    assert_error(refused, 403, "FORBIDDEN")
    deployed = await with_cookie(live, "POST", "/api/deploy", token, body,
                                 {"Content-Type": ctype, "X-Fazt-CSRF": "1"})
    assert deployed.code == 200, deployed.body
    assert (await live.get("/", "blog.example.test")).body == b"hi"


# -- logout --------------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_logout_ends_the_session(live):
    token = await session_of(live)
    response = await with_cookie(live, "POST", "/api/logout", token, headers={"X-Fazt-CSRF": "1"})
    assert response.code == 200
    assert response.json() == {"data": {"message": "Logged out successfully"}}
    assert cookie_of(response)["max-age"] == "0"
    assert sql(live.db, "SELECT COUNT(*) FROM sessions") == [(0,)]
    assert_error(await with_cookie(live, "GET", "/api/user/me", token), 401, "SESSION_EXPIRED")


@pytest_twisted.ensureDeferred
async def test_logout_refusals(live):
    assert_error(await live.request("POST", "/api/logout"), 401, "UNAUTHORIZED")
    assert_error(await with_key(live, "POST", "/api/logout", "fazt_nope"), 401, "INVALID_API_KEY")
    token = await session_of(live)
    assert_error(await with_cookie(live, "POST", "/api/logout", token), 403, "FORBIDDEN")  # a form post
    assert_error(await with_cookie(live, "POST", "/api/logout", "stale", headers={"X-Fazt-CSRF": "1"}),
                 401, "SESSION_EXPIRED")
    assert (await with_key(live, "POST", "/api/logout", live.admin_token)).code == 200


# -- the audit log -------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_logins_logouts_deploys_and_rollbacks_are_audited(live):
    assert (await login(live, "not-the-password")).code == 401
    token = await session_of(live)
    await with_cookie(live, "POST", "/api/logout", token, headers={"X-Fazt-CSRF": "1"})
    for content in ("v1", "v2"):
        assert (await live.deploy("blog", {"index.html": content})).code == 200
    rollback = await with_key(live, "POST", "/api/sites/blog/rollback", live.admin_token, b"{}", JSON)
    assert rollback.code == 200, rollback.body
    rows = await _eventually(live.db, "SELECT COUNT(*) FROM audit_log WHERE action = 'rollback'", lambda n: n)
    rows = sql(live.db, "SELECT actor, action, resource, result, details FROM audit_log ORDER BY id")
    assert rows[0] == ("admin", "login", "session", "failed", "address=127.0.0.1")
    assert rows[1] == ("admin", "login", "session", "ok", "address=127.0.0.1")
    assert rows[2] == ("admin", "logout", "session", "ok", "")
    assert [(r[0], r[1], r[2]) for r in rows[3:]] == [
        ("test-admin", "deploy", "blog"), ("test-admin", "deploy", "blog"), ("test-admin", "rollback", "blog")]
    assert not any("not-the-password" in str(r) or PASSWORD in str(r) for r in rows)
