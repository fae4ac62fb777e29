"""C{/.fazt/image/PATH?w=&h=&fit=&fm=&q=} on a site's host: a resized variant of a deployed image.

The variant is found or made by L{fazt.images.service.ImageVariants} (Pillow on its own thread
pool, stored as a derived blob); it is answered like a file: a strong ETag (its content hash),
C{If-None-Match} → 304, C{Last-Modified} and the file's C{Cache-Control}. A request that cannot
be answered with an image gets 400 (404 for a missing file) with the JSON error envelope.
"""

from __future__ import annotations

from typing import Optional

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure
from twisted.web.server import NOT_DONE_YET, Request

from fazt.base.responses import json_body
from fazt.images.params import ImageRequestError, parse_spec
from fazt.images.service import ImageVariants
from fazt.store.variants import Variant
from fazt.web.caching import cache_control_for
from fazt.web.conditional import etag_for, http_date, if_none_match_hits
from fazt.web.resolve import clean_request_path
from fazt.web.sitestate import SiteIndex, SiteState

PREFIX = b"/.fazt/image"
# Deployed files that are never a variant's source (they configure the site or hold code).
_PRIVATE = ("_redirects", "_headers", "main.js", "fazt.json")
_CODE_FOLDERS = ("api/", "node_modules/")


class ImageRenderer:
    """Answers the image variant route of every site."""

    def __init__(self, variants: ImageVariants, index: SiteIndex) -> None:
        self.variants = variants
        self._index = index

    def render(self, request: Request, state: SiteState) -> bytes | Deferred:
        """The variant a request asks for, of a file of C{state}'s deployment."""
        if request.method not in (b"GET", b"HEAD"):
            request.setHeader(b"allow", b"GET, HEAD")
            return _error(request, 405, "METHOD_NOT_ALLOWED", "image variants answer GET and HEAD only")
        path = clean_request_path(request.path[len(PREFIX):])
        key = path.lstrip("/") if path else ""
        entry = state.files.get(key) if key and key not in _PRIVATE and not key.startswith(_CODE_FOLDERS) else None
        if entry is None:
            return _error(request, 404, "NOT_FOUND", "no such file in this deployment")
        try:
            spec = parse_spec(request.args, state.images, entry.content_type, self.variants.avif)
        except ImageRequestError as error:
            return _error(request, 400, error.code, str(error))
        if not entry.content_type.startswith("image/") or entry.content_type.startswith("image/svg"):
            return _error(request, 400, "NOT_AN_IMAGE", f"{entry.path} is {entry.content_type.split(';')[0]}, "
                          "not a raster image")

        def load() -> Deferred:
            return self._index.blob(entry.blob_hash).addCallback(_data, entry.blob_hash)

        made = self.variants.variant(entry.blob_hash, load, spec)
        made.addCallbacks(_write, _refused, callbackArgs=(request, state, entry.path),
                          errbackArgs=(request,))
        return made


def _data(content, blob_hash: str) -> bytes:
    if content is None:
        raise LookupError(f"blob {blob_hash} is missing")
    return content.data


def _write(variant: Variant, request: Request, state: SiteState, path: str) -> bytes | int:
    etag = etag_for(variant.hash, None)
    request.setHeader(b"etag", etag.encode("ascii"))
    request.setHeader(b"last-modified", http_date(state.last_modified).encode("ascii"))
    request.setHeader(b"cache-control", cache_control_for(path, variant.content_type).encode("ascii"))
    request.setHeader(b"x-content-type-options", b"nosniff")
    if if_none_match_hits(_header(request, b"if-none-match"), etag):
        request.setResponseCode(304)
        request.write(b"")
        request.finish()
        return NOT_DONE_YET
    request.setHeader(b"content-type", variant.content_type.encode("ascii"))
    return variant.data


def _refused(failure: Failure, request: Request) -> bytes:
    failure.trap(ImageRequestError)
    return _error(request, 400, failure.value.code, str(failure.value))


def _error(request: Request, status: int, code: str, message: str) -> bytes:
    request.setResponseCode(status)
    request.setHeader(b"content-type", b"application/json")
    request.setHeader(b"cache-control", b"no-store")
    return json_body({"error": {"code": code, "message": message}})


def _header(request: Request, name: bytes) -> Optional[str]:
    values = request.requestHeaders.getRawHeaders(name)
    return values[0].decode("latin-1") if values else None
