"""Who is calling the admin API, and what they may do (bearer API keys with scopes)."""

from __future__ import annotations

import time
from typing import Callable, Optional

from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.web.server import Request

from fazt.errors import ApiError
from fazt.store.accounts import ApiKey, find_api_key, touch_api_key
from fazt.store.db import Store

ADMIN_SCOPE = "admin"
# last_used_at is advisory: refresh it at most this often, so reads do not become writes.
_TOUCH_INTERVAL = 60


def bearer_token(request: Request) -> Optional[str]:
    """The token of an C{Authorization: Bearer} header; raises for other schemes."""
    header = request.getHeader(b"authorization")
    if header is None:
        return None
    scheme, _, token = header.decode("latin-1").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "UNAUTHORIZED", "Authorization must be 'Bearer <token>'")
    return token.strip()


def may(key: ApiKey, site: Optional[str] = None) -> bool:
    """Whether C{key} may act on C{site} (None: on the whole platform)."""
    if ADMIN_SCOPE in key.scopes:
        return True
    return site is not None and f"deploy:{site}" in key.scopes


def require(key: ApiKey, site: Optional[str] = None) -> None:
    if not may(key, site):
        target = f"site '{site}'" if site else "this resource"
        raise ApiError(403, "FORBIDDEN", f"this API key may not act on {target}")


class Authenticator:
    """Looks API keys up by digest on the store's reader threads."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    @inlineCallbacks
    def api_key(self, request: Request) -> Deferred[ApiKey]:
        token = bearer_token(request)
        if token is None:
            raise ApiError(401, "UNAUTHORIZED", "authentication required: send 'Authorization: Bearer <token>'")
        key = yield self._store.read(find_api_key, token)
        if key is None:
            raise ApiError(401, "INVALID_API_KEY", "invalid or revoked API key")
        now = int(self._clock())
        if key.last_used_at is None or now - key.last_used_at > _TOUCH_INTERVAL:
            self._store.write(touch_api_key, key.id, now).addErrback(lambda _: None)
        return key
