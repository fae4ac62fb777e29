"""What every admin API route shares: paging bounds, deploy-key scope, no caching, admin headers.

Each test drives a live server over a real socket on 127.0.0.1 and covers every route of its
kind at once, so that a route added later is held to the same rule.
"""

from __future__ import annotations

import json

import pytest
import pytest_twisted

from fazt.cli.operator import create_key
from fazt_testing import assert_error, start_server, stop_server
from tls_testing import https_request, listen_tls

SITE = "blog"
# Every route that answers a paged list (SPEC §9), with the query it needs besides paging.
LIST_ROUTES = (
    "/api/sites", "/api/deployments", "/api/keys", "/api/audit", "/api/events", "/api/domains", "/api/tags",
    "/api/redirects", "/api/webhooks", "/api/certificates", f"/api/envvars?site_id={SITE}", f"/api/sites/{SITE}/env",
    f"/api/sites/{SITE}/files", f"/api/sites/{SITE}/kv", f"/api/logs?site_id={SITE}", f"/api/sites/{SITE}/logs",
    f"/api/sites/{SITE}/deployments", f"/api/sites/{SITE}/domains",
)


@pytest.fixture
def live(server):
    """A live server with the site SITE deployed (see L{deployed})."""
    return server


async def deployed(live):
    response = await live.deploy(SITE, {"index.html": "<h1>blog</h1>"})
    assert response.code == 200, response.body
    return live


def joined(route: str, query: str) -> str:
    return route + ("&" if "?" in route else "?") + query


async def api(live, method: str, path: str, token: str | None = None, body=None):
    headers = {"Authorization": f"Bearer {token or live.admin_token}"}
    raw = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        raw = json.dumps(body).encode()
    return await live.request(method, path, headers=headers, body=raw)


# -- paging: the original's 1-1000 on every list route -------------------------------------------


@pytest_twisted.ensureDeferred
async def test_every_list_route_accepts_a_limit_up_to_1000(live):
    await deployed(live)
    for route in LIST_ROUTES:
        for limit in (1, 101, 1000):
            response = await api(live, "GET", joined(route, f"limit={limit}"))
            assert response.code == 200, (route, limit, response.body)
            assert response.json()["meta"]["limit"] == limit


@pytest.mark.parametrize("limit", ["0", "-1", "1001", "99999999999999999999", "x", "1.5", ""])
@pytest_twisted.ensureDeferred
async def test_a_limit_outside_1_to_1000_is_refused_with_its_field(live, limit):
    await deployed(live)
    for route in LIST_ROUTES:
        assert_error(await api(live, "GET", joined(route, f"limit={limit}")), 400, "VALIDATION_FAILED", "limit")


# -- a deploy:NAME key deploys its site and does nothing else ------------------------------------

READS = ["/api/sites", f"/api/sites/{SITE}", f"/api/sites/{SITE}/deployments", "/api/deployments",
         f"/api/deployments?site_id={SITE}", f"/api/sites/{SITE}/env", f"/api/envvars?site_id={SITE}",
         f"/api/sites/{SITE}/files", f"/api/sites/{SITE}/files/index.html", f"/api/sites/{SITE}/kv",
         f"/api/sites/{SITE}/analytics", f"/api/logs?site_id={SITE}", f"/api/sites/{SITE}/logs",
         f"/api/logs/stream?site_id={SITE}", "/api/auth/status", "/api/user/me", "/api/keys", "/api/audit",
         "/api/stats", "/api/events", "/api/redirects", "/api/webhooks", "/api/system/health", "/api/config",
         "/api/system/backup", "/metrics"]
WRITES = [("POST", f"/api/sites/{SITE}/rollback", {}), ("PUT", f"/api/sites/{SITE}/env/A", {"value": "1"}),
          ("POST", "/api/envvars", {"site_id": SITE, "name": "A", "value": "1"}),
          ("DELETE", f"/api/sites/{SITE}/env", None), ("DELETE", f"/api/sites/{SITE}", None),
          ("POST", "/api/keys", {"name": "escalate", "scopes": "admin"}),
          ("POST", "/api/redirects", {"slug": "s", "destination": "https://example.com/"}),
          ("POST", "/api/logout", None), ("POST", "/api/system/backup", None)]


@pytest_twisted.ensureDeferred
async def test_a_deploy_key_reads_nothing(live):
    await deployed(live)
    own = create_key(live.db, "blog-ci", [f"deploy:{SITE}"])
    for path in READS:
        assert_error(await api(live, "GET", path, token=own), 403, "FORBIDDEN")


@pytest_twisted.ensureDeferred
async def test_a_deploy_key_changes_nothing_but_its_deploys(live):
    await deployed(live)
    own = create_key(live.db, "blog-ci", [f"deploy:{SITE}"])
    for method, path, body in WRITES:
        assert_error(await api(live, method, path, token=own, body=body), 403, "FORBIDDEN")
        assert (await live.get("/", host=f"{SITE}.{live.domain}")).code == 200


@pytest_twisted.ensureDeferred
async def test_a_deploy_key_deploys_its_site_and_not_another(live):
    await deployed(live)
    own = create_key(live.db, "blog-ci", [f"deploy:{SITE}"])
    response = await live.deploy(SITE, {"index.html": "<h1>v2</h1>"}, token=own)
    assert response.code == 200, response.body
    assert (await live.get("/", host=f"{SITE}.{live.domain}")).body == b"<h1>v2</h1>"
    assert_error(await live.deploy("docs", {"index.html": "x"}, token=own), 403, "FORBIDDEN")
    assert (await live.get("/", host=f"docs.{live.domain}")).code == 404


# -- no admin API answer is cached ---------------------------------------------------------------


@pytest.mark.parametrize("method,path,token,status", [
    ("GET", "/api/sites", "admin", 200),
    ("GET", "/api/openapi.json", None, 200),
    ("GET", f"/api/sites/{SITE}/files/index.html", "admin", 200),
    ("GET", "/api/sites", None, 401),
    ("GET", "/api/sites", "fazt_wrong", 401),
    ("GET", "/api/sites?limit=0", "admin", 400),
    ("GET", "/api/sites/nosuch", "admin", 404),
    ("GET", "/api/nosuch", "admin", 404),
    ("PATCH", "/api/sites", "admin", 405),
    ("POST", "/api/login", None, 400),
])
@pytest_twisted.ensureDeferred
async def test_every_admin_api_answer_says_no_store(live, method, path, token, status):
    await deployed(live)
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {live.admin_token if token == 'admin' else token}"
    response = await live.request(method, path, headers=headers)
    assert response.code == status, response.body
    assert response.header("cache-control") is not None and "no-store" in response.header("cache-control")


# -- Cross-Origin-Opener-Policy only where browsers honour it ------------------------------------


@pytest.mark.parametrize("path", ["/", "/api/sites"])
@pytest_twisted.ensureDeferred
async def test_no_coop_on_plain_http(live, path):
    response = await live.get(path)
    assert response.header("cross-origin-opener-policy") is None
    assert response.header("x-frame-options") == "DENY"  # the other admin headers stay


@pytest.fixture
def tls_live(tmp_path):
    server = start_server(str(tmp_path / "data.db"))
    port = listen_tls(server, tmp_path)
    yield server
    pytest_twisted.blockon(port.stopListening())
    stop_server(server)


@pytest.mark.parametrize("path", ["/", "/api/openapi.json"])
@pytest_twisted.ensureDeferred
async def test_coop_over_https(tls_live, path):
    response = await https_request(tls_live, f"admin.{tls_live.domain}", "GET", path)
    assert response.header("cross-origin-opener-policy") == "same-origin"
