"""The C{req} object a site's code sees (SPEC §7, §14; PROTOCOL.md C{run}), built from a raw HTTP request.

Pure: the app renderer builds it from a live request, the cron service from a scheduled one.
"""

from __future__ import annotations

import base64
import re
from typing import Iterable, Mapping, Optional
from urllib.parse import parse_qsl, unquote

# A Host header usable in an absolute URL (a name or an address, an optional port); anything else
# would make the script's C{new Request(url)} throw, so the bare host is used instead.
_AUTHORITY = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")


def script_request(method: bytes, uri: bytes, headers: Iterable[tuple[bytes, list[bytes]]], body: bytes,
                   ip: str, host: str, *, scheme: str = "http",
                   route_params: Optional[Mapping[str, str]] = None) -> dict:
    """The C{req} object a script sees, built from the raw request (pure).

    C{scheme} is the one the client used (C{"https"} behind a TLS listener or a trusted proxy that
    says so); C{url} is absolute, with the C{Host} header's host and port. A body that is valid
    UTF-8 travels as text; any other goes as base64 (C{body_base64}), so binary uploads reach a
    function byte-exact. C{route_params} are a function route's C{[param]}s (PROTOCOL.md C{route}).
    """
    target = uri.decode("latin-1")
    if not target.startswith("/"):  # absolute-form (what clients send to proxies): keep path and query
        rest = target.partition("://")[2]
        target = "/" + rest.partition("/")[2] if rest else "/"
    path, _, query = target.partition("?")
    lowered: dict[str, str] = {}
    for name, values in headers:
        key = name.decode("latin-1").lower()
        text = ", ".join(v.decode("latin-1") for v in values)
        lowered[key] = f"{lowered[key]}, {text}" if key in lowered else text
    params: dict[str, str] = {}
    if query:
        for key, value in parse_qsl(query, keep_blank_values=True):
            params.setdefault(key, value)
    cookies: dict[str, str] = {}
    if "cookie" in lowered:
        for pair in lowered["cookie"].split(";"):
            name, sep, value = pair.strip().partition("=")
            if sep and name:
                cookies.setdefault(name, value)
    try:
        text, is_base64 = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, is_base64 = base64.b64encode(body).decode("ascii"), True
    authority = lowered.get("host", "")
    if not _AUTHORITY.match(authority):
        authority = host if _AUTHORITY.match(host or "") else "localhost"
    return {
        "method": method.decode("latin-1").upper(),
        "url": f"{scheme}://{authority}{target}",
        "path": unquote(path) if "%" in path else path,
        "query": query,
        "params": params,
        "headers": lowered,
        "body": text,
        "body_base64": is_base64,
        "ip": ip,
        "host": host,
        "cookies": cookies,
        "route": {"params": dict(route_params or {})},
    }
