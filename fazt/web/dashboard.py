"""The admin dashboard: the static single-page app in C{fazt/dashboard/}, served on the admin host.

The files ship inside the package and never change while the process runs, so they are read,
hashed and compressed once, at start; a request then costs a dictionary lookup. They follow the
caching rules of hosted sites (SPEC §5): strong ETag from the content hash with 304s,
C{Last-Modified}, C{no-cache} for HTML and a short lifetime for the rest, gzip or brotli by
C{Accept-Encoding}. Paths that name no file and have no extension are the app's own routes
(C{/sites/blog/logs}), so they get the shell C{index.html}: deep links and reloads work.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import time
from dataclasses import dataclass
from importlib import resources
from typing import Optional

from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from fazt.base.mimetypes import content_type_for, is_compressible
from fazt.base.responses import html_page
from fazt.web.caching import cache_control_for, choose_encoding
from fazt.web.conditional import etag_for, http_date, if_none_match_hits, not_modified_since

try:
    import brotli
except ImportError:  # brotli is a dependency; without it gzip alone is offered
    brotli = None

SHELL = "index.html"
PACKAGE = "fazt.dashboard"
# Below this size compression saves less than the header it costs.
MIN_COMPRESS = 256
# Brotli quality 5: about 8 % larger than 11 on these files, and 15 times faster (about 10 ms
# for the whole app instead of 170), which every start of a server pays.
BROTLI_QUALITY = 5


@dataclass(frozen=True)
class Asset:
    """One file of the app, ready to send in every encoding the client may take."""

    path: str
    content_type: str
    digest: str
    bodies: dict  # encoding (None for identity) -> bytes

    def headers(self, encoding: Optional[str]) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"content-type", self.content_type.encode("latin-1")),
            (b"cache-control", cache_control_for(self.path, self.content_type).encode("ascii")),
            (b"etag", etag_for(self.digest, encoding).encode("ascii")),
        ]
        if len(self.bodies) > 1:
            headers.append((b"vary", b"Accept-Encoding"))
        if encoding:
            headers.append((b"content-encoding", encoding.encode("ascii")))
        return headers


def _asset(path: str, data: bytes) -> Asset:
    content_type = content_type_for(path)
    bodies: dict = {None: data}
    if is_compressible(content_type) and len(data) >= MIN_COMPRESS:
        bodies["gzip"] = gzip.compress(data, 9, mtime=0)
        if brotli is not None:
            bodies["br"] = brotli.compress(data, quality=BROTLI_QUALITY)
    return Asset(path, content_type, hashlib.sha256(data).hexdigest(), bodies)


@functools.lru_cache(maxsize=4)
def load_assets(package: str = PACKAGE) -> dict[str, Asset]:
    """Every file of the app by its URL path (without the leading slash).

    Read once per process: the package's files do not change while it runs, and a process may
    build several sites (tests do). Callers must not modify the answer.
    """
    assets: dict[str, Asset] = {}

    def walk(node, prefix: str) -> None:
        for child in node.iterdir():
            name = prefix + child.name
            if child.is_dir():
                if child.name != "__pycache__":
                    walk(child, name + "/")
            elif not child.name.endswith((".py", ".pyc")):
                assets[name] = _asset(name, child.read_bytes())

    walk(resources.files(package), "")
    return assets


class DashboardResource(Resource):
    """Serves the dashboard's files; rendered by L{fazt.web.root.RootResource} for the admin host."""

    isLeaf = True

    def __init__(self, assets: Optional[dict[str, Asset]] = None, started: Optional[float] = None) -> None:
        super().__init__()
        self.assets = load_assets() if assets is None else assets
        # The files are those of this process's package: they changed, at most, when it started.
        self.last_modified = int(started if started is not None else time.time())

    def find(self, path: bytes) -> Optional[Asset]:
        """The asset for a request path: a file, the shell for an app route, or None."""
        try:
            name = path.decode("utf-8").lstrip("/")
        except UnicodeDecodeError:
            return None
        if name in self.assets:
            return self.assets[name]
        last = name.rsplit("/", 1)[-1]
        if "." not in last and ".." not in name.split("/"):
            return self.assets.get(SHELL)
        return None

    def render(self, request: Request):
        if request.method not in (b"GET", b"HEAD"):
            request.setResponseCode(405)
            request.setHeader(b"allow", b"GET, HEAD")
            request.setHeader(b"content-type", b"text/html; charset=utf-8")
            return html_page(405, "Method Not Allowed", "The dashboard answers GET and HEAD only.")
        asset = self.find(request.path)
        if asset is None:
            request.setResponseCode(404)
            request.setHeader(b"content-type", b"text/html; charset=utf-8")
            request.setHeader(b"cache-control", b"no-cache")
            return html_page(404, "Not Found", "There is nothing here.")
        accept = request.getHeader(b"accept-encoding")
        available = [e for e in asset.bodies if e]
        encoding = choose_encoding(accept.decode("latin-1") if accept else None, available) if available else None
        for name, value in asset.headers(encoding):
            request.setHeader(name, value)
        request.setHeader(b"last-modified", http_date(self.last_modified).encode("ascii"))
        if self._fresh(request, etag_for(asset.digest, encoding)):
            request.setResponseCode(304)
            request.responseHeaders.removeHeader(b"content-type")
            request.write(b"")
            request.finish()
            return NOT_DONE_YET
        return asset.bodies[encoding]

    def _fresh(self, request: Request, etag: str) -> bool:
        if_none_match = request.getHeader(b"if-none-match")
        if if_none_match is not None:
            return if_none_match_hits(if_none_match.decode("latin-1"), etag)
        since = request.getHeader(b"if-modified-since")
        return since is not None and not_modified_since(since.decode("latin-1"), self.last_modified)
