"""A site's KV data as the admin sees it: C{/api/sites/NAME/kv[/KEY]} (the dashboard's KV browser).

C{GET .../kv?prefix=P} lists live keys in key order (paged) with a preview of each value;
C{GET .../kv/KEY} answers one value whole, parsed as scripts see it; C{DELETE .../kv/KEY} removes
it. Writing values stays the scripts' business: the admin inspects and cleans up. Keys may hold
C{/}, so the key is the rest of the path, percent-decoded.
"""

from __future__ import annotations

from typing import Optional
from urllib.parse import unquote

from twisted.internet.defer import inlineCallbacks
from twisted.web.server import Request

from fazt.api.common import AdminRoutes
from fazt.api.siteroutes import exact_paths_app, query_text, require_site
from fazt.base.errors import ApiError, refuse_nul, validation_failed
from fazt.store.kv import MAX_KEY_BYTES, browse_keys, live_entry, remove_key
from fazt.web.envelope import add_error_handlers, iso, ok, page_args
from fazt.web.spec import Param, takes

PREVIEW_CHARS = 200
# At most MAX_KEY_BYTES of UTF-8: a character takes up to 4 bytes.
PREFIX = Param("prefix", {"type": "string", "maxLength": MAX_KEY_BYTES // 4}, description="Only keys starting so.")


def _shown(entry: Optional[dict]) -> Optional[dict]:
    """A KV entry as the API shows it: times in ISO 8601."""
    if entry is not None:
        entry["expires_at"] = iso(entry["expires_at"]) if entry["expires_at"] is not None else None
        entry["updated_at"] = iso(entry["updated_at"])
    return entry


def key_not_found(site: str, key: str) -> ApiError:
    return ApiError(404, "NOT_FOUND", f"site '{site}' has no key '{key[:200]}'")


class KvApi(AdminRoutes):
    """Routes under C{/api/sites/NAME/kv} (admin keys and sessions)."""

    app = exact_paths_app()
    paths = ()  # served under /api/PATH
    site_segment = 'kv'  # and under /api/sites/NAME/kv


    def _site(self, request: Request, name: str):
        return require_site(self.auth, self.store, request, name)

    @staticmethod
    def _key(raw_key: str) -> str:
        try:
            key = unquote(raw_key, errors="strict")
        except UnicodeDecodeError:
            raise validation_failed("key", "key must be UTF-8 text") from None
        if not key or len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
            raise validation_failed("key", f"key must be 1 to {MAX_KEY_BYTES} bytes")
        return refuse_nul("key", key)

    @app.route("/sites/<name>/kv", methods=["GET"])
    @takes(params=(PREFIX,), paged=True)
    @inlineCallbacks
    def listing(self, request: Request, name: str):
        """C{?prefix=P}: the site's live keys in key order, C{[{key, preview, truncated, size, expires_at, updated_at}]}."""
        yield self._site(request, name)
        limit, offset = page_args(request)
        prefix = refuse_nul("prefix", query_text(request, "prefix") or "")  # no key holds one
        if len(prefix.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
            raise validation_failed("prefix", f"prefix is longer than {MAX_KEY_BYTES} bytes")
        rows, total = yield self.store.read(browse_keys, name, prefix, limit, offset, self._clock.seconds(), PREVIEW_CHARS)
        return ok(request, [_shown(row) for row in rows], meta={"total": total, "limit": limit, "offset": offset})

    @app.route("/sites/<name>/kv/<path:raw_key>", methods=["GET"])
    @inlineCallbacks
    def one(self, request: Request, name: str, raw_key: str):
        """One key's whole value, parsed as scripts see it."""
        yield self._site(request, name)
        key = self._key(raw_key)
        found = _shown((yield self.store.read(live_entry, name, key, self._clock.seconds())))
        if found is None:
            raise key_not_found(name, key)
        return ok(request, found)

    @app.route("/sites/<name>/kv/<path:raw_key>", methods=["DELETE"])
    @inlineCallbacks
    def delete(self, request: Request, name: str, raw_key: str):
        """Remove one key."""
        yield self._site(request, name)
        key = self._key(raw_key)
        existed = yield self.store.write(remove_key, name, key, self._clock.seconds())
        if not existed:
            raise key_not_found(name, key)
        self.auth.audit_request(request, "kv.delete", f"{name}/{key[:200]}")
        return ok(request, {"site": name, "key": key, "deleted": True})


add_error_handlers(KvApi.app)
