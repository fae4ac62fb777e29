"""Environment variables through the admin API (SPEC §9), against a live server: the original's
C{/api/envvars}, the RESTful C{/api/sites/NAME/env[/VAR]}, and what a site's script then sees."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
import pytest_twisted
from twisted.internet.defer import ensureDeferred

from fazt.cli.operator import create_key
from fazt_testing import assert_error, start_server, stop_server

HOST = "blog.example.test"
SHOW_ENV = "res.json(process.env);"


@pytest.fixture
def live(tmp_path):
    server = start_server(str(tmp_path / "data.db"), extra_args=("--js-workers", "1"))
    deployed = pytest_twisted.blockon(ensureDeferred(server.deploy("blog", {"main.js": SHOW_ENV})))
    assert deployed.code == 200, deployed.body
    yield server
    stop_server(server)


async def api(server, method: str, path: str, body=None, token: str | None = None):
    headers = {"Authorization": f"Bearer {token or server.admin_token}"}
    if body is not None:
        headers["Content-Type"] = "application/json"
        body = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await server.request(method, path, headers=headers, body=body)


async def env_names(server, site="blog") -> list[str]:
    response = await api(server, "GET", f"/api/envvars?site_id={site}")
    assert response.code == 200, response.body
    return [v["name"] for v in response.json()["data"]]


# -- authentication and scopes -------------------------------------------------------------

ROUTES = [
    ("GET", "/api/envvars?site_id=blog", None),
    ("POST", "/api/envvars", {"site_id": "blog", "name": "A", "value": "1"}),
    ("DELETE", "/api/envvars?id=1", None),
    ("GET", "/api/sites/blog/env", None),
    ("PUT", "/api/sites/blog/env", {"vars": {}}),
    ("DELETE", "/api/sites/blog/env", None),
    ("GET", "/api/sites/blog/env/A", None),
    ("PUT", "/api/sites/blog/env/A", {"value": "1"}),
    ("DELETE", "/api/sites/blog/env/A", None),
]


@pytest.mark.parametrize("method,path,body", ROUTES)
@pytest_twisted.ensureDeferred
async def test_routes_need_a_key_for_the_site(live, method, path, body):
    assert (await api(live, "PUT", "/api/sites/blog/env/A", {"value": "1"})).code == 200
    raw = json.dumps(body).encode() if body is not None else None
    assert_error(await live.request(method, path, body=raw), 401, "UNAUTHORIZED")
    assert_error(await api(live, method, path, body, token="fazt_nope"), 401, "INVALID_API_KEY")
    other = create_key(live.db, "other", ["deploy:other"])
    assert_error(await api(live, method, path, body, token=other), 403, "FORBIDDEN")
    # Not even the site's own deploy key: it deploys, and does nothing else.
    own = create_key(live.db, "blog-ci", ["deploy:blog"])
    assert_error(await api(live, method, path, body, token=own), 403, "FORBIDDEN")
    assert await env_names(live) == ["A"]


# -- the original's routes -------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_envvars_upsert_list_and_delete(live):
    created = await api(live, "POST", "/api/envvars", {"site_id": "blog", "name": " API_KEY ", "value": "s3cret"})
    assert created.code == 200, created.body
    data = created.json()["data"]
    assert (data["name"], data["site"], data["created"]) == ("API_KEY", "blog", True)
    updated = await api(live, "POST", "/api/envvars", {"site_id": "blog", "name": "API_KEY", "value": "other"})
    assert updated.json()["data"]["created"] is False and updated.json()["data"]["id"] == data["id"]
    await api(live, "POST", "/api/envvars", {"site_id": "blog", "name": "B_2", "value": ""})

    listing = await api(live, "GET", "/api/envvars?site_id=blog")
    body = listing.json()
    assert body["meta"] == {"total": 2, "limit": 50, "offset": 0}
    assert [set(v) for v in body["data"]] == [{"id", "name", "created_at", "updated_at"}] * 2
    assert b"s3cret" not in listing.body and b"other" not in listing.body  # values never come back

    deleted = await api(live, "DELETE", f"/api/envvars?id={data['id']}")
    assert deleted.code == 200 and deleted.json()["data"]["name"] == "API_KEY"
    assert await env_names(live) == ["B_2"]
    assert_error(await api(live, "DELETE", f"/api/envvars?id={data['id']}"), 404, "NOT_FOUND")


BAD_NAMES = ["lower", "1ABC", "A-B", "A B", "", "   ", "A" * 129, "PATH", "LD_PRELOAD", "NODE_OPTIONS",
             "HTTPS_PROXY", "ÄPFEL", "A\nB", 42, True, ["A"], {"A": 1}]


@pytest.mark.parametrize("name", BAD_NAMES)
@pytest_twisted.ensureDeferred
async def test_names_follow_the_original_rules(live, name):
    response = await api(live, "POST", "/api/envvars", {"site_id": "blog", "name": name, "value": "x"})
    assert_error(response, 400, "VALIDATION_FAILED", "name")
    if isinstance(name, str) and name.strip() and "/" not in name:
        response = await api(live, "PUT", f"/api/sites/blog/env/{quote(name.strip(), safe='')}", {"value": "x"})
        assert response.code in (400, 404), response.body
    assert await env_names(live) == []


@pytest_twisted.ensureDeferred
async def test_the_longest_name_and_value_are_accepted(live):
    name, value = "A" * 128, "é" * 2048  # 4096 bytes
    assert (await api(live, "POST", "/api/envvars", {"site_id": "blog", "name": name, "value": value})).code == 200
    too_long = await api(live, "POST", "/api/envvars", {"site_id": "blog", "name": name, "value": value + "x"})
    assert_error(too_long, 400, "VALIDATION_FAILED", "value")


@pytest.mark.parametrize("body,status,code,field", [
    ({"name": "A", "value": "1"}, 400, "MISSING_FIELD", "site_id"),
    ({"site_id": "blog", "value": "1"}, 400, "MISSING_FIELD", "name"),
    ({"site_id": "blog", "name": "A"}, 400, "MISSING_FIELD", "value"),
    ({"site_id": "blog", "name": "A", "value": None}, 400, "MISSING_FIELD", "value"),
    ({"site_id": "blog", "name": "A", "value": 1}, 400, "VALIDATION_FAILED", "value"),
    ({"site_id": "blog", "name": "A", "value": ["x"]}, 400, "VALIDATION_FAILED", "value"),
    ({"site_id": 7, "name": "A", "value": "1"}, 400, "VALIDATION_FAILED", "site_id"),
    ({"site_id": "nope", "name": "A", "value": "1"}, 404, "SITE_NOT_FOUND", None),
    ({"site_id": "../x", "name": "A", "value": "1"}, 404, "SITE_NOT_FOUND", None),
    (b'{"site_id": "blog", "name": "A", "value": "\\ud800"}', 400, "VALIDATION_FAILED", "value"),
    (b'{"site_id": "blog", "name": "A",', 400, "INVALID_JSON", None),
    (b'["blog"]', 400, "INVALID_JSON", None),
    (b"\xff\xfe", 400, "INVALID_JSON", None),
])
@pytest_twisted.ensureDeferred
async def test_post_envvars_validation(live, body, status, code, field):
    assert_error(await api(live, "POST", "/api/envvars", body), status, code, field)
    assert await env_names(live) == []


@pytest.mark.parametrize("query,status,code,field", [
    ("", 400, "MISSING_FIELD", "id"),
    ("id=", 400, "MISSING_FIELD", "id"),
    ("id=abc", 400, "VALIDATION_FAILED", "id"),
    ("id=-1", 400, "VALIDATION_FAILED", "id"),
    ("id=1.5", 400, "VALIDATION_FAILED", "id"),
    (f"id={2**63}", 400, "VALIDATION_FAILED", "id"),
    (f"id={2**63 - 1}", 404, "NOT_FOUND", None),
    ("id=999", 404, "NOT_FOUND", None),
])
@pytest_twisted.ensureDeferred
async def test_delete_envvars_validation(live, query, status, code, field):
    assert_error(await api(live, "DELETE", f"/api/envvars?{query}"), status, code, field)


@pytest.mark.parametrize("query,status,code", [("", 400, "MISSING_FIELD"), ("site_id=", 400, "MISSING_FIELD"),
                                               ("site_id=nope", 404, "SITE_NOT_FOUND"),
                                               ("site_id=%FF", 400, "VALIDATION_FAILED"),
                                               ("site_id=blog&limit=1001", 400, "VALIDATION_FAILED")])
@pytest_twisted.ensureDeferred
async def test_get_envvars_validation(live, query, status, code):
    assert_error(await api(live, "GET", f"/api/envvars?{query}"), status, code)


# -- RESTful routes ------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_restful_routes(live):
    put = await api(live, "PUT", "/api/sites/blog/env/GREETING", {"value": "hi"})
    assert put.code == 200 and put.json()["data"]["created"] is True
    one = await api(live, "GET", "/api/sites/blog/env/GREETING")
    assert one.code == 200 and set(one.json()["data"]) == {"id", "site", "name", "created_at", "updated_at"}
    assert b"hi" not in one.body
    assert_error(await api(live, "GET", "/api/sites/blog/env/NOPE"), 404, "NOT_FOUND")
    assert_error(await api(live, "PUT", "/api/sites/blog/env/GREETING", {}), 400, "MISSING_FIELD", "value")
    assert_error(await api(live, "PUT", "/api/sites/blog/env/GREETING", {"value": 5}), 400, "VALIDATION_FAILED")
    assert_error(await api(live, "PUT", "/api/sites/blog/env/HOME", {"value": "x"}), 400, "VALIDATION_FAILED")
    assert_error(await api(live, "PUT", "/api/sites/nope/env/A", {"value": "x"}), 404, "SITE_NOT_FOUND")

    listing = await api(live, "GET", "/api/sites/blog/env?limit=1")
    assert listing.json()["meta"] == {"total": 1, "limit": 1, "offset": 0}

    replaced = await api(live, "PUT", "/api/sites/blog/env", {"vars": {"A": "1", "B": "2"}})
    assert replaced.json()["data"] == {"site": "blog", "names": ["A", "B"], "removed": 1}
    assert await env_names(live) == ["A", "B"]
    assert_error(await api(live, "PUT", "/api/sites/blog/env", {"vars": {"A": "1", "bad": "2"}}),
                 400, "VALIDATION_FAILED", "name")
    assert_error(await api(live, "PUT", "/api/sites/blog/env", {"vars": ["A"]}), 400, "VALIDATION_FAILED", "vars")
    assert_error(await api(live, "PUT", "/api/sites/blog/env", {}), 400, "MISSING_FIELD", "vars")
    assert await env_names(live) == ["A", "B"]  # a refused request changes nothing

    assert (await api(live, "DELETE", "/api/sites/blog/env/A")).code == 200
    assert_error(await api(live, "DELETE", "/api/sites/blog/env/A"), 404, "NOT_FOUND")
    cleared = await api(live, "DELETE", "/api/sites/blog/env")
    assert cleared.json()["data"] == {"site": "blog", "removed": 1}
    assert await env_names(live) == []
    assert_error(await api(live, "PATCH", "/api/sites/blog/env"), 405, "METHOD_NOT_ALLOWED")


# -- what the site's script sees -------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_the_next_request_sees_every_change(live):
    async def env_seen():
        page = await live.get("/", HOST)
        assert page.code == 200, page.body
        return page.json()

    assert await env_seen() == {}
    await api(live, "POST", "/api/envvars", {"site_id": "blog", "name": "FOO", "value": "bar"})
    assert await env_seen() == {"FOO": "bar"}
    await api(live, "PUT", "/api/sites/blog/env/FOO", {"value": "baz"})
    await api(live, "PUT", "/api/sites/blog/env/UNICODE", {"value": "é ✓ \u0001"})
    # NUL is refused, as no process environment can hold it (nor PostgreSQL's text): fazt.store.text.
    assert_error(await api(live, "PUT", "/api/sites/blog/env/NUL", {"value": "a\u0000"}), 400, "VALIDATION_FAILED")
    assert await env_seen() == {"FOO": "baz", "UNICODE": "é ✓ \u0001"}
    await api(live, "PUT", "/api/sites/blog/env", {"vars": {"ONLY": "1"}})
    assert await env_seen() == {"ONLY": "1"}
    var_id = (await api(live, "GET", "/api/envvars?site_id=blog")).json()["data"][0]["id"]
    await api(live, "DELETE", f"/api/envvars?id={var_id}")
    assert await env_seen() == {}
