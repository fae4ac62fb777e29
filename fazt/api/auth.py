"""Admin login and sessions (SPEC §9): C{/api/login}, C{/api/logout}, C{/api/auth/status},
C{/api/user/me}.

Passwords are checked with bcrypt on a thread pool of their own, and an unknown user name costs
the same bcrypt check as a known one (against a dummy hash), so timing does not tell which user
names exist. Failed logins are counted per client address (L{fazt.web.lockout}).
"""

from __future__ import annotations

from typing import Any, Optional

import bcrypt
from klein import Klein
from twisted.internet.interfaces import IReactorTime
from twisted.internet.defer import inlineCallbacks
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool
from twisted.web.server import Request

import fazt
from fazt.api.keys import is_utf8
from fazt.base.errors import ApiError, missing_field, validation_failed
from fazt.store.audit import record
from fazt.store.interfaces import IStore
from fazt.store.sessions import User, create_session, delete_session, find_user, new_session_token
from fazt.web.auth import Authenticator, clear_session_cookie, session_token, set_session_cookie
from fazt.web.envelope import add_error_handlers, iso, json_object, ok
from fazt.web.lockout import LoginLockout, request_client_address
from fazt.web.spec import nullable, obj, takes

MAX_USERNAME = 256
MAX_PASSWORD = 1024
# bcrypt compares at most 72 bytes; a longer password can never be the admin's.
BCRYPT_MAX_BYTES = 72
# Checked instead of a real hash when the user name is unknown (cost 12, as real hashes).
DUMMY_HASH = b"$2b$12$9C5wkhb/9jEBY8LL0qNJnuVsNAktZBCfdSiVKeYliQpQaC18wlnYe"
# Password checks queued at once; more means a flood, answered 429 without queueing bcrypt work.
MAX_PENDING_CHECKS = 32
LOGIN_BODY = obj({"username": {"type": "string", "minLength": 1, "maxLength": MAX_USERNAME},
                  "password": {"type": "string", "minLength": 1, "maxLength": MAX_PASSWORD},
                  "remember_me": nullable({"type": "boolean"})}, required=("username", "password"),
                 example={"username": "admin", "password": "correct horse battery staple", "remember_me": False})


def password_matches(password: str, stored_hash: Optional[str]) -> bool:
    """Whether C{password} is the one C{stored_hash} was made from (blocking: run it on a thread).

    Always does one full bcrypt check, whatever the input, so that every refusal takes as long.
    """
    candidate = password.encode("utf-8", "surrogatepass")
    usable = stored_hash is not None and len(candidate) <= BCRYPT_MAX_BYTES
    try:
        matched = bcrypt.checkpw(candidate[:BCRYPT_MAX_BYTES], stored_hash.encode("ascii") if usable else DUMMY_HASH)
    except ValueError:  # a damaged stored hash
        return False
    return usable and matched


def _text_field(body: dict, name: str, limit: int) -> str:
    value = body.get(name)
    if value is None or value == "":
        raise missing_field(name)
    if not isinstance(value, str):
        raise validation_failed(name, f"{name} must be a string")
    if len(value) > limit or not is_utf8(value):
        raise validation_failed(name, f"{name} must be at most {limit} characters of text")
    return value


def _open_session(conn, token: str, user: User, remember_me: bool, now: int,
                  address: str, replaced: Optional[str]) -> int:
    if replaced is not None:  # a new login ends the session the browser held before
        delete_session(conn, replaced)
    expires_at = create_session(conn, token, user.id, remember_me, now)
    record(conn, user.username, "login", "session", "ok", f"address={address}", now)
    return expires_at


def _close_session(conn, token: str, now: int, actor: str) -> None:
    username = delete_session(conn, token)
    if username is not None:
        record(conn, actor, "logout", "session", "ok", "", now)


