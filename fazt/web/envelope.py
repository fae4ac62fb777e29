"""The JSON envelope of the admin API and the public routes: answers, errors, paging, JSON bodies."""

from __future__ import annotations

import json
import time
from typing import Any, Optional

from twisted.logger import Logger
from twisted.web.server import Request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from fazt.base.errors import ApiError, refuse_nul_within
from fazt.base.responses import json_body
from fazt.web.spec import LIMIT, OFFSET, query

_log = Logger()


def ok(request: Request, data: Any, status: int = 200, meta: Optional[dict] = None) -> bytes:
    request.setResponseCode(status)
    request.setHeader(b"content-type", b"application/json")
    payload = {"data": data}
    if meta is not None:
        payload["meta"] = meta
    return json_body(payload)


def fail(request: Request, error: ApiError) -> bytes:
    request.setResponseCode(error.status)
    request.setHeader(b"content-type", b"application/json")
    return json_body(error.envelope())


def page_args(request: Request) -> tuple[int, int]:
    """C{limit} and C{offset} from the query, checked against their declarations (L{LIMIT}, L{OFFSET})."""
    return query(request, LIMIT), query(request, OFFSET)


def json_object(request: Request) -> dict:
    """The request body as a JSON object; an empty body is C{{}}."""
    raw = request.content.read() if request.content is not None else b""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested too deeply
        raise ApiError(400, "INVALID_JSON", "request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise ApiError(400, "INVALID_JSON", "request body must be a JSON object")
    refuse_nul_within(value)  # no field of the admin API may hold U+0000 (fazt.store.text)
    return value


def iso(ts: float) -> str:
    """A timestamp as the API shows it: ISO 8601 in UTC."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _api_error(instance, request: Request, failure) -> bytes:
    return fail(request, failure.value)


def _wrong_method(instance, request: Request, failure) -> bytes:
    allowed = ", ".join(sorted(failure.value.valid_methods or []))
    request.setHeader(b"allow", allowed.encode("ascii"))
    return fail(request, ApiError(405, "METHOD_NOT_ALLOWED", f"use {allowed}"))


def _not_found(instance, request: Request, failure) -> bytes:
    return fail(request, ApiError(404, "NOT_FOUND", "no such API route"))


def _internal(instance, request: Request, failure) -> bytes:
    _log.failure("admin API {uri} failed", failure, uri=request.uri)
    return fail(request, ApiError(500, "INTERNAL_ERROR", "an unexpected error occurred"))


def _routing_error(instance, request: Request, failure) -> bytes:
    # Werkzeug answers some paths (e.g. with '//') by asking for a redirect; an API has no
    # canonical-URL redirects to offer, so any other routing outcome is "no such route".
    return fail(request, ApiError(404, "NOT_FOUND", "no such API route"))


def add_error_handlers(app) -> None:
    """Answer every failure of a Klein app in the envelope; never a traceback."""
    app.handle_errors(ApiError)(_api_error)
    app.handle_errors(MethodNotAllowed)(_wrong_method)
    app.handle_errors(NotFound)(_not_found)
    app.handle_errors(HTTPException)(_routing_error)
    app.handle_errors(Exception)(_internal)
