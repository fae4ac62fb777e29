"""Deploys, sites, deployments, rollbacks and deleting sites (SPEC §6, §9).

Deleting a site (admin keys only) removes it with its deployments, manifests, KV data, env vars
and logs, and the blobs nothing else uses, in one write transaction. The built-in sites C{root}
and C{404} are refused with 409 CONFLICT: they are state to replace by deploying, not to delete.
"""

from __future__ import annotations

from typing import Callable, Optional

from twisted.internet.defer import inlineCallbacks
from twisted.web.server import Request

from fazt.api.siteroutes import (REQUIRED_SITE_ID, SITE_ID, check_site_name, exact_paths_app, query_text,
                                 required_site, site_not_found)
from fazt.base.errors import ApiError, validation_failed
from fazt.base.names import preview_label, split_host
from fazt.deploy.service import Deployer
from fazt.store.interfaces import IStore
from fazt.api.rollout import split_json
from fazt.store.rollout import get_split
from fazt.store.sources import sources_of
from fazt.store.sites import (Deployment, count_all_deployments, count_deployments, delete_site,
                              get_active_deployment, list_all_deployments, list_deployments, list_sites)
from fazt.web.auth import Authenticator, require_site_scope
from fazt.web.envelope import add_error_handlers, iso, json_object, ok, page_args
from fazt.web.spec import ID_SCHEMA, MAX_SQL_INT, nullable, obj, takes

# The built-in sites: redeploying them is how they change; deleting them is refused (409).
PROTECTED_SITES = frozenset({"root", "404"})
DEPLOY_BODY = {
    "type": "object", "required": ["site_name", "file"],
    "properties": {"site_name": {"type": "string", "minLength": 1},
                   "file": {"type": "string", "contentMediaType": "application/zip",
                            "description": "A ZIP archive of the site's files."},
                   "preview": {"type": "string", "enum": ["true", "false", "1", "0"],
                               "description": "true: store the deployment without switching the site; "
                                              "it is served at d<ID>--NAME.D (SPEC §15)."}},
}
ROLLBACK_BODY = obj({"deployment_id": nullable(ID_SCHEMA)})


def deployment_json(d: Deployment, active_id: Optional[int], sources: Optional[dict] = None) -> dict:
    """A deployment as the API shows it; C{sources} (L{sources_of}) give a Git deployment's origin."""
    source = (sources or {}).get(d.id)
    return {
        "id": d.id,
        "site": d.site_name,
        "created_at": iso(d.created_at),
        "file_count": d.file_count,
        "size_bytes": d.size_bytes,
        "deployed_by": d.deployed_by,
        "active": d.id == active_id,
        "source_url": source.url if source else None,
        "source_ref": source.ref if source else None,
        "source_commit": source.commit if source else None,
    }


