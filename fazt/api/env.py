"""A site's environment variables (SPEC §9): set, list (names only, never values), remove.

The original's routes (C{/api/envvars}) and the RESTful ones (C{/api/sites/NAME/env[/VAR]}).
Admins only (an C{admin} key or a session). Every change
makes the next script run of that site see the new environment.
"""

from __future__ import annotations

from typing import Any, Callable
from urllib.parse import unquote

from twisted.internet.interfaces import IReactorTime
from twisted.internet.defer import inlineCallbacks
from twisted.web.server import Request

from fazt.api.siteroutes import REQUIRED_SITE_ID, exact_paths_app, require_site, required_site
from fazt.base.errors import ApiError, missing_field, validation_failed
from fazt.store.interfaces import IStore
from fazt.store.envvars import (BLOCKED_NAMES, ENV_NAME, MAX_NAME_CHARS, MAX_VALUE_BYTES, EnvVar, EnvVarError,
                                check_env_name, check_env_value, count_env_vars,
                                delete_all_env_vars, delete_env_var, get_env_var, get_env_var_by_id,
                                list_env_vars, replace_env_vars, set_env_var)
from fazt.web.auth import Authenticator
from fazt.web.envelope import add_error_handlers, iso, json_object, ok, page_args
from fazt.web.spec import ID_SCHEMA, Param, obj, query, takes

MAX_VARS_PER_REQUEST = 200
ENV_NAME_SCHEMA = {"type": "string", "pattern": ENV_NAME.pattern, "maxLength": MAX_NAME_CHARS,
                   "not": {"enum": sorted(BLOCKED_NAMES)}}
