"""API keys (create, list, revoke) and the audit log API (SPEC §9) against a live server."""

from __future__ import annotations

import json
import re
import time

import pytest
import pytest_twisted

from fazt.cli.operator import create_key
from fazt_testing import assert_error, set_admin_password, sql

PASSWORD = "correct horse battery"
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


async def call(server, method: str, path: str, body=None, token: str | None = None, headers=None):
    all_headers = {"Authorization": f"Bearer {token or server.admin_token}", **(headers or {})}
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
        all_headers.setdefault("Content-Type", "application/json")
    return await server.request(method, path, headers=all_headers, body=body)


async def new_key(server, name="ci", scopes=None) -> dict:
    body = {"name": name} if scopes is None else {"name": name, "scopes": scopes}
    response = await call(server, "POST", "/api/keys", body)
    assert response.code == 201, response.body
    return response.json()["data"]


async def expired_session(server) -> str:
    """A session cookie whose session has expired."""
    set_admin_password(server.db, PASSWORD)
    response = await server.request("POST", "/api/login", headers={"Content-Type": "application/json"},
                                    body=json.dumps({"username": "admin", "password": PASSWORD}).encode())
    token = response.header("set-cookie").split(";")[0].split("=", 1)[1]
    sql(server.db, "UPDATE sessions SET expires_at = ?", int(time.time()) - 5)
    return token


ROUTES = [("GET", "/api/keys", None), ("POST", "/api/keys", {"name": "x"}), ("DELETE", "/api/keys/1", None),
          ("DELETE", "/api/keys?id=1", None), ("GET", "/api/audit", None)]


# -- create --------------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_create_shows_the_token_once(server):
    response = await call(server, "POST", "/api/keys", {"name": "laptop", "scopes": "deploy:blog"})
    assert response.code == 201
    assert response.header("cache-control") == "no-store"
    data = response.json()["data"]
    assert set(data) == {"id", "name", "scopes", "created_at", "last_used_at", "token", "message"}
    assert data["name"] == "laptop" and data["scopes"] == ["deploy:blog"] and data["last_used_at"] is None
    assert ISO.fullmatch(data["created_at"]) and data["token"].startswith("fazt_")
    assert "won't be shown again" in data["message"]
    # The token works, and only for its site.
    assert (await server.deploy("blog", {"index.html": "hi"}, token=data["token"])).code == 200
    assert_error(await server.deploy("other", {"index.html": "hi"}, token=data["token"]), 403, "FORBIDDEN")
    # It is stored only as a digest.
    assert data["token"] not in str(sql(server.db, "SELECT * FROM api_keys"))


@pytest.mark.parametrize("scopes, expected", [
    (None, ["admin"]),
    ("admin", ["admin"]),
    ("deploy:blog deploy:docs", ["deploy:blog", "deploy:docs"]),
    ("deploy:blog,deploy:blog", ["deploy:blog"]),
    (["deploy:Blog", "admin"], ["deploy:blog", "admin"]),
])
@pytest_twisted.ensureDeferred
async def test_scopes_as_a_list_or_a_string(server, scopes, expected):
    assert (await new_key(server, scopes=scopes))["scopes"] == expected


@pytest.mark.parametrize("body, code, field", [
    (b"{", "INVALID_JSON", None),
    (b'["name"]', "INVALID_JSON", None),
    ({}, "MISSING_FIELD", "name"),
    ({"name": None}, "MISSING_FIELD", "name"),
    ({"name": "   "}, "MISSING_FIELD", "name"),
    ({"name": 7}, "VALIDATION_FAILED", "name"),
    ({"name": True}, "VALIDATION_FAILED", "name"),
    ({"name": "n" * 101}, "VALIDATION_FAILED", "name"),
    ({"name": "two\nlines"}, "VALIDATION_FAILED", "name"),
    ({"name": "\ud800"}, "VALIDATION_FAILED", "name"),
    ({"name": "x", "scopes": 2**80}, "VALIDATION_FAILED", "scopes"),
    ({"name": "x", "scopes": {"admin": True}}, "VALIDATION_FAILED", "scopes"),
    ({"name": "x", "scopes": ["admin", 1]}, "VALIDATION_FAILED", "scopes"),
    ({"name": "x", "scopes": []}, "VALIDATION_FAILED", "scopes"),
    ({"name": "x", "scopes": ""}, "VALIDATION_FAILED", "scopes"),
    ({"name": "x", "scopes": "root"}, "VALIDATION_FAILED", "scopes"),
    ({"name": "x", "scopes": "deploy:"}, "VALIDATION_FAILED", "scopes"),
    ({"name": "x", "scopes": "deploy:bad_name"}, "VALIDATION_FAILED", "scopes"),
    ({"name": "x", "scopes": "deploy:" + "a" * 64}, "VALIDATION_FAILED", "scopes"),
    ({"name": "x", "scopes": " ".join(f"deploy:s{n}" for n in range(51))}, "VALIDATION_FAILED", "scopes"),
])
@pytest_twisted.ensureDeferred
async def test_create_validation(server, body, code, field):
    before = sql(server.db, "SELECT COUNT(*) FROM api_keys")
    headers = {"Content-Type": "application/json"} if isinstance(body, bytes) else None
    assert_error(await call(server, "POST", "/api/keys", body, headers=headers), 400, code, field)
    assert sql(server.db, "SELECT COUNT(*) FROM api_keys") == before


