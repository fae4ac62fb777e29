"""The admin API (mounted at C{/api} on the admin host): deploys, sites, deployments, health."""

from __future__ import annotations

import json
import time
from typing import Any, Callable, Optional

from klein import Klein
from twisted.internet.defer import inlineCallbacks
from twisted.logger import Logger
from twisted.web.server import Request
from werkzeug.exceptions import MethodNotAllowed, NotFound

import fazt
from fazt.deploy.service import Deployer
from fazt.errors import ApiError, validation_failed
from fazt.names import SITE_NAME, split_host
from fazt.store.db import Store
from fazt.store.sites import Deployment, count_deployments, get_active_deployment, list_deployments, list_sites
from fazt.web.auth import Authenticator, require
from fazt.web.responses import json_body

_log = Logger()
MAX_PAGE = 100
# The largest integer SQLite binds; anything above it raises OverflowError (a 500) in the query.
MAX_SQL_INT = 2**63 - 1


def ok(request: Request, data: Any, status: int = 200, meta: Optional[dict] = None) -> bytes:
    request.setResponseCode(status)
    request.setHeader(b"content-type", b"application/json")
    payload = {"data": data}
    if meta is not None:
        payload["meta"] = meta
    return json_body(payload)


def fail(request: Request, error: ApiError) -> bytes:
    request.setResponseCode(error.status)
    request.setHeader(b"content-type", b"application/json")
    return json_body(error.envelope())


def page_args(request: Request) -> tuple[int, int]:
    """C{limit} and C{offset} from the query, validated (limit at most L{MAX_PAGE})."""
    values = []
    for name, default in (("limit", 50), ("offset", 0)):
        raw = request.args.get(name.encode(), [str(default).encode()])[0]
        try:
            value = int(raw)
        except ValueError:
            raise validation_failed(name, f"{name} must be a whole number") from None
        if not 0 <= value <= MAX_SQL_INT or (name == "limit" and not 1 <= value <= MAX_PAGE):
            raise validation_failed(name, f"{name} is out of range")
        values.append(value)
    return values[0], values[1]


def json_object(request: Request) -> dict:
    """The request body as a JSON object; an empty body is C{{}}."""
    raw = request.content.read() if request.content is not None else b""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "INVALID_JSON", "request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise ApiError(400, "INVALID_JSON", "request body must be a JSON object")
    return value


def deployment_json(d: Deployment, active_id: Optional[int]) -> dict:
    return {
        "id": d.id,
        "site": d.site_name,
        "created_at": _iso(d.created_at),
        "file_count": d.file_count,
        "size_bytes": d.size_bytes,
        "deployed_by": d.deployed_by,
        "active": d.id == active_id,
    }


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


