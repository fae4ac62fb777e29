"""GET /api/openapi.json: an OpenAPI 3.1 document that lists every route really mounted."""

from __future__ import annotations

import re

import pytest_twisted


def _mounted_routes(router) -> set[tuple[str, str]]:
    """(werkzeug rule, METHOD) of every Klein app on the router, collected without the module under test."""
    routes: set[tuple[str, str]] = set()
    resources = list(router._areas.values())
    while resources:
        resource = resources.pop()
        if resource is None:
            continue
        if hasattr(resource, "_app"):
            for rule in resource._app.url_map.iter_rules():
                routes.update((rule.rule, method) for method in rule.methods if method != "HEAD")
        else:
            resources.append(getattr(resource, "default", None))
            resources.extend(getattr(resource, "segments", {}).values())
    return routes


def _as_openapi(rule: str) -> str:
    return "/api" + re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)


@pytest_twisted.ensureDeferred
async def test_document_lists_every_mounted_route(server):
    response = await server.get("/api/openapi.json")
    assert response.code == 200
    assert response.header("content-type").startswith("application/json")
    document = response.json()
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"]
    paths = document["paths"]

    mounted = _mounted_routes(router_of(server))
    assert len(mounted) > 20
    for rule, method in mounted:
        path = _as_openapi(rule)
        assert path in paths, path
        assert method.lower() in paths[path], (path, method)
    for path in paths:
        assert "<" not in path and ">" not in path

    operation_ids = [op["operationId"] for item in paths.values() for op in item.values()]
    assert len(operation_ids) == len(set(operation_ids))
    for path, item in paths.items():
        for method, operation in item.items():
            assert operation["summary"]
            params = {p["name"] for p in operation["parameters"]}
            assert params == set(re.findall(r"{([^}]+)}", path))
            assert "$ref" in str(operation["responses"])



def router_of(server):
    """The live server's ApiRouter (the root resource's admin API)."""
    return server.listener.factory.resource.admin_api


@pytest_twisted.ensureDeferred
async def test_public_endpoints_and_security(server):
    paths = (await server.get("/api/openapi.json")).json()["paths"]
    for path, method in (("/track", "post"), ("/pixel.gif", "get"), ("/r/{slug}", "get"),
                         ("/webhook/{endpoint}", "post"), ("/health", "get")):
        assert paths[path][method]["security"] == []
    assert paths["/api/openapi.json"]["get"]["security"] == []
    assert paths["/api/sites"]["get"]["security"] == [{"bearer": []}, {"session": []}]
    assert paths["/api/sites/{name}"]["get"]["parameters"][0]["in"] == "path"


@pytest_twisted.ensureDeferred
async def test_wrong_method_is_405_envelope(server):
    response = await server.request("POST", "/api/openapi.json")
    assert response.code == 405
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