class AuthApi:
    """Routes C{/login}, C{/logout}, C{/auth/status} and C{/user/me} under C{/api}."""

    app = Klein()
    paths = ('login', 'logout', 'auth', 'user')  # served under /api/PATH

    def __init__(self, reactor: Any, store: IStore, auth: Authenticator, pool: ThreadPool,
                 lockout: LoginLockout, trusted_proxies=()) -> None:
        self.reactor = reactor
        self.store = store
        self.auth = auth
        self.pool = pool
        self.lockout = lockout
        self.trusted_proxies = tuple(trusted_proxies)
        self.clock: IReactorTime = reactor  # the reactor's clock tells the session times
        self._pending_checks = 0

    def client_address(self, request: Request) -> str:
        """The address a login is counted against (the peer, or behind trusted proxies the client)."""
        return request_client_address(request, self.trusted_proxies)

    @inlineCallbacks
    def _check_password(self, request: Request, password: str, user: Optional[User]):
        if self._pending_checks >= MAX_PENDING_CHECKS:
            request.setHeader(b"retry-after", b"1")  # a check takes a fraction of a second
            raise ApiError(429, "RATE_LIMIT_EXCEEDED", "too many logins in progress; try again shortly")
        self._pending_checks += 1
        try:
            matched = yield deferToThreadPool(self.reactor, self.pool, password_matches, password,
                                              user.password_hash if user else None)
        finally:
            self._pending_checks -= 1
        return matched

    @inlineCallbacks
    def _verified_user(self, request: Request, address: str):
        """(user, remember_me) of a login request with the right password; raises otherwise."""
        body = json_object(request)
        username = _text_field(body, "username", MAX_USERNAME)
        password = _text_field(body, "password", MAX_PASSWORD)
        remember_me = body.get("remember_me", False)
        if remember_me is None:
            remember_me = False
        if not isinstance(remember_me, bool):
            raise validation_failed("remember_me", "remember_me must be true or false")
        user = yield self.store.read(find_user, username)
        matched = yield self._check_password(request, password, user)
        if not matched:
            locked = self.lockout.record_failure(address)
            details = f"address={address}" + (" (now locked out)" if locked else "")
            yield self.auth.audit(username, "login", "session", "failed", details)
            raise ApiError(401, "INVALID_CREDENTIALS", "Invalid username or password")
        self.lockout.reset(address)
        return user, remember_me

    @app.route("/login", methods=["POST"])
    @takes(body=LOGIN_BODY, body_required=True, errors=(401, 429))
    @inlineCallbacks
    def login(self, request: Request):
        """Log in with {username, password, remember_me}; sets the session cookie."""
        request.setHeader(b"cache-control", b"no-store")
        address = self.client_address(request)
        wait = self.lockout.admit(address)
        if wait:
            request.setHeader(b"retry-after", str(wait).encode("ascii"))
            raise ApiError(429, "RATE_LIMIT_EXCEEDED",
                           "Too many failed attempts. Please try again in 15 minutes.")
        try:
            user, remember_me = yield self._verified_user(request, address)
        finally:
            self.lockout.release(address)
        token = new_session_token()
        now = int(self.clock.seconds())
        expires_at = yield self.store.write(_open_session, token, user, remember_me, now, address,
                                           session_token(request))
        set_session_cookie(request, token, expires_at - now)
        return ok(request, {"message": "Login successful", "username": user.username,
                            "expires_at": iso(expires_at)})

    @app.route("/logout", methods=["POST"])
    @inlineCallbacks
    def logout(self, request: Request):
        """End the session the cookie names and clear the cookie."""
        principal = yield self.auth.api_key(request)
        token = session_token(request)
        if token is not None:
            yield self.store.write(_close_session, token, int(self.clock.seconds()), principal.name)
            clear_session_cookie(request)
        return ok(request, {"message": "Logged out successfully"})

    @app.route("/auth/status", methods=["GET"])
    @inlineCallbacks
    def status(self, request: Request):
        """Who the caller is, how authenticated, and until when."""
        principal = yield self.auth.api_key(request)
        expires_at = iso(principal.expires_at) if principal.expires_at is not None else None
        return ok(request, {"authenticated": True, "username": principal.name, "expires_at": expires_at,
                            "method": principal.method})

    @app.route("/user/me", methods=["GET"])
    @inlineCallbacks
    def me(self, request: Request):
        """The caller's user name and the server's version."""
        principal = yield self.auth.api_key(request)
        return ok(request, {"username": principal.name, "version": fazt.__version__})


add_error_handlers(AuthApi.app)
