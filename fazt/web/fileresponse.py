"""One file of a site as an HTTP response: encodings, ETag, conditional and range requests.

A response worked out for a path and an Accept-Encoding is remembered in the site's state
(L{PreparedResponse}); a plain request for it again takes the fast path (L{FileResponder.prepared}).
File content comes from the blob cache, else from the store's reader threads (a Deferred).
"""

from __future__ import annotations

from typing import Optional

from twisted.internet.defer import Deferred
from twisted.web.http_headers import Headers
from twisted.web.server import NOT_DONE_YET, Request

from fazt.base.mimetypes import is_compressible
from fazt.base.responses import merge_headers
from fazt.store.sites import BlobContent, ManifestFile
from fazt.web.caching import cache_control_for, choose_encoding
from fazt.web.conditional import (
    UNSATISFIABLE,
    etag_for,
    http_date,
    if_none_match_hits,
    if_range_allows,
    not_modified_since,
    parse_range,
)
from fazt.web.rules import match_headers
from fazt.web.sitestate import PreparedResponse, SiteIndex, SiteState


class FileResponder:
    """Answers with one file of a site, its content from C{index}'s blobs."""

    def __init__(self, index: SiteIndex) -> None:
        self.index = index

    def serve(self, request: Request, state: SiteState, entry: ManifestFile, status: int, path: str) -> bytes | Deferred:
        content = self.index.blobs.get(entry.blob_hash)
        if content is not None:
            return self._write(request, state, entry, content, status, path)

        def loaded(content: Optional[BlobContent]) -> bytes:
            if content is None:
                raise LookupError(f"blob {entry.blob_hash} of {state.name}/{entry.path} is missing")
            return self._write(request, state, entry, content, status, path)

        return self.index.blob(entry.blob_hash).addCallback(loaded)

    def _write(
        self, request: Request, state: SiteState, entry: ManifestFile, content: BlobContent, status: int, path: str
    ) -> bytes | int:
        range_header = _header(request, b"range")
        encoding = None
        if range_header is None and (content.gzip or content.br):
            available = [e for e, blob in (("br", content.br), ("gzip", content.gzip)) if blob]
            encoding = choose_encoding(_header(request, b"accept-encoding"), available)
        body = {"br": content.br, "gzip": content.gzip}.get(encoding) if encoding else content.data
        etag = etag_for(entry.blob_hash, encoding)
        prepared = file_headers(state, entry, path, encoding, etag)
        request.setResponseCode(status)
        conditional = False
        if status == 200:
            if_none_match = _header(request, b"if-none-match")
            if_modified_since = _header(request, b"if-modified-since")
            conditional = if_none_match is not None or if_modified_since is not None
            if if_none_match is not None:
                fresh = if_none_match_hits(if_none_match, etag)
            else:
                fresh = not_modified_since(if_modified_since, state.last_modified)
            if fresh:
                merge_headers(request, prepared)
                return _not_modified(request)
        merge_headers(request, prepared)
        if range_header is not None and status == 200:
            if if_range_allows(_header(request, b"if-range"), etag, state.last_modified):
                span = parse_range(range_header, len(body))
                if span is UNSATISFIABLE:
                    request.setResponseCode(416)
                    request.setHeader(b"content-range", b"bytes */%d" % len(body))
                    request.setHeader(b"content-type", b"text/plain; charset=utf-8")
                    return b""
                if span is not None:
                    start, end = span
                    request.setResponseCode(206)
                    request.setHeader(b"content-range", b"bytes %d-%d/%d" % (start, end, len(body)))
                    return body[start : end + 1]
        elif not conditional:
            state.remember(request.path, _header(request, b"accept-encoding"),
                           PreparedResponse(status, prepared, entry.blob_hash, encoding))
        return body

    def prepared(self, request: Request, state: SiteState) -> bytes | None:
        """The fast path: a response already worked out for this path and Accept-Encoding.

        Only plain requests take it (no Range or validators); everything that decides a
        response is a function of the site state, the path and Accept-Encoding, and the state
        is replaced as a whole when the site switches deployments.
        """
        headers = request.requestHeaders
        if headers.hasHeader(b"range") or headers.hasHeader(b"if-none-match") or headers.hasHeader(b"if-modified-since"):
            return None
        ready = state.recall(request.path, _header(request, b"accept-encoding"))
        if ready is None:
            return None
        content = self.index.blobs.get(ready.blob_hash)
        if content is None:
            return None
        request.setResponseCode(ready.status)
        merge_headers(request, ready.headers)
        return {"br": content.br, "gzip": content.gzip}.get(ready.encoding) if ready.encoding else content.data


def file_headers(state: SiteState, entry: ManifestFile, path: str, encoding: Optional[str], etag: str) -> dict:
    """The response headers of one file of a site, ready for L{merge_headers}."""
    headers = Headers()
    ctype = entry.content_type
    headers.setRawHeaders(b"content-type", [ctype.encode("latin-1")])
    headers.setRawHeaders(b"x-content-type-options", [b"nosniff"])
    headers.setRawHeaders(b"last-modified", [http_date(state.last_modified).encode("ascii")])
    headers.setRawHeaders(b"cache-control", [cache_control_for(entry.path, ctype).encode("ascii")])
    headers.setRawHeaders(b"accept-ranges", [b"bytes"])
    headers.setRawHeaders(b"etag", [etag.encode("ascii")])
    if is_compressible(ctype):
        headers.setRawHeaders(b"vary", [b"Accept-Encoding"])
    if encoding:
        headers.setRawHeaders(b"content-encoding", [encoding.encode("ascii")])
    for name, value in match_headers(state.header_rules, path):
        headers.setRawHeaders(name.encode("latin-1", "replace"), [value.encode("latin-1", "replace")])
    return dict(headers.getAllRawHeaders())


def _not_modified(request: Request) -> int:
    """Finish with 304 and no Content-Length (a zero one would misdescribe the resource)."""
    request.setResponseCode(304)
    for name in (b"content-type", b"accept-ranges"):
        request.responseHeaders.removeHeader(name)
    request.write(b"")
    request.finish()
    return NOT_DONE_YET


def _header(request: Request, name: bytes) -> Optional[str]:
    values = request.requestHeaders.getRawHeaders(name)
    return values[0].decode("latin-1") if values else None
