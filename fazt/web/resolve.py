"""Which stored file a request path means (pure).

Clean URLs as static hosts do them: C{/} and directories serve C{index.html}; C{/about}
serves C{about}, C{about.html} or C{about/index.html}, in that order.
"""

from __future__ import annotations

import posixpath
from typing import Mapping, Optional
from urllib.parse import unquote_to_bytes


def clean_request_path(raw: bytes) -> Optional[str]:
    """The decoded, normalised path of a request URI path, always starting with C{/}.

    A trailing slash is kept (it means "a directory"). C{..} never climbs above the root.
    None for paths no file can have (invalid UTF-8, NUL, control characters).
    """
    try:
        decoded = unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(ord(c) < 0x20 or c == "\x7f" for c in decoded):
        return None
    trailing = decoded.endswith("/")
    path = posixpath.normpath("/" + decoded.lstrip("/"))
    if path.startswith("//"):
        path = "/" + path.lstrip("/")
    if trailing and path != "/":
        path += "/"
    return path


def resolve_file(files: Mapping[str, object], path: str) -> Optional[str]:
    """The manifest key serving C{path}, or None."""
    key = path.lstrip("/")
    if key == "" or key.endswith("/"):
        candidates = [key + "index.html"]
    else:
        candidates = [key, key + ".html", key + "/index.html"]
    for candidate in candidates:
        if candidate in files:
            return candidate
    return None


def route_path(raw: bytes) -> Optional[str]:
    """A request URI path as function routes match it: still percent-encoded (the routes decode
    each parameter once), dot segments resolved, no trailing slash. None for control characters."""
    text = raw.decode("latin-1")
    if any(ord(c) < 0x20 or c == "\x7f" for c in text):
        return None
    path = posixpath.normpath("/" + text.lstrip("/"))
    return "/" + path.lstrip("/")


def is_api_path(path: str) -> bool:
    """C{/api} or below it: where function routes live (SPEC §14)."""
    return path == "/api" or path.startswith("/api/")