# At most MAX_VALUE_BYTES of UTF-8: a character takes up to 4 bytes.
ENV_VALUE_SCHEMA = {"type": "string", "maxLength": MAX_VALUE_BYTES // 4}
VAR_ID = Param("id", ID_SCHEMA, required=True, description="The variable's id.")


def env_var_json(var: EnvVar, with_site: bool = False) -> dict:
    data = {"id": var.id, "name": var.name, "created_at": iso(var.created_at), "updated_at": iso(var.updated_at)}
    if with_site:
        data["site"] = var.site_name
    return data


def checked(check: Callable[[Any], str], value: Any) -> str:
    """C{check(value)}, its L{EnvVarError} answered as 400 VALIDATION_FAILED."""
    try:
        return check(value)
    except EnvVarError as error:
        raise validation_failed(error.field, str(error)) from None


def body_field(body: dict, field: str) -> Any:
    if field not in body or body[field] is None:
        raise missing_field(field)
    return body[field]


def var_not_found(site: str, name: str) -> ApiError:
    return ApiError(404, "NOT_FOUND", f"site '{site}' has no environment variable {name[:130]}")


class EnvApi:
    """Routes under C{/api/envvars} and C{/api/sites/NAME/env}."""

    app = exact_paths_app()
    paths = ('envvars',)  # served under /api/PATH
    site_segment = 'env'  # and under /api/sites/NAME/env

    def __init__(self, store: IStore, auth: Authenticator, env_changed: Callable[[str], None],
                 clock: IReactorTime) -> None:
        self.store = store
        self.auth = auth
        self.env_changed = env_changed  # tells the parts that cache a site's variables
        self.clock = clock

    def _site(self, request: Request, site: str, key=None):
        """Check the caller is an admin and that C{site} exists."""
        return require_site(self.auth, self.store, request, site, key)

    @inlineCallbacks
    def _list(self, request: Request, site: str, key=None):
        yield self._site(request, site, key)
        limit, offset = page_args(request)
        rows = yield self.store.read(list_env_vars, site, limit, offset)
        total = yield self.store.read(count_env_vars, site)
        return ok(request, [env_var_json(v) for v in rows], meta={"total": total, "limit": limit, "offset": offset})

    @inlineCallbacks
    def _set(self, request: Request, site: str, name: str, value: str):
        var, created = yield self.store.write(set_env_var, site, name, value, int(self.clock.seconds()))
        self.env_changed(site)
        return ok(request, {**env_var_json(var, with_site=True), "created": created})

    @inlineCallbacks
    def _delete(self, request: Request, site: str, name: str):
        deleted = yield self.store.write(delete_env_var, site, name)
        if not deleted:
            raise var_not_found(site, name)
        self.env_changed(site)
        return ok(request, {"site": site, "name": name, "message": "Environment variable deleted"})

    # -- the original's routes -------------------------------------------------------------

    @app.route("/envvars", methods=["GET"])
    @takes(params=(REQUIRED_SITE_ID,), paged=True, errors=(404,))
    @inlineCallbacks
    def envvars(self, request: Request):
        """C{?site_id=NAME}: the site's variables, C{[{id, name, created_at, updated_at}]}."""
        key = yield self.auth.api_key(request)
        return (yield self._list(request, required_site(request), key))

    @app.route("/envvars", methods=["POST"])
    @takes(body=obj({"site_id": {"type": "string"}, "name": ENV_NAME_SCHEMA, "value": ENV_VALUE_SCHEMA},
                    required=("site_id", "name", "value"),
                    example={"site_id": "blog", "name": "API_URL", "value": "https://api.example.com"}),
           body_required=True, errors=(404,))
    @inlineCallbacks
    def set_envvar(self, request: Request):
        """C{{site_id, name, value}}: create or replace one variable."""
        key = yield self.auth.api_key(request)
        body = json_object(request)
        site = body_field(body, "site_id")
        if not isinstance(site, str):
            raise validation_failed("site_id", "site_id must be a string")
        name = checked(check_env_name, body_field(body, "name"))
        value = checked(check_env_value, body_field(body, "value"))
        yield self._site(request, site.strip(), key)
        return (yield self._set(request, site.strip(), name, value))

    @app.route("/envvars", methods=["DELETE"])
    @takes(params=(VAR_ID,), errors=(404,))
    @inlineCallbacks
    def delete_envvar(self, request: Request):
        """C{?id=N}: remove one variable."""
        yield self.auth.api_key(request)
        var_id = query(request, VAR_ID)
        var = yield self.store.read(get_env_var_by_id, var_id)
        if var is None:
            raise ApiError(404, "NOT_FOUND", f"no environment variable has id {var_id}")
        return (yield self._delete(request, var.site_name, var.name))

    # -- RESTful routes --------------------------------------------------------------------

    @app.route("/sites/<site>/env", methods=["GET"])
    @takes(paged=True)
    def site_env(self, request: Request, site: str):
        return self._list(request, site)

    @app.route("/sites/<site>/env", methods=["PUT"])
    @takes(body=obj({"vars": {"type": "object", "maxProperties": MAX_VARS_PER_REQUEST,
                              "propertyNames": ENV_NAME_SCHEMA, "additionalProperties": ENV_VALUE_SCHEMA}},
                    required=("vars",)), body_required=True)
    @inlineCallbacks
    def replace_site_env(self, request: Request, site: str):
        """C{{"vars": {NAME: value, ...}}} becomes the site's whole environment."""
        yield self._site(request, site)
        given = body_field(json_object(request), "vars")
        if not isinstance(given, dict):
            raise validation_failed("vars", "vars must be an object of NAME: value")
        if len(given) > MAX_VARS_PER_REQUEST:
            raise validation_failed("vars", f"at most {MAX_VARS_PER_REQUEST} variables per request")
        values = {}
        for raw_name, raw_value in given.items():
            values[checked(check_env_name, raw_name)] = checked(check_env_value, raw_value)
        removed = yield self.store.write(replace_env_vars, site, values, int(self.clock.seconds()))
        self.env_changed(site)
        return ok(request, {"site": site, "names": sorted(values), "removed": removed})

    @app.route("/sites/<site>/env", methods=["DELETE"])
    @inlineCallbacks
    def clear_site_env(self, request: Request, site: str):
        yield self._site(request, site)
        removed = yield self.store.write(delete_all_env_vars, site)
        self.env_changed(site)
        return ok(request, {"site": site, "removed": removed})

    @app.route("/sites/<site>/env/<raw_name>", methods=["GET"])
    @inlineCallbacks
    def site_env_var(self, request: Request, site: str, raw_name: str):
        yield self._site(request, site)
        name = unquote(raw_name)
        var = yield self.store.read(get_env_var, site, name)
        if var is None:
            raise var_not_found(site, name)
        return ok(request, env_var_json(var, with_site=True))

    @app.route("/sites/<site>/env/<raw_name>", methods=["PUT"])
    @takes(body=obj({"value": ENV_VALUE_SCHEMA}, required=("value",), example={"value": "https://api.example.com"}),
           body_required=True)
    @inlineCallbacks
    def set_site_env_var(self, request: Request, site: str, raw_name: str):
        """C{{"value": "..."}}: create or replace one variable."""
        yield self._site(request, site)
        name = checked(check_env_name, unquote(raw_name))
        value = checked(check_env_value, body_field(json_object(request), "value"))
        return (yield self._set(request, site, name, value))

    @app.route("/sites/<site>/env/<raw_name>", methods=["DELETE"])
    @inlineCallbacks
    def delete_site_env_var(self, request: Request, site: str, raw_name: str):
        yield self._site(request, site)
        return (yield self._delete(request, site, unquote(raw_name)))


add_error_handlers(EnvApi.app)