# -- list ----------------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_list_never_shows_tokens(server):
    created = [await new_key(server, name=f"key-{n}") for n in range(3)]
    response = await call(server, "GET", "/api/keys")
    assert response.code == 200
    body = response.json()
    assert body["meta"] == {"total": 4, "limit": 50, "offset": 0}
    assert [k["name"] for k in body["data"]] == ["key-2", "key-1", "key-0", "test-admin"]  # newest first
    for key in body["data"]:
        assert set(key) == {"id", "name", "scopes", "created_at", "last_used_at"}
    assert not any(k["token"] in response.body.decode() for k in created)
    assert body["data"][-1]["last_used_at"] is not None and ISO.fullmatch(body["data"][-1]["last_used_at"])
    page = (await call(server, "GET", "/api/keys?limit=2&offset=1")).json()
    assert [k["name"] for k in page["data"]] == ["key-1", "key-0"]
    assert page["meta"] == {"total": 4, "limit": 2, "offset": 1}


@pytest.mark.parametrize("query, field", [("limit=0", "limit"), ("limit=1001", "limit"), ("limit=x", "limit"),
                                          ("offset=-1", "offset"), ("offset=99999999999999999999", "offset")])
@pytest.mark.parametrize("path", ["/api/keys", "/api/audit"])
@pytest_twisted.ensureDeferred
async def test_paging_validation(server, path, query, field):
    assert_error(await call(server, "GET", f"{path}?{query}"), 400, "VALIDATION_FAILED", field)


# -- revoke --------------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_a_revoked_key_stops_working_at_once(server):
    key = await new_key(server, name="doomed")
    assert (await call(server, "GET", "/api/keys", token=key["token"])).code == 200
    response = await call(server, "DELETE", f"/api/keys/{key['id']}")
    assert response.code == 200
    assert response.json() == {"data": {"id": key["id"], "name": "doomed", "message": "API key revoked"}}
    assert_error(await call(server, "GET", "/api/keys", token=key["token"]), 401, "INVALID_API_KEY")
    assert_error(await call(server, "DELETE", f"/api/keys/{key['id']}"), 404, "NOT_FOUND")
    listed = (await call(server, "GET", "/api/keys")).json()
    assert "doomed" not in [k["name"] for k in listed["data"]] and listed["meta"]["total"] == 1


@pytest_twisted.ensureDeferred
async def test_the_original_revoke_form(server):
    key = await new_key(server, name="legacy")
    response = await call(server, "DELETE", f"/api/keys?id={key['id']}")
    assert response.code == 200 and response.json()["data"]["message"] == "API key revoked"
    assert_error(await call(server, "GET", "/api/keys", token=key["token"]), 401, "INVALID_API_KEY")
    assert_error(await call(server, "DELETE", "/api/keys"), 400, "MISSING_FIELD", "id")
    assert_error(await call(server, "DELETE", "/api/keys?id="), 400, "MISSING_FIELD", "id")
    for bad in ("abc", "-1", "1.5", str(2**64), "%D9%A3"):  # the last is an Arabic-Indic digit
        assert_error(await call(server, "DELETE", f"/api/keys?id={bad}"), 400, "VALIDATION_FAILED", "id")
    assert_error(await call(server, "DELETE", "/api/keys?id=424242"), 404, "NOT_FOUND")


