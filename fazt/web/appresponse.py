"""Turning a run's result into the HTTP response (SPEC §7 for a root C{main.js}, §14 for functions).

Pure over a twisted.web request: sets the status and headers, returns the body bytes.
"""

from __future__ import annotations

import base64
import binascii
import json
import re

from twisted.web.server import Request

from fazt.base.responses import html_page
from fazt.runtime.pool import RunResult

# Framing and hop-by-hop headers are the server's business, never the script's.
_RESERVED_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive", "upgrade",
                               "te", "trailer", "proxy-connection", "date", "server"})
_UNSAFE = re.compile("[\r\n\x00]")
_FAILURE_STATUS = {"busy": 503}
_FAILURE_TEXT = {
    "timeout": "The app took too long to answer.",
    "memory": "The app ran out of memory.",
    "busy": "The app is too busy right now; try again shortly.",
}
# What a function's caller reads in the JSON error body (an API client parses JSON, not a page).
_FUNCTION_CODES = {"timeout": "FUNCTION_TIMEOUT", "memory": "FUNCTION_OUT_OF_MEMORY", "busy": "FUNCTION_BUSY"}
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def respond_script(result: RunResult, request: Request) -> bytes:
    """A root C{main.js}'s answer, exactly as part one wrote it (failures are short HTML pages)."""
    if result.failure is not None:
        status = _FAILURE_STATUS.get(result.failure, 500)
        return page(request, status, "App Error", _FAILURE_TEXT.get(result.failure, "The app failed to answer."))
    return _apply(request, result.response or {}, lambda: page(request, 500, "App Error",
                                                                "The app answered with an invalid status."))


def respond_function(result: RunResult, request: Request) -> bytes:
    """A function module's answer; its failures are JSON errors, 405 with C{Allow} for a method
    the module does not export (HEAD is allowed wherever GET is: it runs GET without the body)."""
    if result.failure == "method":
        allow = [m for m in _METHODS if m in allowed_methods(getattr(result, "allow", None) or [])]
        request.setHeader(b"allow", ", ".join(allow).encode("ascii"))
        method = request.method.decode("latin-1")
        return json_error(request, 405, "METHOD_NOT_ALLOWED",
                          f"{method} is not allowed here; allowed: {', '.join(allow) or 'none'}")
    if result.failure is not None:
        status = _FAILURE_STATUS.get(result.failure, 500)
        return json_error(request, status, _FUNCTION_CODES.get(result.failure, "FUNCTION_FAILED"),
                          _FAILURE_TEXT.get(result.failure, "The function failed to answer."))
    return _apply(request, result.response or {}, lambda: json_error(
        request, 500, "FUNCTION_FAILED", "The function answered with an invalid status."))


def allowed_methods(exported: list) -> set[str]:
    """The methods a module answers: what it exports, plus HEAD wherever GET is."""
    allowed = {str(m).upper() for m in exported}
    if "GET" in allowed:
        allowed.add("HEAD")
    return allowed


def _apply(request: Request, response: dict, invalid) -> bytes:
    status = response.get("status", 200)
    if not isinstance(status, int) or isinstance(status, bool) or not 200 <= status <= 599:
        return invalid()
    body = response.get("body") or ""
    if response.get("body_base64"):
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError, TypeError):
            return invalid()
    else:
        data = body.encode("utf-8") if isinstance(body, str) else str(body).encode("utf-8")
    request.setResponseCode(status)
    has_type = False
    for pair in response.get("headers") or []:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            continue
        name, value = str(pair[0]), str(pair[1])
        lowered = name.lower()
        if lowered in _RESERVED_HEADERS or not name or _UNSAFE.search(name) or _UNSAFE.search(value):
            continue
        has_type = has_type or lowered == "content-type"
        request.responseHeaders.addRawHeader(name.encode("latin-1", "replace"), value.encode("latin-1", "replace"))
    if not has_type:
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
    request.setHeader(b"x-content-type-options", b"nosniff")
    return data


def page(request: Request, status: int, title: str, text: str) -> bytes:
    """A short HTML page with C{status}."""
    request.setResponseCode(status)
    request.setHeader(b"content-type", b"text/html; charset=utf-8")
    return html_page(status, title, text)


def json_error(request: Request, status: int, code: str, message: str) -> bytes:
    """C{{"error": {"code", "message"}}} with C{status}: the shape fazt's own API answers with."""
    request.setResponseCode(status)
    request.setHeader(b"content-type", b"application/json")
    request.setHeader(b"x-content-type-options", b"nosniff")
    return json.dumps({"error": {"code": code, "message": message}}).encode("utf-8")
