"""Who is calling the admin API, and what they may do (SPEC §9).

Two ways in: an C{Authorization: Bearer} API key (scoped), or the C{fazt_session} cookie of an
admin login (scope C{admin}). Scopes are checked in one place, L{Authenticator.api_key}, and deny
by default: only an C{admin} principal passes, unless the route says it accepts a C{deploy:NAME}
key (only C{POST /api/deploy} does), and then it checks the site with L{require_site_scope}. A bearer header is decisive: a bad one is refused even when a good
cookie comes with it. Cookie-authenticated writes must also prove they are not a cross-site form
post: C{Content-Type: application/json}, or an C{X-Fazt-CSRF} header, which a plain HTML form
cannot send.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from twisted.internet.defer import Deferred, inlineCallbacks, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.web.server import Request

from fazt.base.errors import ApiError
from fazt.store.accounts import find_api_key, touch_api_key
from fazt.store.interfaces import IStore
from fazt.store.sessions import extend_session, find_session
from fazt.web.request import FaztRequest

ADMIN_SCOPE = "admin"
SESSION_COOKIE = b"fazt_session"
# Under TLS the cookie carries the __Host- prefix: browsers accept it only from this very host,
# Secure and without a Domain, so a hosted site (NAME.D) cannot plant or overwrite the admin's session.
SECURE_SESSION_COOKIE = b"__Host-" + SESSION_COOKIE
CSRF_HEADER = b"x-fazt-csrf"
SAFE_METHODS = frozenset((b"GET", b"HEAD", b"OPTIONS"))
# last_used_at and a session's sliding expiry are refreshed at most this often, so that reads
# do not all become writes.
_TOUCH_INTERVAL = 60

_log = Logger()


@dataclass(frozen=True)
class Principal:
    """Who made a request: an API key, or the user of a login session.

    C{id} is the API key's id (None for a session); C{expires_at} is the session's expiry
    (None for a key).
    """

    name: str
    scopes: tuple[str, ...]
    id: Optional[int]
    method: str                       # "api_key" or "session"
    expires_at: Optional[int] = None
    user_id: Optional[int] = None


def bearer_token(request: Request) -> Optional[str]:
    """The token of an C{Authorization: Bearer} header; raises for other schemes."""
    header = request.getHeader(b"authorization")
    if header is None:
        return None
    scheme, _, token = header.decode("latin-1").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "UNAUTHORIZED", "Authorization must be 'Bearer <token>'")
    return token.strip()


def session_cookie_name(request: Request) -> bytes:
    """The session cookie's name for this request: the C{__Host-} form under TLS."""
    return SECURE_SESSION_COOKIE if request.isSecure() else SESSION_COOKIE


def session_token(request: Request) -> Optional[str]:
    """The session token the request's cookie carries, or None.

    Under TLS only the C{__Host-} cookie counts: a plain C{fazt_session} there may have been set
    by another host of the domain.
    """
    raw = request.getCookie(session_cookie_name(request))
    if not raw:
        return None
    return raw.decode("latin-1")


def set_session_cookie(request: Request, token: str, max_age: int) -> None:
    """Send the session cookie: HttpOnly, SameSite=Strict, host-only; Secure and C{__Host-} under TLS."""
    request.addCookie(session_cookie_name(request), token.encode("ascii"), path=b"/", max_age=str(max_age).encode(),
                      httpOnly=True, secure=request.isSecure(), sameSite="strict")


def clear_session_cookie(request: Request) -> None:
    """Tell the browser to forget the session cookie."""
    request.addCookie(session_cookie_name(request), b"", path=b"/", max_age=b"0",
                      expires=b"Thu, 01 Jan 1970 00:00:00 GMT",
                      httpOnly=True, secure=request.isSecure(), sameSite="strict")


def check_csrf(request: Request) -> None:
    """Refuse a cookie-authenticated write that a cross-site HTML form could have sent."""
    if request.method in SAFE_METHODS:
        return
    if request.getHeader(CSRF_HEADER):
        return
    content_type = (request.getHeader(b"content-type") or b"").split(b";", 1)[0].strip().lower()
    if content_type == b"application/json":
        return
    raise ApiError(403, "FORBIDDEN", "a cookie-authenticated write needs 'Content-Type: application/json'"
                                     " or an 'X-Fazt-CSRF' header")


