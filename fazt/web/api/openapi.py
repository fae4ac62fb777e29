"""C{GET /api/openapi.json}: an OpenAPI 3.1 document generated from the routes really mounted.

Every Klein app reachable from the L{ApiRouter} (directly, or through the sites area's
C{default}/C{segments}) is walked; each werkzeug rule becomes a path under C{/api} with one
operation per method. The admin host's public endpoints are listed by hand. Public: no auth.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from klein import Klein
from twisted.web.server import Request

from fazt.web.api.common import add_error_handlers
from fazt.web.responses import json_body

_PARAM = re.compile(r"<(?:[a-zA-Z_][a-zA-Z0-9_]*(?:\([^)]*\))?:)?([a-zA-Z_][a-zA-Z0-9_]*)>")
# HEAD is implied by GET (werkzeug adds it); it is not documented separately.
_SKIPPED_METHODS = {"HEAD"}
_ERROR_REF = {"$ref": "#/components/schemas/Error"}
_DATA_REF = {"$ref": "#/components/schemas/Data"}

# (path, method, operationId, summary) of the admin host's public endpoints; none needs auth.
PUBLIC_ENDPOINTS = (
    ("/track", "POST", "track_event", "Record an analytics event sent by a hosted page."),
    ("/track", "OPTIONS", "track_preflight", "CORS preflight for /track."),
    ("/pixel.gif", "GET", "tracking_pixel", "Record an event and answer a 1x1 GIF."),
    ("/r/{slug}", "GET", "follow_redirect", "Count a click and redirect to the slug's destination."),
    ("/webhook/{endpoint}", "POST", "receive_webhook", "Receive an inbound webhook (HMAC-verified if configured)."),
    ("/health", "GET", "health", "Liveness check."),
)


def openapi_path(rule: str) -> str:
    """A werkzeug rule (C{/sites/<name>/files/<path:raw_path>}) as an API path (C{/api/sites/{name}/files/{raw_path}})."""
    return "/api" + _PARAM.sub(lambda m: "{" + m.group(1) + "}", rule)


def klein_apps(router) -> Iterator[Klein]:
    """Every distinct Klein app mounted on C{router}, including those behind the sites area."""
    seen: set[int] = set()
    pending = list(router.areas().values())
    while pending:
        resource = pending.pop(0)
        if resource is None:
            continue
        app = getattr(resource, "_app", None)
        if app is not None:
            if id(app.url_map) not in seen:
                seen.add(id(app.url_map))
                yield app
            continue
        pending.append(getattr(resource, "default", None))
        pending.extend(getattr(resource, "segments", {}).values())


def api_routes(router) -> Iterator[tuple[str, str, Any]]:
    """(werkzeug rule, method, endpoint name, view function) for every route of every mounted Klein app."""
    for app in klein_apps(router):
        for rule in app.url_map.iter_rules():
            view = app._endpoints.get(rule.endpoint)
            for method in sorted((rule.methods or {"GET"}) - _SKIPPED_METHODS):
                yield rule.rule, method, rule.endpoint, view


def _summary(view, fallback: str) -> str:
    doc = (getattr(view, "__doc__", None) or "").strip()
    # Epytext markup (C{...}) reads as plain text in an API document.
    return re.sub(r"\b[CLI]\{([^{}]*)\}", r"\1", doc.splitlines()[0].strip()) if doc else fallback


def _responses(secured: bool) -> dict:
    def envelope(description: str, ref: dict) -> dict:
        return {"description": description, "content": {"application/json": {"schema": ref}}}

    responses = {
        "200": envelope("Success", _DATA_REF),
        "400": envelope("Invalid input", _ERROR_REF),
        "404": envelope("Not found", _ERROR_REF),
        "405": envelope("Method not allowed", _ERROR_REF),
        "413": envelope("Body too large", _ERROR_REF),
    }
    if secured:
        responses["401"] = envelope("Missing or invalid credentials", _ERROR_REF)
        responses["403"] = envelope("Insufficient scope or CSRF failure", _ERROR_REF)
    return responses


def _operation(path: str, method: str, operation_id: str, summary: str, secured: bool) -> dict:
    operation = {
        "operationId": operation_id,
        "summary": summary,
        "parameters": [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                       for name in re.findall(r"{([^}]+)}", path)],
        "responses": _responses(secured),
        "security": [{"bearer": []}, {"session": []}] if secured else [],
    }
    if method in ("POST", "PUT", "PATCH"):
        operation["requestBody"] = {"required": False, "content": {"application/json": {"schema": {"type": "object"}}}}
    return operation


_COMPONENTS = {
    "securitySchemes": {
        "bearer": {"type": "http", "scheme": "bearer", "description": "An API key: Authorization: Bearer fzt_..."},
        "session": {"type": "apiKey", "in": "cookie", "name": "fazt_session",
                    "description": "The admin session cookie set by POST /api/login "
                                   "(named __Host-fazt_session under TLS)."},
    },
    "schemas": {
        "Error": {
            "type": "object", "required": ["error"], "additionalProperties": False,
            "properties": {"error": {
                "type": "object", "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {}},
            }},
        },
        "Data": {
            "type": "object", "required": ["data"],
            "properties": {"data": {}, "meta": {
                "type": "object",
                "properties": {"total": {"type": "integer"}, "limit": {"type": "integer"},
                               "offset": {"type": "integer"}},
            }},
        },
    },
}

# Routes of the API itself that need no credentials.
_PUBLIC_API = {("/api/login", "POST"), ("/api/openapi.json", "GET")}


def build_document(router, version: str = "0") -> dict:
    """The OpenAPI 3.1 document for everything mounted on C{router} plus the public endpoints."""
    paths: dict[str, dict] = {}
    used_ids: set[str] = set()

    def add(path: str, method: str, operation_id: str, summary: str, secured: bool) -> None:
        if operation_id in used_ids:
            operation_id = method.lower() + re.sub(r"[^a-zA-Z0-9]+", "_", path).rstrip("_")
        used_ids.add(operation_id)
        paths.setdefault(path, {})[method.lower()] = _operation(path, method, operation_id, summary, secured)

    for rule, method, endpoint, view in sorted(api_routes(router), key=lambda r: (r[0], r[1])):
        path = openapi_path(rule)
        add(path, method, endpoint, _summary(view, f"{method} {path}"), (path, method) not in _PUBLIC_API)
    for path, method, operation_id, summary in PUBLIC_ENDPOINTS:
        add(path, method, operation_id, summary, False)
    return {
        "openapi": "3.1.0",
        "info": {"title": "fazt admin API", "version": version},
        "paths": paths,
        "components": _COMPONENTS,
    }


class OpenApiDocument:
    """Serves the document, built on first request (once every area is mounted)."""

    app = Klein()

    def __init__(self, router) -> None:
        self.router = router
        self._document = None

    @app.route("/openapi.json", methods=["GET"])
    def document(self, request: Request):
        """The OpenAPI 3.1 document of this API."""
        if self._document is None:
            import fazt

            self._document = build_document(self.router, getattr(fazt, "__version__", "0"))
        return _raw_json(request, self._document)


def _raw_json(request: Request, document: dict) -> bytes:
    # The document itself is the body (tools expect it unwrapped), not {"data": ...}.
    request.setHeader(b"content-type", b"application/json")
    return json_body(document)


add_error_handlers(OpenApiDocument.app)


def mount(services) -> None:
    """Serve C{GET /api/openapi.json} (no auth: it documents the API, not data)."""
    services.api.mount("openapi.json", OpenApiDocument(services.api).app.resource())
