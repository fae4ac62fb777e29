"""HTTP/1.1 message framing rules that fazt enforces before a request reaches a resource.

Pure functions over bytes (RFC 9110, RFC 9112): the forms of a request target, the syntax and
count of C{Host} headers, and the small complete answers (in the JSON error envelope) the connection writes itself when it
refuses a request before Twisted's L{Request} machinery runs (400, 408, 413, 414, 431, ...).
L{fazt.web.channel.FaztChannel} applies them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Optional

from twisted.web.http import RESPONSES

from fazt.base.errors import ApiError

KIB = 1024
MIB = 1024 * KIB

# uri-host [ ":" port ] (RFC 9110 §7.2): a reg-name or IPv4 address, or an IP literal in brackets.
# An empty value is allowed: a client sends one when the target URI has no authority.
_HOST = re.compile(rb"(?:[A-Za-z0-9\-._~!$&'()*+,;=%]*|\[[0-9A-Fa-f:.vV]+\])(?::[0-9]*)?")
_SCHEMES = (b"http", b"https")
# Twisted's table of reason phrases lacks 431 (RFC 6585).
_REASONS = {**RESPONSES, 431: b"Request Header Fields Too Large"}

class FramingError(ApiError):
    """A request refused before it is dispatched; answered in the JSON error envelope."""


CODES = {400: "BAD_REQUEST", 405: "METHOD_NOT_ALLOWED", 408: "REQUEST_TIMEOUT", 414: "URI_TOO_LONG",
         431: "HEADERS_TOO_LARGE"}


# The reasons of fazt_http_refused_total (/metrics), by the status of the refusal.
REFUSAL_REASONS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 405: "method_not_allowed",
                   408: "timeout", 413: "too_large", 414: "uri_too_long", 431: "headers_too_large"}
OTHER_REASON = "other"


class RefusalCounter:
    """Requests refused by the connection itself, before any resource (or FaztSite.log) sees them.

    By reason (L{REFUSAL_REASONS}, else C{other}); every reason starts at 0, so that each series
    exists from the start.
    """

    def __init__(self) -> None:
        self.counts: dict[str, int] = dict.fromkeys([*REFUSAL_REASONS.values(), OTHER_REASON], 0)

    def count(self, status: int) -> None:
        """Note one refusal answered with C{status}."""
        reason = REFUSAL_REASONS.get(status, OTHER_REASON)
        self.counts[reason] += 1


def refusal(status: int, message: str) -> FramingError:
    """The error for a request refused by the connection itself (C{status} one of L{CODES})."""
    return FramingError(status, CODES[status], message)


@dataclass(frozen=True)
class ChannelLimits:
    """The per-connection limits of SPEC §18 (every one a C{twistd fazt} option)."""

    header_timeout: float = 10.0       # the request line and headers must arrive within this
    idle_timeout: float = 60.0         # an idle keep-alive connection is closed after this
    max_request_line: int = 8 * KIB    # longer: 414
    max_header_bytes: int = 64 * KIB   # all header lines together; more: 431
    max_header_lines: int = 100        # more: 431
    drain_seconds: float = 5.0         # after a refusal, read and discard the body this long at most
    drain_bytes: int = 64 * MIB        # ... and this much at most


def parse_target(method: bytes, target: bytes) -> tuple[bytes, Optional[bytes]]:
    """The origin-form target to dispatch, and the authority an absolute-form target named.

    RFC 9112 §3.2: origin-form (C{/path?query}) is dispatched as is; absolute-form
    (C{http://host/path}) is dispatched as its path on its host, which wins over C{Host};
    asterisk-form (C{*}) only for OPTIONS and authority-form only for CONNECT, which fazt,
    not being a proxy, refuses with 405. Anything else is a 400.
    """
    if method == b"CONNECT":
        raise refusal(405, "CONNECT is not supported: this server is not a proxy")
    if target.startswith(b"/"):
        return target, None
    if target == b"*":
        if method != b"OPTIONS":
            raise refusal(400, "the asterisk-form target is only for OPTIONS")
        return target, None
    scheme, sep, rest = target.partition(b"://")
    if not sep or scheme.lower() not in _SCHEMES:
        raise refusal(400, "the request target must be a path or an http(s) URL")
    end = len(rest)
    for mark in (b"/", b"?", b"#"):
        found = rest.find(mark)
        if found != -1:
            end = min(end, found)
    authority, path = rest[:end], rest[end:].split(b"#", 1)[0]
    if b"@" in authority or not authority or not valid_host(authority):
        raise refusal(400, "the request target's authority is not a valid host")
    if not path.startswith(b"/"):
        path = b"/" + path
    return path, authority


def valid_host(value: bytes) -> bool:
    """Whether C{value} is a syntactically valid C{Host} field value."""
    return _HOST.fullmatch(value) is not None


def check_host_headers(values: Optional[list[bytes]], version: bytes) -> None:
    """Refuse (400) two or more C{Host} lines, a bad value, or none at all on HTTP/1.1 (RFC 9112 §3.2)."""
    if not values:
        if version == b"HTTP/1.1":
            raise refusal(400, "an HTTP/1.1 request needs a Host header")
        return
    if len(values) > 1:
        raise refusal(400, "a request may carry only one Host header")
    if not valid_host(values[0]):
        raise refusal(400, "the Host header is not a valid host")


def simple_response(status: int, body: bytes, content_type: bytes = b"text/plain; charset=utf-8",
                    extra: tuple[tuple[bytes, bytes], ...] = ()) -> bytes:
    """A complete HTTP/1.1 answer that ends the connection (C{Connection: close})."""
    lines = [b"HTTP/1.1 %d %s" % (status, _REASONS.get(status, b"Error")),
             b"Content-Type: " + content_type,
             b"Content-Length: %d" % len(body),
             b"Connection: close",
             b"X-Content-Type-Options: nosniff"]
    lines += [name + b": " + value for name, value in extra]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def envelope_response(error: ApiError) -> bytes:
    """An admin API refusal in the JSON error envelope, never stored by a cache (as every admin API answer)."""
    body = json.dumps(error.envelope()).encode("utf-8")
    return simple_response(error.status, body, b"application/json", ((b"Cache-Control", b"no-store"),))
