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
    # ... and vice versa: every /api operation documented is one the router mounts.
    documented = {(path, method.upper()) for path, item in paths.items() if path.startswith("/api/")
                  for method in item}
    assert documented == {(_as_openapi(rule), method) for rule, method in mounted}
    for path in paths:
        assert "<" not in path and ">" not in path

    operation_ids = [op["operationId"] for item in paths.values() for op in item.values()]
    assert len(operation_ids) == len(set(operation_ids))
    for path, item in paths.items():
        for method, operation in item.items():
            assert operation["summary"]
            params = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
            assert params == set(re.findall(r"{([^}]+)}", path))
            assert "$ref" in str(operation["responses"])



def router_of(server):
    """The live server's ApiRouter (the root resource's admin API)."""
    return server.listener.factory.resource.admin_api


@pytest_twisted.ensureDeferred
async def test_public_endpoints_and_security(server):
    paths = (await server.get("/api/openapi.json")).json()["paths"]
    for path, method in (("/track", "post"), ("/pixel.gif", "get"), ("/r/{slug}", "get"),
                         ("/webhook/{receiver}", "post"), ("/health", "get")):
        assert paths[path][method]["security"] == []
    assert paths["/api/openapi.json"]["get"]["security"] == []
    assert paths["/api/sites"]["get"]["security"] == [{"bearer": []}, {"session": []}]
    assert paths["/api/sites/{name}"]["get"]["parameters"][0]["in"] == "path"


@pytest_twisted.ensureDeferred
async def test_wrong_method_is_405_envelope(server):
    response = await server.request("POST", "/api/openapi.json")
    assert response.code == 405
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


async def _document(server) -> dict:
    return (await server.get("/api/openapi.json")).json()


def _operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method.upper(), operation


@pytest_twisted.ensureDeferred
async def test_parameters_are_typed_with_their_bounds(server):
    paths = (await _document(server))["paths"]
    for path, name in (("/api/keys/{key_id}", "key_id"), ("/api/redirects/{redirect_id}", "redirect_id"),
                       ("/api/webhooks/{webhook_id}", "webhook_id")):
        for operation in paths[path].values():
            (param,) = [p for p in operation["parameters"] if p["name"] == name]
            assert param["schema"]["type"] == "integer" and param["schema"]["minimum"] == 0, (path, param)
    limit = {p["name"]: p for p in paths["/api/sites"]["get"]["parameters"]}["limit"]
    assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}
    logs = {p["name"]: p for p in paths["/api/logs"]["get"]["parameters"]}
    assert logs["site_id"]["required"] is True and logs["level"]["schema"]["enum"]
    assert {p["name"]: p for p in paths["/api/envvars"]["delete"]["parameters"]}["id"]["required"] is True


@pytest_twisted.ensureDeferred
async def test_bodies_have_their_required_fields_and_media_types(server):
    paths = (await _document(server))["paths"]
    deploy = paths["/api/deploy"]["post"]["requestBody"]
    assert deploy["required"] is True
    form = deploy["content"]["multipart/form-data"]["schema"]
    assert set(form["required"]) == {"site_name", "file"}
    for path, method, required in (("/api/login", "post", {"username", "password"}), ("/api/keys", "post", {"name"}),
                                   ("/api/redirects", "post", {"slug", "destination"}),
                                   ("/api/webhooks", "post", {"name", "endpoint"}),
                                   ("/api/envvars", "post", {"site_id", "name", "value"})):
        schema = paths[path][method]["requestBody"]["content"]["application/json"]["schema"]
        assert set(schema["required"]) == required, path


@pytest_twisted.ensureDeferred
async def test_answers_are_documented_with_their_statuses_and_media_types(server):
    document = await _document(server)
    paths = document["paths"]
    assert set(paths["/health"]["get"]["responses"]["200"]["content"]) == {"text/plain"}
    assert set(paths["/pixel.gif"]["get"]["responses"]["200"]["content"]) == {"image/gif"}
    assert set(paths["/api/system/backup"]["post"]["responses"]["200"]["content"]) == {"application/vnd.sqlite3"}
    assert set(paths["/metrics"]["get"]["responses"]["200"]["content"]) == {"text/plain"}
    assert "204" in paths["/track"]["post"]["responses"] and "204" in paths["/track"]["options"]["responses"]
    assert "415" in paths["/api/deploy"]["post"]["responses"]
    assert "201" in paths["/api/keys"]["post"]["responses"] and "409" in paths["/api/redirects"]["post"]["responses"]
    assert "302" in paths["/r/{slug}"]["get"]["responses"]
    for path, method, operation in _operations(document):
        responses = operation["responses"]
        assert "405" in responses, (path, method)
        if path.startswith("/api/"):
            assert {"400", "429"} <= set(responses), (path, method)
            assert "Retry-After" in responses["429"]["headers"]
        if operation["security"]:
            assert {"401", "403"} <= set(responses), (path, method)
        if "requestBody" in operation:
            assert "413" in responses, (path, method)
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"]["scheme"] == "bearer" and schemes["session"]["in"] == "cookie"


@pytest_twisted.ensureDeferred
async def test_paged_operations_are_the_ones_the_paging_test_covers(server):
    from test_api_contract import LIST_ROUTES

    document = await _document(server)
    paged = {path for path, method, operation in _operations(document)
             if any(p["name"] == "limit" for p in operation["parameters"])}
    covered = {re.sub(r"/blog(/|$)", lambda m: "/{name}" + m.group(1), route.split("?")[0]) for route in LIST_ROUTES}
    assert {path.replace("{site}", "{name}") for path in paged} == covered
