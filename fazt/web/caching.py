"""Cache policy and content-coding negotiation for static files.

* :func:`is_fingerprinted` recognises build-tool hashed names
  (``app.3f9a1c2b.js``, ``index-3f9a1c2b.css``, ``/static/3f9a1c2b9d/x.png``).
* :func:`cache_control_for` picks the Cache-Control policy of SPEC §5.
* :func:`choose_encoding` negotiates ``br``/``gzip`` from Accept-Encoding.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "CACHE_HTML",
    "CACHE_IMMUTABLE",
    "CACHE_SHORT",
    "cache_control_for",
    "choose_encoding",
    "is_fingerprinted",
]

CACHE_HTML = "no-cache"
CACHE_IMMUTABLE = "public, max-age=31536000, immutable"
CACHE_SHORT = "public, max-age=60"

_HEX_RUN = re.compile(r"[0-9a-f]{8,}", re.ASCII | re.IGNORECASE)
# Separators that bundlers put around a hash inside a file name.
_NAME_PARTS = re.compile(r"[.\-_~]")

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})

# Server preference among equally acceptable codings (earlier wins).
_PREFERENCE = ("br", "zstd", "gzip", "deflate")
_ALIASES = {"x-gzip": "gzip"}
_QVALUE = re.compile(r"[01](\.\d{0,3})?|\.\d{1,3}", re.ASCII)


def is_fingerprinted(path: str) -> bool:
    """Return True if *path* looks content-hashed.

    A path qualifies when a directory segment is entirely hex, or when the file
    name, split on ``.``, ``-``, ``_`` and ``~``, has a part made entirely of
    8 or more hex digits (either case). Note that an all-digit part such as a
    date (``report-20240101.pdf``) is hex too and so counts.
    """
    segments = [segment for segment in path.replace("\\", "/").split("/") if segment]
    if not segments:
        return False
    *directories, name = segments
    if any(_HEX_RUN.fullmatch(segment) for segment in directories):
        return True
    return any(_HEX_RUN.fullmatch(part) for part in _NAME_PARTS.split(name))


def cache_control_for(path: str, content_type: str) -> str:
    """Return the Cache-Control value for serving *path* as *content_type*.

    HTML is always revalidated (``no-cache``) so deploys show up at once, even
    when its name looks fingerprinted; fingerprinted assets are cached for a
    year as ``immutable``; anything else gets a short public lifetime.
    """
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type in _HTML_TYPES:
        return CACHE_HTML
    if is_fingerprinted(path):
        return CACHE_IMMUTABLE
    return CACHE_SHORT


def _parse_accept_encoding(header: str) -> dict[str, float]:
    """Map each coding named in an Accept-Encoding value to its q-value.

    Names are lowercased and aliases resolved; the first mention of a coding
    wins; elements with a malformed q-value are skipped.
    """
    weights: dict[str, float] = {}
    for element in header.split(","):
        name, *params = (piece.strip() for piece in element.split(";"))
        name = _ALIASES.get(name.lower(), name.lower())
        if not name or name in weights:
            continue
        q: float | None = 1.0
        for param in params:
            key, eq, value = param.partition("=")
            if key.strip().lower() == "q":
                value = value.strip()
                q = float(value) if eq and _QVALUE.fullmatch(value) else None
        if q is not None:
            weights[name] = min(q, 1.0)
    return weights


def choose_encoding(accept_encoding: str | None, available: Iterable[str]) -> str | None:
    """Choose the content coding to send, or None for identity.

    *available* lists the encoded variants the server has (e.g. ``{"br",
    "gzip"}``). A coding is acceptable if Accept-Encoding names it (or ``*``
    covers it) with q > 0. The highest q wins; ties go to ``br`` over
    ``gzip``. Identity is chosen instead when the header is absent, nothing
    available is acceptable, or ``identity`` is listed with a strictly higher
    q than the best coding. Refusing identity too (``*;q=0``) still yields
    None: sending identity beats a 406 for a static site.
    """
    if accept_encoding is None:
        return None
    weights = _parse_accept_encoding(accept_encoding)
    wildcard = weights.get("*", 0.0)

    def rank(coding: str) -> tuple[float, int]:
        order = _PREFERENCE.index(coding) if coding in _PREFERENCE else len(_PREFERENCE)
        return (weights.get(coding, wildcard), -order)

    candidates = {_ALIASES.get(c.lower(), c.lower()) for c in available} - {"identity", "*"}
    acceptable = [c for c in sorted(candidates) if weights.get(c, wildcard) > 0]
    if not acceptable:
        return None
    best = max(acceptable, key=rank)
    if weights.get("identity", 0.0) > weights.get(best, wildcard):
        return None
    return best