def is_admin(key) -> bool:
    """Whether C{key} (anything with C{.scopes}) may do everything."""
    return ADMIN_SCOPE in key.scopes


def require_admin(key) -> None:
    """Raise 403 FORBIDDEN unless C{key} is an admin's."""
    if not is_admin(key):
        raise ApiError(403, "FORBIDDEN", "this API key may only deploy its site; this route needs an admin key")


def require_site_scope(key, site: str) -> None:
    """Raise 403 FORBIDDEN unless C{key} may deploy C{site} (scope C{admin} or C{deploy:SITE})."""
    if not (is_admin(key) or f"deploy:{site}" in key.scopes):
        raise ApiError(403, "FORBIDDEN", f"this API key may not deploy site '{site}'")


def may_deploy(key) -> bool:
    """Whether C{key} may deploy to any site at all: the check a deploy can pass before its archive
    (which names the site) is read; L{require_site_scope} with the site follows once it is."""
    return is_admin(key) or any(scope.startswith("deploy:") for scope in key.scopes)


def _no_audit(actor: str, action: str, resource: str, result: str = "ok", details: str = "") -> Deferred:
    return succeed(None)


class Authenticator:
    """Finds the principal of a request: API keys by digest, sessions by digest (reader threads).

    C{audit(actor, action, resource, result="ok", details="")} records a security-relevant
    action (the wiring passes the audit log's recorder, L{fazt.api.audit.AuditRecorder}; without
    one nothing is recorded); L{audit_request} records one as done by the request's principal.
    """

    def __init__(self, store: IStore, clock: IReactorTime,
                 audit: Callable[..., Deferred] = _no_audit) -> None:
        self._store = store
        self.clock = clock
        self.audit = audit

    @inlineCallbacks
    def api_key(self, request: FaztRequest, deploy_scope: bool = False) -> Deferred[Principal]:
        """The principal of C{request} (bearer key first, else session cookie), or raise 401/403.

        Deny by default: a key without the C{admin} scope is refused (403) unless the route passes
        C{deploy_scope=True}, saying it accepts C{deploy:NAME} keys; it must then check the site
        with L{require_site_scope}.
        """
        token = bearer_token(request)
        if token is not None:
            principal = yield self._key(token)
        else:
            principal = yield self.session(request)
        request.fazt_principal = principal
        if not deploy_scope:
            require_admin(principal)
        return principal

    def audit_request(self, request: FaztRequest, action: str, resource: str, result: str = "ok",
                      details: str = "") -> Deferred:
        """Record C{action} in the audit log as done by whoever L{api_key} found C{request} to be."""
        principal = request.fazt_principal  # declared on FaztRequest, None before api_key
        return self.audit(principal.name if principal else "anonymous", action, resource, result, details)

    @inlineCallbacks
    def _key(self, token: str):
        key = yield self._store.read(find_api_key, token)
        if key is None:
            raise ApiError(401, "INVALID_API_KEY", "invalid or revoked API key")
        now = int(self.clock.seconds())
        if key.last_used_at is None or now - key.last_used_at > _TOUCH_INTERVAL:
            self._store.write(touch_api_key, key.id, now).addErrback(self._log_failure, "touch API key")
        return Principal(key.name, key.scopes, key.id, "api_key")

    @inlineCallbacks
    def session(self, request: Request) -> Deferred[Principal]:
        """The principal of C{request}'s session cookie only; slides its expiry forward."""
        token = session_token(request)
        if token is None:
            raise ApiError(401, "UNAUTHORIZED",
                           "authentication required: log in, or send 'Authorization: Bearer <token>'")
        now = int(self.clock.seconds())
        session = yield self._store.read(find_session, token, now)
        if session is None:
            clear_session_cookie(request)
            raise ApiError(401, "SESSION_EXPIRED", "the session has expired or ended; log in again")
        check_csrf(request)
        expires_at = session.expires_at
        if now + session.lifetime - expires_at >= _TOUCH_INTERVAL:
            expires_at = now + session.lifetime
            self._store.write(extend_session, session.digest, expires_at).addErrback(
                self._log_failure, "extend session")
            set_session_cookie(request, token, session.lifetime)
        return Principal(session.username, (ADMIN_SCOPE,), None, "session", expires_at, session.user_id)

    def _log_failure(self, failure, what: str) -> None:
        _log.failure("could not {what}", failure, what=what)
