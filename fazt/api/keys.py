"""API keys: list, create (the token is shown once), revoke (SPEC §9; admin scope only).

C{GET /api/keys}, C{POST /api/keys} C{{name, scopes?}}, C{DELETE /api/keys/{id}} and the
original's C{DELETE /api/keys?id=N}. A revoked key stops working with the next request: keys are
looked up on every request, never cached.
"""

from __future__ import annotations

import re
from typing import Optional

from klein import Klein
from twisted.internet.defer import inlineCallbacks
from twisted.web.server import Request

from fazt.api.common import AdminRoutes
from fazt.base.errors import ApiError, missing_field, validation_failed
from fazt.base.names import SITE_NAME
from fazt.store.accounts import ApiKey, count_api_keys, create_api_key, list_api_keys, revoke_api_key
from fazt.store.audit import record
from fazt.web.auth import ADMIN_SCOPE
from fazt.web.envelope import add_error_handlers, iso, json_object, ok, page_args
from fazt.web.spec import ID_SCHEMA, MAX_SQL_INT, Param, line_of_text, nullable, obj, takes

MAX_NAME = 100
MAX_SCOPES = 50
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
CREATED_MESSAGE = "API key created. Save this token - it won't be shown again!"
# One scope, in any case: admin, or deploy:SITE (SITE a site name, which is at most 63 characters).
_SCOPE = (r"(?:[aA][dD][mM][iI][nN]|[dD][eE][pP][lL][oO][yY]:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)")
_SCOPE_ITEM = re.compile(_SCOPE)
# What POST /api/keys takes: scopes as one string (separated by spaces or commas) or a list of scopes.
CREATE_BODY = obj({
    "name": line_of_text(MAX_NAME),
    "scopes": nullable({"anyOf": [
        {"type": "string", "pattern": rf"^[\s,]*{_SCOPE}(?:[\s,]+{_SCOPE}){{0,{MAX_SCOPES - 1}}}[\s,]*$"},
        {"type": "array", "minItems": 1, "maxItems": MAX_SCOPES, "items": {"type": "string", "pattern": f"^{_SCOPE}$"}},
    ]}),
}, required=("name",), example={"name": "ci-blog", "scopes": ["deploy:blog"]})


