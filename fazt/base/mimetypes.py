"""Content types for files served from a site.

The mapping is an explicit table so that every host answers identically;
the standard library's ``mimetypes`` module is deliberately not used because
it reads ``/etc/mime.types`` and friends, which differ between machines.

Text-like types carry ``; charset=utf-8`` (site files are served as the bytes
that were deployed, and UTF-8 is the only sensible default on the web).
"""

from __future__ import annotations

import posixpath

__all__ = ["DEFAULT_TYPE", "content_type_for", "is_compressible"]

DEFAULT_TYPE = "application/octet-stream"

# Extension (lowercase, without the dot) -> bare media type.
_TYPES: dict[str, str] = {
    # Documents and code
    "html": "text/html",
    "htm": "text/html",
    "xhtml": "application/xhtml+xml",
    "css": "text/css",
    "js": "text/javascript",
    "mjs": "text/javascript",
    "cjs": "text/javascript",
    "json": "application/json",
    "map": "application/json",
    "jsonld": "application/ld+json",
    "webmanifest": "application/manifest+json",
    "txt": "text/plain",
    "text": "text/plain",
    "md": "text/markdown",
    "markdown": "text/markdown",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "xml": "application/xml",
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "ics": "text/calendar",
    "vtt": "text/vtt",
    "wasm": "application/wasm",
    "pdf": "application/pdf",
    # Images
    "svg": "image/svg+xml",
    "ico": "image/x-icon",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "avif": "image/avif",
    "bmp": "image/bmp",
    # Fonts
    "woff": "font/woff",
    "woff2": "font/woff2",
    "ttf": "font/ttf",
    "otf": "font/otf",
    "eot": "application/vnd.ms-fontobject",
    # Archives
    "zip": "application/zip",
    "gz": "application/gzip",
    "tar": "application/x-tar",
    # Media
    "mp4": "video/mp4",
    "webm": "video/webm",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
    "oga": "audio/ogg",
    "ogv": "video/ogg",
    "wav": "audio/wav",
    "m4a": "audio/mp4",
}

# Non-``text/*`` types whose content is text and so gets a charset.
_TEXTUAL = frozenset(
    {
        "application/javascript",
        "application/json",
        "application/ld+json",
        "application/manifest+json",
        "application/xml",
        "application/xhtml+xml",
        "application/rss+xml",
        "application/atom+xml",
        "image/svg+xml",
    }
)

# Non-textual types that still compress well.
_COMPRESSIBLE_EXTRA = frozenset(
    {
        "application/wasm",
        "application/vnd.ms-fontobject",
        "font/ttf",
        "font/otf",
        "image/x-icon",
        "image/bmp",
    }
)


def _bare(content_type: str) -> str:
    """Return the media type of a Content-Type value, lowercased, without parameters."""
    return content_type.split(";", 1)[0].strip().lower()


def _is_textual(media_type: str) -> bool:
    return media_type.startswith("text/") or media_type in _TEXTUAL


def content_type_for(path: str) -> str:
    """Return the Content-Type header value for a site file *path*.

    The lookup uses the lowercased extension of the last path segment; text
    types get ``; charset=utf-8``. Unknown or missing extensions (including
    dotfiles such as ``.env``) give ``application/octet-stream``.
    """
    name = posixpath.basename(path.replace("\\", "/"))
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        return DEFAULT_TYPE
    media_type = _TYPES.get(ext.lower())
    if media_type is None:
        return DEFAULT_TYPE
    if _is_textual(media_type):
        return media_type + "; charset=utf-8"
    return media_type


def is_compressible(content_type: str) -> bool:
    """Return True if a response of *content_type* is worth gzip/brotli encoding.

    Text types, JavaScript, JSON, XML, SVG, web manifests, wasm and uncompressed
    font/icon formats qualify; already-compressed images, woff/woff2 fonts,
    archives, audio and video do not. Parameters such as ``charset`` are ignored.
    """
    media_type = _bare(content_type)
    if _is_textual(media_type) or media_type in _COMPRESSIBLE_EXTRA:
        return True
    # Structured-syntax suffixes (RFC 6839) for types not listed explicitly.
    return media_type.endswith(("+json", "+xml"))
