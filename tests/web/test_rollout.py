"""Previews, promote and traffic split as a visitor and an admin see them (SPEC §15), on a real socket."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import pytest_twisted

from fazt_testing import assert_error, make_zip, multipart_body, start_server, stop_server

FUNCTION = "export function GET() { return new Response('%s'); }"
SITE = "blog"
LIVE = "blog.example.test"


async def deploy(server, files, preview=False, site=SITE):
    fields = {"site_name": site}
    if preview:
        fields["preview"] = "true"
    body, ctype = multipart_body(fields, {"file": ("site.zip", make_zip(files))})
    return await server.request("POST", "/api/deploy", headers={
        "Authorization": f"Bearer {server.admin_token}", "Content-Type": ctype}, body=body)


async def deployed(server, files, preview=False):
    response = await deploy(server, files, preview)
    assert response.code == 200, response.body
    return response.json()["data"]


async def api(server, method, path, payload=None):
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    body = None
    if payload is not None:
        headers["Content-Type"] = "application/json"
        body = json.dumps(payload).encode()
    return await server.request(method, path, headers=headers, body=body)


def preview_host(deployment_id, site=SITE):
    return f"d{deployment_id}--{site}.example.test"


@pytest_twisted.ensureDeferred
async def test_a_preview_is_served_at_its_own_host_with_noindex_until_promoted(server):
    old = await deployed(server, {"index.html": "<h1>old</h1>", "404.html": "old missing"})
    new = await deployed(server, {"index.html": "<h1>new</h1>", "_headers": "/*\n  X-Robots-Tag: all\n"},
                         preview=True)
    assert new["preview"] is True
    assert new["url"] == f"http://{preview_host(new['deployment_id'])}/"
    live = await server.get("/", LIVE)
    assert live.body == b"<h1>old</h1>" and live.header("x-robots-tag") is None
    shown = await server.get("/", preview_host(new["deployment_id"]))
    assert shown.body == b"<h1>new</h1>"
    # Every response on a preview host says noindex, even where the site's _headers says otherwise.
    assert shown.headers["x-robots-tag"] == ["noindex"]
    assert (await server.get("/", preview_host(new["deployment_id"]))).headers["x-robots-tag"] == ["noindex"]
    missing = await server.get("/nothing", preview_host(old["deployment_id"]))
    assert (missing.code, missing.body, missing.header("x-robots-tag")) == (404, b"old missing", "noindex")
    head = await server.request("HEAD", "/", preview_host(new["deployment_id"]))
    assert (head.code, head.header("x-robots-tag")) == (200, "noindex")
    # Every deployment of the site has its host, the active one too; another site's or none: 404.
    assert (await server.get("/", preview_host(old["deployment_id"]))).body == b"<h1>old</h1>"
    other = await server.get("/", preview_host(new["deployment_id"], site="root"))
    assert (other.code, other.header("x-robots-tag")) == (404, "noindex")
    assert (await server.get("/", preview_host(99999))).code == 404

    listed = (await api(server, "GET", f"/api/sites/{SITE}/deployments")).json()["data"]
    assert [(d["id"], d["active"], d["preview_url"]) for d in listed] == [
        (new["deployment_id"], False, f"http://{preview_host(new['deployment_id'])}/"),
        (old["deployment_id"], True, f"http://{preview_host(old['deployment_id'])}/")]

    promoted = await api(server, "POST", f"/api/sites/{SITE}/promote", {"deployment_id": new["deployment_id"]})
    assert promoted.code == 200, promoted.body
    assert (await server.get("/", LIVE)).body == b"<h1>new</h1>"
    assert (await server.get("/", preview_host(old["deployment_id"]))).body == b"<h1>old</h1>"


@pytest.fixture
def app_server(tmp_path):
    live = start_server(str(tmp_path / "data.db"), extra_args=("--js-workers", "1"))
    yield live
    stop_server(live)


@pytest_twisted.ensureDeferred
async def test_a_preview_runs_its_own_main_js_and_functions(app_server):
    server = app_server
    await deployed(server, {"main.js": "res.send('v1')"})
    new = await deployed(server, {"main.js": "res.send('v2')"}, preview=True)
    host = preview_host(new["deployment_id"])
    assert (await server.get("/", LIVE)).body == b"v1"
    answer = await server.get("/", host)
    assert (answer.body, answer.header("x-robots-tag")) == (b"v2", "noindex")
    assert (await server.get("/", LIVE)).body == b"v1"

    await deployed(server, {"index.html": "static", "api/hello.js": FUNCTION % "f1"})
    new = await deployed(server, {"index.html": "static", "api/hello.js": FUNCTION % "f2"}, preview=True)
    assert (await server.get("/api/hello", LIVE)).body == b"f1"
    answer = await server.get("/api/hello", preview_host(new["deployment_id"]))
    assert (answer.body, answer.header("x-robots-tag")) == (b"f2", "noindex")
    assert (await server.get("/api/hello", LIVE)).body == b"f1"


@pytest_twisted.ensureDeferred
async def test_preview_and_promote_refusals(server):
    assert_error(await deploy(server, {"index.html": "x"}, preview=True, site="ghost"), 404, "SITE_NOT_FOUND")
    body, ctype = multipart_body({"site_name": SITE, "preview": "maybe"}, {"file": ("s.zip", make_zip({"a": "b"}))})
    refused = await server.request("POST", "/api/deploy", headers={
        "Authorization": f"Bearer {server.admin_token}", "Content-Type": ctype}, body=body)
    assert_error(refused, 400, "VALIDATION_FAILED", "preview")
    assert_error(await deploy(server, {"index.html": "x"}, site="d12--blog"), 400, "VALIDATION_FAILED", "site_name")
    await deployed(server, {"index.html": "x"})
    assert_error(await api(server, "POST", f"/api/sites/{SITE}/promote", {}), 400, "MISSING_FIELD")
    assert_error(await api(server, "POST", f"/api/sites/{SITE}/promote", {"deployment_id": 424242}), 404)
    assert_error(await api(server, "POST", "/api/sites/ghost/promote", {"deployment_id": 1}), 404, "SITE_NOT_FOUND")


def cookie_of(response):
    cookies = [c for c in response.headers.get("set-cookie", []) if c.startswith("fazt_split=")]
    return cookies[0] if cookies else None


@pytest_twisted.ensureDeferred
async def test_a_split_shares_visitors_by_weight_and_keeps_each_on_one_deployment(server):
    a = (await deployed(server, {"index.html": "A", "app.js": "a"}))["deployment_id"]
    b = (await deployed(server, {"index.html": "B", "app.js": "b"}, preview=True))["deployment_id"]
    assert_error(await api(server, "PUT", f"/api/sites/{SITE}/split",
                           {"weights": [{"deployment_id": a, "weight": 90}]}), 400, "VALIDATION_FAILED")
    assert_error(await api(server, "PUT", f"/api/sites/{SITE}/split", {"weights": [
        {"deployment_id": a, "weight": 90}, {"deployment_id": 424242, "weight": 10}]}), 404)
    split = await api(server, "PUT", f"/api/sites/{SITE}/split", {"weights": [
        {"deployment_id": a, "weight": 90}, {"deployment_id": b, "weight": 10}]})
    assert split.code == 200, split.body
    shown = (await api(server, "GET", f"/api/sites/{SITE}")).json()["data"]
    assert shown["split"] == [{"deployment_id": a, "weight": 90}, {"deployment_id": b, "weight": 10}]

    shares = Counter()
    for _ in range(1000):
        answer = await server.get("/", LIVE)
        cookie = cookie_of(answer)
        assert cookie is not None
        value = cookie.split(";")[0].split("=")[1]
        assert {"A": str(a), "B": str(b)}[answer.body.decode()] == value
        shares[answer.body.decode()] += 1
    assert 850 <= shares["A"] <= 950 and shares["A"] + shares["B"] == 1000, shares
    attributes = [part.strip().lower() for part in cookie.split(";")[1:]]
    assert "httponly" in attributes and "samesite=lax" in attributes and "path=/" in attributes
    assert not any(part.startswith("domain") for part in attributes) and "secure" not in attributes
    assert "private" in answer.header("cache-control") and "public" not in answer.header("cache-control")
    assert "Cookie" in answer.header("vary")

    # A visitor with the cookie always sees the same deployment, and is not given a new cookie.
    for chosen, body in ((a, b"A"), (b, b"B")):
        for path in ("/", "/app.js"):
            for _ in range(10):
                answer = await server.get(path, LIVE, cookie=f"fazt_split={chosen}")
                assert answer.body == body.lower() if path == "/app.js" else answer.body == body
                assert cookie_of(answer) is None
                assert "Cookie" in answer.header("vary") and answer.header("cache-control").startswith("private")
    # A cookie naming a deployment not in the split is drawn again.
    answer = await server.get("/", LIVE, cookie="fazt_split=424242")
    assert cookie_of(answer).split(";")[0] in (f"fazt_split={a}", f"fazt_split={b}")

    ended = await api(server, "DELETE", f"/api/sites/{SITE}/split")
    assert ended.json()["data"]["ended"] is True
    assert (await api(server, "GET", f"/api/sites/{SITE}")).json()["data"]["split"] is None
    for cookie in (f"fazt_split={b}", None):
        answer = await server.get("/", LIVE, **({"cookie": cookie} if cookie else {}))
        assert (answer.body, cookie_of(answer)) == (b"A", None)
        assert "Cookie" not in (answer.header("vary") or "") and answer.header("cache-control") == "no-cache"


@pytest_twisted.ensureDeferred
async def test_a_deploy_ends_a_split(server):
    a = (await deployed(server, {"index.html": "A"}))["deployment_id"]
    b = (await deployed(server, {"index.html": "B"}, preview=True))["deployment_id"]
    assert (await api(server, "PUT", f"/api/sites/{SITE}/split", {"weights": [
        {"deployment_id": a, "weight": 1}, {"deployment_id": b, "weight": 1}]})).code == 200
    await deployed(server, {"index.html": "C"})
    for _ in range(5):
        answer = await server.get("/", LIVE, cookie=f"fazt_split={b}")
        assert (answer.body, cookie_of(answer)) == (b"C", None)
