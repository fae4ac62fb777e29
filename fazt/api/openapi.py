"""C{GET /api/openapi.json}: an OpenAPI 3.1 document generated from the routes really mounted.

Every Klein app reachable from the L{ApiRouter} (directly, or through the sites area's
C{default}/C{segments}) is walked; each werkzeug rule becomes a path under C{/api} with one
operation per method, described by the declaration on its handler (L{fazt.web.spec}):
parameters, body, success answer. The statuses every route of a kind can answer are added here.
The admin host's public endpoints (C{/track}, C{/pixel.gif}, C{/r/}, C{/webhook/}, C{/metrics})
are walked the same way; C{/health} is described by hand. Public: no auth.
"""

from __future__ import annotations

import re
from typing import Any, Iterator, Optional

from klein import Klein
from twisted.web.server import Request

from fazt.api.nonul import NO_NUL_SCHEMA, without_nul
from fazt.base.responses import json_body
from fazt.web.envelope import add_error_handlers
from fazt.web.spec import ID_SCHEMA, JSON, PAGE, SITE_SCHEMA, Param, Takes, declaration_of, takes

_PARAM = re.compile(r"<(?:([a-zA-Z_][a-zA-Z0-9_]*)(?:\([^)]*\))?:)?([a-zA-Z_][a-zA-Z0-9_]*)>")
# HEAD is implied by GET (werkzeug adds it); it is not documented separately.
_SKIPPED_METHODS = {"HEAD"}
_ERROR_REF = {"$ref": "#/components/schemas/Error"}
_DATA_REF = {"$ref": "#/components/schemas/Data"}
_PAGE_REF = {"$ref": "#/components/schemas/Page"}
SECURED = [{"bearer": []}, {"session": []}]
# Path parameters by name, when the handler does not declare them: ids are integers, sites names.
_PATH_SCHEMAS = {"key_id": ID_SCHEMA, "redirect_id": ID_SCHEMA, "webhook_id": ID_SCHEMA,
                 "name": SITE_SCHEMA, "site": SITE_SCHEMA}
_TEXT_SEGMENT = {"type": "string", "minLength": 1}
_DESCRIPTIONS = {
    200: "Success", 201: "Created", 204: "Done; no content", 302: "Redirect to the destination",
    400: "Invalid input (VALIDATION_FAILED, MISSING_FIELD, INVALID_JSON, BAD_REQUEST, INVALID_ZIP, INVALID_SCRIPT)",
    401: "Missing or invalid credentials", 403: "The credentials may not do this, or a CSRF check failed",
    404: "No such resource", 405: "Method not allowed (see Allow)", 409: "Conflict with the current state",
    413: "Body too large", 415: "Unsupported media type", 429: "Too many requests (see Retry-After)",
    500: "The operation failed on the server (e.g. a backup could not be made)",
    502: "A service this one relies on failed (e.g. the ACME CA refused an order)",
    504: "The operation goes on but outlasted the wait for it",
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again", "required": True,
                                "schema": {"type": "string", "pattern": "^[0-9]+$"}}}


def openapi_path(rule: str, prefix: str = "/api") -> str:
    """A werkzeug rule (C{/sites/<name>/files/<path:raw_path>}) as an API path (C{/api/sites/{name}/files/{raw_path}})."""
    return prefix + _PARAM.sub(lambda m: "{" + m.group(2) + "}", rule)


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


def app_routes(app: Klein) -> Iterator[tuple[str, str, str, Any]]:
    """(werkzeug rule, method, endpoint name, view function) for every route of C{app}."""
    # Klein keeps its views by endpoint name in _endpoints and offers no public accessor; the
    # declarations (fazt.web.spec) live on those views. Guarded: a missing view documents bare.
    endpoints = getattr(app, "_endpoints", {})
    for rule in app.url_map.iter_rules():
        view = endpoints.get(rule.endpoint)
        for method in sorted((rule.methods or {"GET"}) - _SKIPPED_METHODS):
            yield rule.rule, method, rule.endpoint, view


def api_routes(router) -> Iterator[tuple[str, str, str, Any]]:
    """(werkzeug rule, method, endpoint name, view function) for every route of every mounted Klein app."""
    for app in klein_apps(router):
        yield from app_routes(app)


def operation_id_of(method: str, path: str) -> str:
    """The operationId of C{METHOD path}: C{get_api_sites_name} for C{GET /api/sites/{name}} (links use it)."""
    return method.lower() + re.sub(r"[^a-zA-Z0-9]+", "_", path).rstrip("_")


def _summary(view, fallback: str) -> str:
    doc = (getattr(view, "__doc__", None) or "").strip()
    # Epytext markup (C{...}) reads as plain text in an API document.
    return re.sub(r"\b[CLI]\{([^{}]*)\}", r"\1", doc.splitlines()[0].strip()) if doc else fallback


def _path_params(rule: str, declared: Takes) -> list[dict]:
    typed = {p.name: p for p in declared.params if p.where == "path"}
    params = []
    for _converter, name in _PARAM.findall(rule):
        param = typed.get(name) or Param(name, _PATH_SCHEMAS.get(name, _TEXT_SEGMENT), where="path")
        params.append(param.openapi())
    return params


def _content(media: str, schema: Optional[dict]) -> dict:
    return {media: {"schema": schema}} if schema is not None else {media: {}}


