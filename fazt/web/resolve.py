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
