"""A site's files as the admin sees them: the active deployment's listing and raw contents.

C{GET /api/sites/NAME/files} lists (paged); C{GET /api/sites/NAME/files/PATH} answers the
stored bytes with the stored content type and no envelope (errors are in the envelope). Files
a site never serves (C{main.js}, C{_headers}, ...) are readable here: the admin owns them.
"""

from __future__ import annotations

from urllib.parse import unquote

from twisted.internet.defer import inlineCallbacks
from twisted.web.server import Request

from fazt.api.siteroutes import check_site_name, exact_paths_app, site_not_found
from fazt.base.errors import ApiError
from fazt.store.interfaces import IStore
from fazt.store.sites import list_site_files
from fazt.web.auth import Authenticator
from fazt.web.envelope import add_error_handlers, iso, ok, page_args
from fazt.web.spec import takes

# Served on the admin origin, a stored HTML or SVG file must not run scripts there.
RAW_FILE_HEADERS = (
    (b"content-security-policy", b"sandbox; default-src 'none'"),
    (b"cache-control", b"private, no-store"),
    (b"x-content-type-options", b"nosniff"),
)


def file_not_found(name: str, path: str) -> ApiError:
    return ApiError(404, "FILE_NOT_FOUND", f"site '{name}' has no file '{path[:200]}'")


class FilesApi:
    """Routes under C{/api/sites/NAME/files}."""

    app = exact_paths_app()
    paths = ()  # served under /api/PATH
    site_segment = 'files'  # and under /api/sites/NAME/files

    def __init__(self, store: IStore, auth: Authenticator, index) -> None:
        self.store = store
        self.auth = auth
        self.index = index  # fazt.web.sitestate.SiteIndex: manifests and cached contents

    @inlineCallbacks
    def _admin_for(self, request: Request, name: str):
        yield self.auth.api_key(request)
        check_site_name(name)

    @app.route("/sites/<name>/files", methods=["GET"])
    @takes(paged=True)
    @inlineCallbacks
    def listing(self, request: Request, name: str):
        """The active deployment's files by path: C{[{path, size, content_type, mod_time}]}."""
        yield self._admin_for(request, name)
        limit, offset = page_args(request)
        found = yield self.store.read(list_site_files, name, limit, offset)
        if found is None:
            raise site_not_found(name)
        deployment, files, total = found
        mod_time = iso(deployment.created_at)
        data = [{"path": f.path, "size": f.size, "content_type": f.content_type, "mod_time": mod_time}
                for f in files]
        return ok(request, data, meta={"total": total, "limit": limit, "offset": offset})

    @app.route("/sites/<name>/files/<path:raw_path>", methods=["GET"])
    @takes(answer_media="*/*", answer_schema={})
    @inlineCallbacks
    def content(self, request: Request, name: str, raw_path: str):
        """One file's stored bytes, as they were deployed."""
        yield self._admin_for(request, name)
        try:
            path = unquote(raw_path, errors="strict")
        except UnicodeDecodeError:
            raise file_not_found(name, raw_path) from None
        state = yield self.index.load(name)
        if state is None:
            raise site_not_found(name)
        entry = state.files.get(path)
        if entry is None:
            raise file_not_found(name, path)
        blob = yield self.index.blob(entry.blob_hash)
        if blob is None:  # deleted between the two reads
            raise file_not_found(name, path)
        request.setHeader(b"content-type", entry.content_type.encode("latin-1", "replace"))
        for header, value in RAW_FILE_HEADERS:
            request.setHeader(header, value)
        return blob.data


add_error_handlers(FilesApi.app)