class SitesApi:
    """Routes under C{/api/deploy} and C{/api/sites}."""

    app = exact_paths_app()
    paths = ('deploy', 'deployments')  # served under /api/PATH
    serves_sites = True  # and the rest of /api/sites

    def __init__(self, store: IStore, deployer: Deployer, auth: Authenticator, domain: str,
                 forget_site: Callable[[str], None] = lambda name: None) -> None:
        self.store = store
        self.deployer = deployer
        self.auth = auth
        self.domain = domain
        self.forget_site = forget_site  # announces a deleted site: the caches drop its state

    def site_url(self, request: Request, name: str, deployment_id: Optional[int] = None) -> str:
        """The URL a site is served at, or with C{deployment_id} that deployment's preview URL."""
        scheme = "https" if request.isSecure() else "http"
        host_header = (request.getHeader(b"host") or b"").decode("latin-1")
        port = ""
        if host_header and not host_header.endswith("]") and ":" in host_header:
            port = ":" + host_header.rsplit(":", 1)[1]
        base = "localhost" if split_host(host_header) in ("localhost", "127.0.0.1", "[::1]") and self.domain == "localhost" else self.domain
        host = base if name == "root" and base != "localhost" else f"{name}.{base}"
        if deployment_id is not None:
            host = f"{preview_label(name, deployment_id)}.{base}"
        return f"{scheme}://{host}{port}/"

    # -- deploys -------------------------------------------------------------------------

    @app.route("/deploy", methods=["POST"])
    @takes(body=DEPLOY_BODY, body_media="multipart/form-data", body_required=True, errors=(415,),
           summary="Deploy a ZIP as a site (multipart: site_name, file); admin or deploy:SITE keys.",
           links={"site": {"operationId": "get_api_sites_name", "parameters": {"name": "$response.body#/data/site"}}})
    @inlineCallbacks
    def deploy(self, request: Request):
        # The one route a deploy:NAME key may use, for its own site.
        key = yield self.auth.api_key(request, deploy_scope=True)
        prepared = yield self.deployer.prepare(request.content, request.getHeader(b"content-type"))
        require_site_scope(key, prepared.site_name)
        deployment, new_blobs = yield self.deployer.commit(prepared, key.name)
        preview = prepared.preview
        self.auth.audit_request(request, "deploy.preview" if preview else "deploy", deployment.site_name,
                                details=f"deployment {deployment.id}")
        return ok(request, {
            "site": deployment.site_name,
            "deployment_id": deployment.id,
            "file_count": deployment.file_count,
            "size_bytes": deployment.size_bytes,
            "new_blobs": new_blobs,
            "url": self.site_url(request, deployment.site_name, deployment.id if preview else None),
            "preview": preview,
            "message": "Preview stored; the site still serves its active deployment" if preview
            else "Deployment successful",
        })

    # -- sites ---------------------------------------------------------------------------

    @app.route("/sites", methods=["GET"])
    @takes(paged=True)
    @inlineCallbacks
    def sites(self, request: Request):
        yield self.auth.api_key(request)
        limit, offset = page_args(request)
        rows = yield self.store.read(list_sites)
        data = [self._site_json(request, name, d, updated) for name, d, updated in rows[offset:offset + limit]]
        return ok(request, data, meta={"total": len(rows), "limit": limit, "offset": offset})

    def _site_json(self, request: Request, name: str, d: Optional[Deployment], updated: float) -> dict:
        return {
            "name": name,
            "url": self.site_url(request, name),
            "active_deployment_id": d.id if d else None,
            "file_count": d.file_count if d else 0,
            "size_bytes": d.size_bytes if d else 0,
            "updated_at": iso(updated),
        }

    @inlineCallbacks
    def _existing_site(self, request: Request, name: str):
        yield self.auth.api_key(request)
        check_site_name(name)
        active = yield self.store.read(get_active_deployment, name)
        if active is None:
            raise site_not_found(name)
        return active

    @app.route("/sites/<name>", methods=["GET"])
    @inlineCallbacks
    def site(self, request: Request, name: str):
        active = yield self._existing_site(request, name)
        split = yield self.store.read(get_split, name)
        return ok(request, {**self._site_json(request, name, active, active.created_at), "split": split_json(split)})

    @app.route("/sites/<name>/deployments", methods=["GET"])
    @takes(paged=True)
    @inlineCallbacks
    def deployments(self, request: Request, name: str):
        active = yield self._existing_site(request, name)
        limit, offset = page_args(request)
        rows = yield self.store.read(list_deployments, name, limit, offset)
        total = yield self.store.read(count_deployments, name)
        sources = yield self.store.read(sources_of, [d.id for d in rows])
        return ok(request, [{**deployment_json(d, active.id, sources),
                             "preview_url": self.site_url(request, name, d.id)} for d in rows],
                  meta={"total": total, "limit": limit, "offset": offset})

    @app.route("/sites/<name>/rollback", methods=["POST"])
    @takes(body=ROLLBACK_BODY, errors=(409,))
    @inlineCallbacks
    def rollback(self, request: Request, name: str):
        yield self._existing_site(request, name)
        body = json_object(request)
        target = body.get("deployment_id")
        if target is not None and (isinstance(target, bool) or not isinstance(target, int)
                                   or abs(target) > MAX_SQL_INT):
            raise validation_failed("deployment_id", "deployment_id must be an integer")
        deployment = yield self.deployer.rollback(name, target)
        self.auth.audit_request(request, "rollback", name, details=f"deployment {deployment.id}")
        return ok(request, {"site": name, "deployment_id": deployment.id,
                            "message": f"Site '{name}' now serves deployment {deployment.id}"})


    # -- deleting ------------------------------------------------------------------------

    @app.route("/sites/<name>", methods=["DELETE"])
    @takes(errors=(409,))
    def delete(self, request: Request, name: str):
        return self._delete(request, name)

    @app.route("/sites", methods=["DELETE"])
    @takes(params=(REQUIRED_SITE_ID,), errors=(404, 409))
    def delete_legacy(self, request: Request):
        """The original's C{DELETE /api/sites?site_id=NAME}."""
        return self._delete(request, None)

    @inlineCallbacks
    def _delete(self, request: Request, name: Optional[str]):
        yield self.auth.api_key(request)
        if name is None:
            name = required_site(request)
        check_site_name(name)
        if name in PROTECTED_SITES:
            raise ApiError(409, "CONFLICT", f"site '{name}' is built in and cannot be deleted; deploy to it instead",
                           {"field": "site_id"})
        removed = yield self.store.write(delete_site, name)
        if removed is None:
            raise site_not_found(name)
        self.forget_site(name)
        self.auth.audit_request(request, "site.delete", name, details=" ".join(f"{k}={v}" for k, v in removed.items()))
        return ok(request, {"site": name, "message": "Site deleted", "removed": removed})

    # -- deployments of every site ------------------------------------------------------

    @app.route("/deployments", methods=["GET"])
    @takes(params=(SITE_ID,), paged=True, errors=(404,))
    @inlineCallbacks
    def all_deployments(self, request: Request):
        """Every deployment, newest first; C{?site_id=} narrows to one site."""
        yield self.auth.api_key(request)
        limit, offset = page_args(request)
        sites = None
        site = query_text(request, "site_id")
        if site is not None:
            site = site.strip()
            check_site_name(site)
            sites = [site]
        rows = yield self.store.read(list_all_deployments, sites, limit, offset)
        total = yield self.store.read(count_all_deployments, sites)
        sources = yield self.store.read(sources_of, [d.id for d, _ in rows])
        data = [{**deployment_json(d, active, sources), "site_id": d.site_name} for d, active in rows]
        return ok(request, data, meta={"total": total, "limit": limit, "offset": offset})


add_error_handlers(SitesApi.app)