def _responses(declared: Takes, statuses: set[int]) -> dict:
    if declared.answer_media == JSON:
        success_schema = declared.answer_schema or (_PAGE_REF if declared.paged else _DATA_REF)
    else:
        success_schema = declared.answer_schema or {"type": "string"}
    responses: dict[str, dict] = {}
    for status in sorted(statuses | {declared.status}):
        entry: dict[str, Any] = {"description": _DESCRIPTIONS.get(status, "Answer")}
        if status == declared.status:
            if status not in (204, 302):
                entry["content"] = _content(declared.answer_media, success_schema)
            if declared.headers:
                entry["headers"] = declared.headers
            if declared.links:
                entry["links"] = declared.links
        elif status >= 400:
            entry["content"] = _content(JSON, _ERROR_REF)
        if status == 429:
            entry["headers"] = _RETRY_AFTER
        responses[str(status)] = entry
    return responses


def operation(path: str, rule: str, method: str, operation_id: str, summary: str, declared: Takes,
              secured: bool, api: bool) -> dict:
    """One operation of the document, from its handler's declaration and what kind of route it is."""
    statuses = set(declared.errors) | {405}
    params = _path_params(rule, declared)
    queries = [p for p in declared.params if p.where == "query"] + (list(PAGE) if declared.paged else [])
    params += [p.openapi() for p in queries]
    if api:
        statuses |= {400, 429}  # 400: a path that is not UTF-8; 429: the front door's rate limit
    if secured:
        statuses |= {401, 403}
    if params and any(p["in"] == "path" for p in params):
        statuses.add(404)
    if queries:
        statuses.add(400)
    op: dict[str, Any] = {
        "operationId": operation_id,
        "summary": declared.summary or summary,
        "parameters": params,
        "security": SECURED if secured else [],
    }
    if declared.body is not None:
        # The admin API refuses U+0000 in JSON bodies; the public endpoints (track, webhooks) keep it as text.
        body = without_nul(declared.body) if api and declared.body_media == "application/json" else declared.body
        op["requestBody"] = {"required": declared.body_required, "content": _content(declared.body_media, body)}
        statuses |= {400, 413}
    op["responses"] = _responses(declared, statuses)
    return op


_COMPONENTS = {
    "securitySchemes": {
        "bearer": {"type": "http", "scheme": "bearer", "description": "An API key: Authorization: Bearer fzt_..."},
        "session": {"type": "apiKey", "in": "cookie", "name": "fazt_session",
                    "description": "The admin session cookie set by POST /api/login "
                                   "(named __Host-fazt_session under TLS). Writes with it also need "
                                   "Content-Type: application/json or an X-Fazt-CSRF header."},
    },
    "schemas": {
        "Error": {
            "type": "object", "required": ["error"], "additionalProperties": False,
            "properties": {"error": {
                "type": "object", "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {"type": "object"}},
            }},
        },
        "Data": {"type": "object", "required": ["data"], "additionalProperties": False, "properties": {"data": {}}},
        "NoNul": NO_NUL_SCHEMA,
        "Page": {
            "type": "object", "required": ["data", "meta"], "additionalProperties": False,
            "properties": {"data": {"type": "array"}, "meta": {
                "type": "object", "required": ["total", "limit", "offset"], "additionalProperties": False,
                "properties": {"total": {"type": "integer", "minimum": 0}, "limit": {"type": "integer", "minimum": 1},
                               "offset": {"type": "integer", "minimum": 0}},
            }},
        },
    },
}

# /health answers on every host (fazt.web.root), outside any Klein app.
HEALTH = Takes(answer_media="text/plain", summary="Liveness check: 200 OK on every host.")
# Routes of the API itself that need no credentials.
_PUBLIC_API = {("/api/login", "POST"), ("/api/openapi.json", "GET")}


def build_document(router, public_apps: tuple = (), version: str = "0") -> dict:
    """The OpenAPI 3.1 document for everything mounted on C{router} plus the admin host's public
    endpoints (the Klein apps in C{public_apps}, served without the C{/api} prefix)."""
    paths: dict[str, dict] = {}
    routes = [(openapi_path(rule), rule, method, endpoint, view, True)
              for rule, method, endpoint, view in api_routes(router)]
    for app in public_apps:
        routes += [(openapi_path(rule, ""), rule, method, endpoint, view, False)
                   for rule, method, endpoint, view in app_routes(app)]
    routes.append(("/health", "/health", "GET", "health", None, False))
    for path, rule, method, endpoint, view, api in sorted(routes, key=lambda r: (r[0], r[2])):
        declared = HEALTH if path == "/health" else declaration_of(view)
        if not declared.documented:
            continue
        operation_id = operation_id_of(method, path)
        secured = (api and (path, method) not in _PUBLIC_API) if declared.secured is None else declared.secured
        paths.setdefault(path, {})[method.lower()] = operation(
            path, rule, method, operation_id, _summary(view, f"{method} {path}"), declared, secured, api)
    return {
        "openapi": "3.1.0",
        "info": {"title": "fazt admin API", "version": version},
        "paths": paths,
        "components": _COMPONENTS,
    }


class OpenApiDocument:
    """Serves the document, built on first request (once every area is mounted)."""

    app = Klein()
    paths = ('openapi.json',)  # served under /api/PATH

    def __init__(self, router, public_apps: tuple = ()) -> None:
        self.router = router
        self.public_apps = public_apps
        self._document = None

    @app.route("/openapi.json", methods=["GET"])
    @takes(answer_schema={"type": "object", "required": ["openapi", "info", "paths"]})
    def document(self, request: Request):
        """The OpenAPI 3.1 document of this API."""
        if self._document is None:
            import fazt

            self._document = build_document(self.router, self.public_apps, getattr(fazt, "__version__", "0"))
        return _raw_json(request, self._document)


def _raw_json(request: Request, document: dict) -> bytes:
    # The document itself is the body (tools expect it unwrapped), not {"data": ...}.
    request.setHeader(b"content-type", b"application/json")
    return json_body(document)


add_error_handlers(OpenApiDocument.app)