class AdminApi:
    """JSON routes in the envelope of SPEC §9."""

    app = Klein()

    def __init__(self, store: Store, deployer: Deployer, auth: Authenticator, domain: str,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.deployer = deployer
        self.auth = auth
        self.domain = domain
        self._clock = clock
        self._started = clock()

    def site_url(self, request: Request, name: str) -> str:
        scheme = "https" if request.isSecure() else "http"
        host_header = (request.getHeader(b"host") or b"").decode("latin-1")
        port = ""
        if host_header and not host_header.endswith("]") and ":" in host_header:
            port = ":" + host_header.rsplit(":", 1)[1]
        base = "localhost" if split_host(host_header) in ("localhost", "127.0.0.1", "[::1]") and self.domain == "localhost" else self.domain
        host = base if name == "root" and base != "localhost" else f"{name}.{base}"
        return f"{scheme}://{host}{port}/"

    # -- deploys -------------------------------------------------------------------------

    @app.route("/deploy", methods=["POST"])
    @inlineCallbacks
    def deploy(self, request: Request):
        key = yield self.auth.api_key(request)
        prepared = yield self.deployer.prepare(request.content, request.getHeader(b"content-type"))
        require(key, prepared.site_name)
        deployment, new_blobs = yield self.deployer.commit(prepared, key.name)
        return ok(request, {
            "site": deployment.site_name,
            "deployment_id": deployment.id,
            "file_count": deployment.file_count,
            "size_bytes": deployment.size_bytes,
            "new_blobs": new_blobs,
            "url": self.site_url(request, deployment.site_name),
            "message": "Deployment successful",
        })

    # -- sites ---------------------------------------------------------------------------

    @app.route("/sites", methods=["GET"])
    @inlineCallbacks
    def sites(self, request: Request):
        key = yield self.auth.api_key(request)
        limit, offset = page_args(request)
        rows = yield self.store.read(list_sites)
        visible = [r for r in rows if "admin" in key.scopes or f"deploy:{r[0]}" in key.scopes]
        data = [self._site_json(request, name, d, updated) for name, d, updated in visible[offset:offset + limit]]
        return ok(request, data, meta={"total": len(visible), "limit": limit, "offset": offset})

    def _site_json(self, request: Request, name: str, d: Optional[Deployment], updated: float) -> dict:
        return {
            "name": name,
            "url": self.site_url(request, name),
            "active_deployment_id": d.id if d else None,
            "file_count": d.file_count if d else 0,
            "size_bytes": d.size_bytes if d else 0,
            "updated_at": _iso(updated),
        }

    @inlineCallbacks
    def _existing_site(self, request: Request, name: str):
        key = yield self.auth.api_key(request)
        if not SITE_NAME.match(name):
            raise ApiError(404, "SITE_NOT_FOUND", f"site '{name}' does not exist")
        require(key, name)
        active = yield self.store.read(get_active_deployment, name)
        if active is None:
            raise ApiError(404, "SITE_NOT_FOUND", f"site '{name}' does not exist")
        return active

    @app.route("/sites/<name>", methods=["GET"])
    @inlineCallbacks
    def site(self, request: Request, name: str):
        active = yield self._existing_site(request, name)
        return ok(request, self._site_json(request, name, active, active.created_at))

    @app.route("/sites/<name>/deployments", methods=["GET"])
    @inlineCallbacks
    def deployments(self, request: Request, name: str):
        active = yield self._existing_site(request, name)
        limit, offset = page_args(request)
        rows = yield self.store.read(list_deployments, name, limit, offset)
        total = yield self.store.read(count_deployments, name)
        return ok(request, [deployment_json(d, active.id) for d in rows],
                  meta={"total": total, "limit": limit, "offset": offset})

    @app.route("/sites/<name>/rollback", methods=["POST"])
    @inlineCallbacks
    def rollback(self, request: Request, name: str):
        yield self._existing_site(request, name)
        body = json_object(request)
        target = body.get("deployment_id")
        if target is not None and (isinstance(target, bool) or not isinstance(target, int)
                                   or abs(target) > MAX_SQL_INT):
            raise validation_failed("deployment_id", "deployment_id must be an integer")
        deployment = yield self.deployer.rollback(name, target)
        return ok(request, {"site": name, "deployment_id": deployment.id,
                            "message": f"Site '{name}' now serves deployment {deployment.id}"})

    # -- system --------------------------------------------------------------------------

    @app.route("/system/health", methods=["GET"])
    @inlineCallbacks
    def health(self, request: Request):
        yield self.auth.api_key(request)
        rows = yield self.store.read(list_sites)
        return ok(request, {
            "status": "healthy",
            "version": fazt.__version__,
            "uptime_seconds": int(self._clock() - self._started),
            "sites": len(rows),
        })

    # -- errors --------------------------------------------------------------------------

    @app.handle_errors(ApiError)
    def api_error(self, request: Request, failure):
        return fail(request, failure.value)

    @app.handle_errors(MethodNotAllowed)
    def wrong_method(self, request: Request, failure):
        allowed = ", ".join(sorted(failure.value.valid_methods or []))
        request.setHeader(b"allow", allowed.encode("ascii"))
        return fail(request, ApiError(405, "METHOD_NOT_ALLOWED", f"use {allowed}"))

    @app.handle_errors(NotFound)
    def not_found(self, request: Request, failure):
        return fail(request, ApiError(404, "NOT_FOUND", "no such API route"))

    @app.handle_errors(Exception)
    def internal(self, request: Request, failure):
        _log.failure("admin API {uri} failed", failure, uri=request.uri)
        return fail(request, ApiError(500, "INTERNAL_ERROR", "an unexpected error occurred"))