def is_utf8(text: str) -> bool:
    """Whether C{text} can be stored (JSON may carry lone surrogates, which UTF-8 cannot)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_key_name(value: object) -> str:
    """The C{name} of a new key: a non-empty line of at most L{MAX_NAME} characters."""
    if value is None:
        raise missing_field("name")
    if not isinstance(value, str):
        raise validation_failed("name", "name must be a string")
    name = value.strip()
    if not name:
        raise missing_field("name")
    if len(value) > MAX_NAME or _CONTROL.search(value) or not is_utf8(name):
        raise validation_failed("name", f"name must be one line of at most {MAX_NAME} characters")
    return name


def parse_scopes(value: object) -> list[str]:
    """C{scopes} as a string of C{admin} / C{deploy:NAME} separated by spaces or commas, or a list
    of them (one scope an item); default admin."""
    if value is None:
        return [ADMIN_SCOPE]
    if isinstance(value, str):
        items = value.replace(",", " ").split()
    elif isinstance(value, list) and all(isinstance(item, str) and _SCOPE_ITEM.fullmatch(item) for item in value):
        items = value
    else:
        raise validation_failed("scopes", "scopes must be a list of strings or a space-separated string")
    if not items:
        raise validation_failed("scopes", "give at least one scope: 'admin' or 'deploy:SITE'")
    if len(items) > MAX_SCOPES:
        raise validation_failed("scopes", f"at most {MAX_SCOPES} scopes")
    scopes: list[str] = []
    for item in items:
        scope = item.lower()
        kind, _, site = scope.partition(":")
        if not (scope == ADMIN_SCOPE or (kind == "deploy" and len(site) <= 63 and SITE_NAME.match(site))):
            raise validation_failed("scopes", f"unknown scope {item[:80]!r}: use 'admin' or 'deploy:SITE'")
        if scope not in scopes:
            scopes.append(scope)
    return scopes


def parse_key_id(raw: Optional[str]) -> Optional[int]:
    """A key id from a path or query (ASCII digits within SQLite's range), or None."""
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        return None
    value = int(raw)
    return value if value <= MAX_SQL_INT else None


def key_json(key: ApiKey) -> dict:
    return {
        "id": key.id,
        "name": key.name,
        "scopes": list(key.scopes),
        "created_at": iso(key.created_at),
        "last_used_at": iso(key.last_used_at) if key.last_used_at is not None else None,
    }


def _create_audited(conn, name: str, scopes: list[str], now: int, actor: str):
    key_id, token = create_api_key(conn, name, scopes, now)
    record(conn, actor, "key.create", f"key:{key_id}", "ok", f"name={name} scopes={' '.join(scopes)}", now)
    return key_id, token


def _revoke_audited(conn, key_id: int, now: int, actor: str) -> Optional[str]:
    name = revoke_api_key(conn, key_id, now)
    if name is not None:
        record(conn, actor, "key.revoke", f"key:{key_id}", "ok", f"name={name}", now)
    return name


def _page(conn, limit: int, offset: int) -> tuple[list[ApiKey], int]:
    return list_api_keys(conn, limit, offset), count_api_keys(conn)


class KeysApi(AdminRoutes):
    """Routes under C{/api/keys}."""

    app = Klein()
    paths = ('keys',)  # served under /api/PATH

    @app.route("/keys", methods=["GET"])
    @takes(paged=True)
    @inlineCallbacks
    def list_keys(self, request: Request):
        """The live API keys, newest first (never their tokens)."""
        yield self._admin(request)
        limit, offset = page_args(request)
        keys, total = yield self.store.read(_page, limit, offset)
        return ok(request, [key_json(k) for k in keys], meta={"total": total, "limit": limit, "offset": offset})

    @app.route("/keys", methods=["POST"])
    @takes(body=CREATE_BODY, body_required=True, status=201)
    @inlineCallbacks
    def create(self, request: Request):
        """Create an API key {name, scopes?}; its token is in this answer only."""
        principal = yield self._admin(request)
        body = json_object(request)
        name = parse_key_name(body.get("name"))
        scopes = parse_scopes(body.get("scopes"))
        now = int(self._clock.seconds())
        key_id, token = yield self.store.write(_create_audited, name, scopes, now, principal.name)
        data = key_json(ApiKey(key_id, name, tuple(scopes), now, None))
        data.update(token=token, message=CREATED_MESSAGE)
        request.setHeader(b"cache-control", b"no-store")
        return ok(request, data, status=201)

    @app.route("/keys", methods=["DELETE"])
    @takes(params=(Param("id", ID_SCHEMA, required=True),), errors=(404,))
    def revoke_legacy(self, request: Request):
        """The original's C{DELETE /api/keys?id=N}."""
        values = request.args.get(b"id")
        raw = values[0].decode("latin-1") if values else None
        return self._revoke(request, raw, from_query=True)

    @app.route("/keys/<key_id>", methods=["DELETE"])
    def revoke(self, request: Request, key_id: str):
        """Revoke an API key at once."""
        return self._revoke(request, key_id, from_query=False)

    @inlineCallbacks
    def _revoke(self, request: Request, raw: Optional[str], from_query: bool):
        principal = yield self._admin(request)
        if from_query and not raw:
            raise missing_field("id")
        key_id = parse_key_id(raw)
        if key_id is None:
            if from_query:
                raise validation_failed("id", "id must be a key's number")
            raise ApiError(404, "NOT_FOUND", "no such API key")
        name = yield self.store.write(_revoke_audited, key_id, int(self._clock.seconds()), principal.name)
        if name is None:
            raise ApiError(404, "NOT_FOUND", f"no API key {key_id}")
        return ok(request, {"id": key_id, "name": name, "message": "API key revoked"})


add_error_handlers(KeysApi.app)
