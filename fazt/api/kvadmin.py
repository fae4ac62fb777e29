"""A site's KV data as the admin sees it: C{/api/sites/NAME/kv[/KEY]} (the dashboard's KV browser).

C{GET .../kv?prefix=P} lists live keys in key order (paged) with a preview of each value;
C{GET .../kv/KEY} answers one value whole, parsed as scripts see it; C{DELETE .../kv/KEY} removes
it. Writing values stays the scripts' business: the admin inspects and cleans up. Keys may hold
C{/}, so the key is the rest of the path, percent-decoded.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Callable, Optional
from urllib.parse import unquote

from twisted.internet.defer import inlineCallbacks
from twisted.web.server import Request

from fazt.base.errors import ApiError, validation_failed
from fazt.store.kv import MAX_KEY_BYTES, decode_value
from fazt.web.envelope import add_error_handlers, iso, ok, page_args
from fazt.api.sites import exact_paths_app, mount_site_segment, query_text, require_site
from fazt.web.spec import Param, takes

PREVIEW_CHARS = 200
# At most MAX_KEY_BYTES of UTF-8: a character takes up to 4 bytes.
PREFIX = Param("prefix", {"type": "string", "maxLength": MAX_KEY_BYTES // 4}, description="Only keys starting so.")
_LIVE = "(expires_at IS NULL OR expires_at > ?)"


def _range(prefix: str) -> tuple[str, str]:
    # A key range rather than LIKE: no wildcards to escape, and it walks the primary key.
    return prefix, prefix + "\U0010ffff"


def list_keys(conn: sqlite3.Connection, site: str, prefix: str, limit: int, offset: int,
              now: float) -> tuple[list[dict], int]:
    low, high = _range(prefix)
    where = f"site_name = ? AND key >= ? AND key < ? AND {_LIVE}"
    args = (site, low, high, now)
    rows = conn.execute(
        f"SELECT key, substr(value, 1, {PREVIEW_CHARS + 1}), length(CAST(value AS BLOB)), expires_at, updated_at"
        f" FROM kv WHERE {where} ORDER BY key LIMIT ? OFFSET ?", (*args, limit, offset)).fetchall()
    total = conn.execute(f"SELECT COUNT(*) FROM kv WHERE {where}", args).fetchone()[0]
    return [{"key": key, "preview": preview[:PREVIEW_CHARS], "truncated": len(preview) > PREVIEW_CHARS,
             "size": size, "expires_at": iso(expires) if expires is not None else None,
             "updated_at": iso(updated)} for key, preview, size, expires, updated in rows], total


def get_key(conn: sqlite3.Connection, site: str, key: str, now: float) -> Optional[dict]:
    row = conn.execute(f"SELECT value, expires_at, updated_at FROM kv WHERE site_name = ? AND key = ? AND {_LIVE}",
                       (site, key, now)).fetchone()
    if row is None:
        return None
    value, expires, updated = row
    return {"key": key, "value": decode_value(value), "size": len(value.encode("utf-8", "surrogatepass")),
            "expires_at": iso(expires) if expires is not None else None, "updated_at": iso(updated)}


def delete_key(conn: sqlite3.Connection, site: str, key: str, now: float) -> bool:
    """Remove a key; True if a live value was there (an expired one is removed all the same)."""
    live = conn.execute(f"SELECT 1 FROM kv WHERE site_name = ? AND key = ? AND {_LIVE}", (site, key, now)).fetchone()
    conn.execute("DELETE FROM kv WHERE site_name = ? AND key = ?", (site, key))
    return live is not None


def key_not_found(site: str, key: str) -> ApiError:
    return ApiError(404, "NOT_FOUND", f"site '{site}' has no key '{key[:200]}'")


class KvApi:
    """Routes under C{/api/sites/NAME/kv} (admin keys and sessions)."""

    app = exact_paths_app()

    def __init__(self, store, auth, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.auth = auth
        self.clock = clock

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
        return key

    @app.route("/sites/<name>/kv", methods=["GET"])
    @takes(params=(PREFIX,), paged=True)
    @inlineCallbacks
    def listing(self, request: Request, name: str):
        """C{?prefix=P}: the site's live keys in key order, C{[{key, preview, truncated, size, expires_at, updated_at}]}."""
        yield self._site(request, name)
        limit, offset = page_args(request)
        prefix = query_text(request, "prefix") or ""
        if len(prefix.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
            raise validation_failed("prefix", f"prefix is longer than {MAX_KEY_BYTES} bytes")
        rows, total = yield self.store.read(list_keys, name, prefix, limit, offset, self.clock())
        return ok(request, rows, meta={"total": total, "limit": limit, "offset": offset})

    @app.route("/sites/<name>/kv/<path:raw_key>", methods=["GET"])
    @inlineCallbacks
    def one(self, request: Request, name: str, raw_key: str):
        """One key's whole value, parsed as scripts see it."""
        yield self._site(request, name)
        key = self._key(raw_key)
        found = yield self.store.read(get_key, name, key, self.clock())
        if found is None:
            raise key_not_found(name, key)
        return ok(request, found)

    @app.route("/sites/<name>/kv/<path:raw_key>", methods=["DELETE"])
    @inlineCallbacks
    def delete(self, request: Request, name: str, raw_key: str):
        """Remove one key."""
        yield self._site(request, name)
        key = self._key(raw_key)
        existed = yield self.store.write(delete_key, name, key, self.clock())
        if not existed:
            raise key_not_found(name, key)
        self.auth.audit_request(request, "kv.delete", f"{name}/{key[:200]}")
        return ok(request, {"site": name, "key": key, "deleted": True})


add_error_handlers(KvApi.app)


def mount(services) -> None:
    """Serve C{/api/sites/NAME/kv[/KEY]}."""
    mount_site_segment(services, "kv", KvApi(services.store, services.auth, services.clock).app.resource())