@pytest.mark.parametrize("key_id", ["424242", "abc", "-3", str(2**63), "1e3", "%E2%91%A0"])
@pytest_twisted.ensureDeferred
async def test_revoking_an_unknown_key(server, key_id):
    assert_error(await call(server, "DELETE", f"/api/keys/{key_id}"), 404, "NOT_FOUND")


@pytest_twisted.ensureDeferred
async def test_wrong_methods(server):
    response = await call(server, "PUT", "/api/keys", {"name": "x"})
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert response.header("allow") == "DELETE, GET, HEAD, POST"
    response = await call(server, "PATCH", "/api/keys/1", {})
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert response.header("allow") == "DELETE"
    assert_error(await call(server, "DELETE", "/api/audit"), 405, "METHOD_NOT_ALLOWED")


# -- who may -------------------------------------------------------------------------------


@pytest.mark.parametrize("method, path, body", ROUTES)
@pytest_twisted.ensureDeferred
async def test_every_route_refuses_the_unauthorised(server, method, path, body):
    data = None if body is None else json.dumps(body).encode()
    json_type = {"Content-Type": "application/json"}
    assert_error(await server.request(method, path, headers=json_type, body=data), 401, "UNAUTHORIZED")
    assert_error(await call(server, method, path, body, token="fazt_bogus"), 401, "INVALID_API_KEY")
    narrow = create_key(server.db, "blog-only", ["deploy:blog"])
    assert_error(await call(server, method, path, body, token=narrow), 403, "FORBIDDEN")
    stale = await expired_session(server)
    response = await server.request(method, path, headers={"Cookie": f"fazt_session={stale}", **json_type},
                                    body=data)
    assert_error(response, 401, "SESSION_EXPIRED")
    assert sql(server.db, "SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NOT NULL") == [(0,)]


# -- the audit log -------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_key_changes_are_in_the_audit_log(server):
    key = await new_key(server, name="audited", scopes="deploy:blog")
    await call(server, "DELETE", f"/api/keys/{key['id']}")
    response = await call(server, "GET", "/api/audit")
    assert response.code == 200
    body = response.json()
    assert body["meta"] == {"total": 2, "limit": 50, "offset": 0}
    revoke, create = body["data"]  # newest first
    assert set(create) == {"id", "created_at", "actor", "action", "resource", "result", "details"}
    assert (create["actor"], create["action"], create["resource"], create["result"]) == (
        "test-admin", "key.create", f"key:{key['id']}", "ok")
    assert create["details"] == "name=audited scopes=deploy:blog" and ISO.fullmatch(create["created_at"])
    assert (revoke["action"], revoke["resource"]) == ("key.revoke", f"key:{key['id']}")
    assert key["token"] not in response.body.decode()
    page = (await call(server, "GET", "/api/audit?limit=1&offset=1")).json()
    assert [e["action"] for e in page["data"]] == ["key.create"] and page["meta"]["total"] == 2


@pytest_twisted.ensureDeferred
async def test_the_audit_recorder_clips_what_it_stores(server):
    from fazt.store.audit import MAX_DETAILS
    from fazt.store.batch import BatchWriter
    from fazt.store.db import Store
    from fazt.api.audit import AuditRecorder

    [store] = [service for service in server.services if isinstance(service, Store)]
    from twisted.internet import reactor

    recorder = AuditRecorder(BatchWriter(store), reactor)
    await recorder("someone", "site.delete", "blog", details="x" * 50_000)
    await recorder("\ud800", "odd", "")
    data = (await call(server, "GET", "/api/audit")).json()["data"]
    assert [e["action"] for e in data] == ["odd", "site.delete"]
    assert len(data[1]["details"]) == MAX_DETAILS and data[0]["actor"] == "?"
    assert data[1]["result"] == "ok"


def test_the_audit_area_and_the_recorder_every_area_uses():
    # The wiring gives the authenticator the recorder; the audit area only serves the log, so
    # areas may be mounted in any order (the rows recorded end to end are checked above).
    from fazt.api import audit
    from fazt.api.router import ApiRouter
    from twisted.internet.task import Clock
    from fazt.web.auth import Authenticator

    router = ApiRouter()
    router.add(audit.AuditApi(None, Authenticator(None, Clock())))
    assert "audit" in router.areas()
    recorder = audit.AuditRecorder(None, Clock())
    assert Authenticator(None, Clock(), audit=recorder).audit is recorder
