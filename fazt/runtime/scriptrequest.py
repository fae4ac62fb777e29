"""The C{req} object a site's script sees (SPEC §7), built from a raw HTTP request.

Pure: the app renderer builds it from a live request, the cron service from a scheduled one.
"""

from __future__ import annotations

from typing import Iterable
from urllib.parse import parse_qsl, unquote


def script_request(method: bytes, uri: bytes, headers: Iterable[tuple[bytes, list[bytes]]], body: bytes,
                   ip: str, host: str) -> dict:
    """The C{req} object a script sees, built from the raw request (pure)."""
    path, _, query = uri.decode("latin-1").partition("?")
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
    return {
        "method": method.decode("latin-1").upper(),
        "path": unquote(path) if "%" in path else path,
        "query": query,
        "params": params,
        "headers": lowered,
        "body": body.decode("utf-8", "replace"),
        "ip": ip,
        "host": host,
        "cookies": cookies,
    }
