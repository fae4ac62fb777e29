"""/api/sites/{name}/git and /api/sites/{name}/domains against a live server: bad input gets the
envelope with its code and field, scopes hold, the Git link's secret never comes back, and a
deleted site takes its domains with it (the routing map follows)."""

from __future__ import annotations

import json

import pytest
import pytest_twisted

from fazt.cli.operator import create_key
from fazt_testing import assert_error


async def api(server, method: str, path: str, body=None, token: str | None = None, host: str = "admin.example.test"):
    headers = {"Authorization": f"Bearer {token or server.admin_token}", "Content-Type": "application/json",
               "Host": host}
    return await server.request(method, path, headers=headers,
                                body=json.dumps(body).encode() if body is not None else None)


@pytest.mark.parametrize("body, status, code, field", [
    ({}, 400, "MISSING_FIELD", "url"),
    ({"url": "https://example.org/x.git", "ref": "a b"}, 400, "VALIDATION_FAILED", "ref"),
    ({"url": "https://example.org/x.git", "ref": "../x"}, 400, "VALIDATION_FAILED", "ref"),
    ({"url": "https://example.org/x.git", "dir": "../up"}, 400, "VALIDATION_FAILED", "dir"),
    ({"url": "https://example.org/x.git", "link": "yes"}, 400, "VALIDATION_FAILED", "link"),
    ({"url": "http://192.168.1.1/x.git"}, 400, "GIT_URL_BLOCKED", "url"),
    ({"url": "http://[fd00::1]/x.git"}, 400, "GIT_URL_BLOCKED", "url"),
    ({"url": "git@github.com:o/r.git"}, 400, "GIT_URL_BLOCKED", "url"),
])
@pytest_twisted.ensureDeferred
async def test_git_deploys_refuse_bad_input(server, body, status, code, field):
    assert_error(await api(server, "POST", "/api/sites/blog/git", body), status, code, field)


@pytest_twisted.ensureDeferred
async def test_git_routes_hold_scopes_and_names(server):
    other = create_key(server.db, "other", ["deploy:other"])
    assert_error(await api(server, "POST", "/api/sites/blog/git", {"url": "http://10.0.0.1/x.git"}, token=other),
                 403, "FORBIDDEN")
    assert_error(await api(server, "POST", "/api/sites/www/git", {"url": "http://10.0.0.1/x.git"}),
                 400, "VALIDATION_FAILED", "site_name")
    assert_error(await api(server, "GET", "/api/sites/blog/git"), 404, "NOT_FOUND")
    assert_error(await api(server, "DELETE", "/api/sites/blog/git"), 404, "NOT_FOUND")
    assert_error(await api(server, "POST", "/webhook/git/blog", {"ref": "refs/heads/main"}), 404, "WEBHOOK_NOT_FOUND")


@pytest.mark.parametrize("body, code, field", [
    ({}, "MISSING_FIELD", "name"),
    ({"name": "localhost"}, "VALIDATION_FAILED", "name"),
    ({"name": "shop.example.test"}, "VALIDATION_FAILED", "name"),   # under the server's own domain
    ({"name": "www.example.org"}, "VALIDATION_FAILED", "name"),
    ({"name": "exa mple.org"}, "VALIDATION_FAILED", "name"),
    ({"name": "127.0.0.1"}, "VALIDATION_FAILED", "name"),
    ({"name": "example.org", "www": "both"}, "VALIDATION_FAILED", "www"),
    ({"name": ["example.org"]}, "VALIDATION_FAILED", "name"),
])
@pytest_twisted.ensureDeferred
async def test_domains_refuse_bad_names(server, body, code, field):
    assert (await server.deploy("blog", {"index.html": "blog"})).code == 200
    assert_error(await api(server, "POST", "/api/sites/blog/domains", body), 400, code, field)


@pytest_twisted.ensureDeferred
async def test_domains_of_a_site_come_and_go_with_it(server):
    assert_error(await api(server, "POST", "/api/sites/blog/domains", {"name": "example.org"}), 404, "SITE_NOT_FOUND")
    assert (await server.deploy("blog", {"index.html": "the blog"})).code == 200
    added = await api(server, "POST", "/api/sites/blog/domains", {"name": "Example.ORG.", "www": "serve"})
    assert added.code == 201, added.body
    assert {k: v for k, v in added.json()["data"].items() if k not in ("id", "created_at")} == {
        "site": "blog", "name": "example.org", "www": "serve"}
    served = await server.request("GET", "/", headers={"Host": "www.example.org"})
    assert (served.code, served.body) == (200, b"the blog")
    assert_error(await api(server, "POST", "/api/sites/blog/domains", {"name": "example.org"}), 409, "CONFLICT", "name")

    assert (await api(server, "DELETE", "/api/sites/blog")).code == 200
    assert (await server.request("GET", "/", headers={"Host": "example.org"})).code == 404
    assert (await server.deploy("blog", {"index.html": "again"})).code == 200
    listing = await api(server, "GET", "/api/sites/blog/domains")
    assert listing.json()["data"] == [] and listing.json()["meta"]["total"] == 0
