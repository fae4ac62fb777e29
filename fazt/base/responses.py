"""Small helpers for finishing twisted.web requests, shared by every part of the web layer."""

from __future__ import annotations

import json
from typing import Any, Callable

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.web.server import NOT_DONE_YET, Request

_log = Logger()

ERROR_PAGE = (
    "<!doctype html><html><head><meta charset=utf-8><title>{status} {title}</title>"
    "<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;color:#333}}"
    "h1{{font-size:1.6em}}</style></head><body><h1>{status} {title}</h1><p>{text}</p></body></html>"
)


def html_page(status: int, title: str, text: str) -> bytes:
    """A minimal, self-contained HTML page for errors (C{text} must already be safe HTML)."""
    return ERROR_PAGE.format(status=status, title=title, text=text).encode("utf-8")


def plain_text_get(request: Request) -> bool:
    """Prepare an uncached plain-text answer that only GET and HEAD may have.

    Any other method is answered 405 with C{Allow}; returns whether the method was allowed
    (if not, the caller returns L{METHOD_NOT_ALLOWED} as the body).
    """
    request.setHeader(b"content-type", b"text/plain; charset=utf-8")
    request.setHeader(b"cache-control", b"no-store")
    if request.method in (b"GET", b"HEAD"):
        return True
    request.setResponseCode(405)
    request.setHeader(b"allow", b"GET, HEAD")
    return False


METHOD_NOT_ALLOWED = b"Method Not Allowed"


def json_body(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def merge_headers(request: Request, prepared: dict[bytes, list[bytes]]) -> None:
    """Add headers prepared by a L{Headers} object (canonical names, encoded values).

    Copying the already-validated dict skips re-validating every header of every response,
    the largest cost of serving a small cached file; the value lists are shared and must not
    be appended to.
    """
    raw = getattr(request.responseHeaders, "_rawHeaders", None)
    if raw is None:
        for name, values in prepared.items():
            request.responseHeaders.setRawHeaders(name, values)
    else:
        raw.update(prepared)


def track_disconnect(request: Request) -> None:
    """Mark the request when its client goes away, so late writers can skip it."""
    if getattr(request, "_fazt_gone", None) is None:
        request._fazt_gone = False

        def gone(_):
            request._fazt_gone = True

        request.notifyFinish().addErrback(gone)


def finish_later(request: Request, result: Deferred, on_error: Callable[[Request], bytes]) -> Any:
    """Finish C{request} with the bytes C{result} fires with; returns C{NOT_DONE_YET}.

    A failure is logged and answered with C{on_error(request)}; a client that has gone away is
    not written to.
    """
    track_disconnect(request)

    def write(body: bytes | int) -> None:
        if body is NOT_DONE_YET or request._fazt_gone or request.finished:
            return
        if request.method != b"HEAD":
            request.setHeader(b"content-length", b"%d" % len(body))
            request.write(body)
        else:
            if request.responseHeaders.getRawHeaders(b"content-length") is None:
                request.setHeader(b"content-length", b"%d" % len(body))
        request.finish()

    def failed(failure) -> None:
        _log.failure("request {uri} failed", failure, uri=request.uri)
        if request._fazt_gone or request.finished:
            return
        write(on_error(request))

    result.addCallback(write).addErrback(failed)
    return NOT_DONE_YET


def internal_error_page(request: Request) -> bytes:
    request.setResponseCode(500)
    request.setHeader(b"content-type", b"text/html; charset=utf-8")
    return html_page(500, "Internal Server Error", "Something went wrong on this server.")


def is_event_stream(request: Any) -> bool:
    """Whether C{request} is answering with Server-Sent Events (live logs): such an answer never ends."""
    headers = getattr(request, "responseHeaders", None)
    types = headers.getRawHeaders(b"content-type") if headers is not None else None
    return bool(types) and types[0].startswith(b"text/event-stream")
