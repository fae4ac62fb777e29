"""Deploy from Git and a site's link to its repository: C{/api/sites/NAME/git} (SPEC §15).

C{POST} deploys a ref (default: the remote's HEAD) of a public repository, optionally one folder
of it, and with C{"link": true} links the site to that branch: the answer then carries the push
webhook's URL (C{/webhook/git/NAME} on this admin host) and its secret, shown only this once.
C{GET} shows the link (never the secret), C{DELETE} removes it. Admin keys, or C{deploy:NAME}.
"""

from __future__ import annotations

from twisted.internet.defer import inlineCallbacks
from twisted.web.server import Request

from fazt.api.siteroutes import check_site_name, exact_paths_app
from fazt.base.errors import ApiError, missing_field, validation_failed
from fazt.base.names import InvalidSiteName, normalise_site_name
from fazt.deploy.gitdeploy import GitDeployer
from fazt.deploy.gittree import clean_dir
from fazt.store.interfaces import IStore
from fazt.store.sources import delete_link, get_link
from fazt.web.auth import Authenticator, require_site_scope
from fazt.web.envelope import add_error_handlers, iso, json_object, ok
from fazt.web.spec import nullable, obj, takes

MAX_URL = 2048
MAX_REF = 255
GIT_BODY = obj({
    "url": {"type": "string", "minLength": 8, "maxLength": MAX_URL, "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://[^@/\\\\]+",
            "description": "http(s) URL of a public repository"},
    "ref": nullable({"type": "string", "maxLength": MAX_REF, "description": "a branch, a tag or a full ref; default HEAD"}),
    "dir": nullable({"type": "string", "maxLength": 1024, "description": "deploy this folder of the commit"}),
    "link": nullable({"type": "boolean", "description": "redeploy on signed pushes to this branch"}),
}, required=("url",), example={"url": "https://github.com/owner/repo.git", "ref": "main", "link": True})


def clean_ref(value):
    """A ref as given, or None (HEAD): printable, no spaces, no '..'."""
    if value is None or value == "":
        return None
    if (not isinstance(value, str) or len(value) > MAX_REF or not value.isascii() or not value.isprintable()
            or " " in value or ".." in value or value.startswith("-")):
        raise validation_failed("ref", "ref must be a branch, a tag or a full ref name")
    return value


def clean_url(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise missing_field("url")
    if len(value) > MAX_URL:
        raise validation_failed("url", f"url must be at most {MAX_URL} characters")
    return value.strip()


def webhook_url(request: Request, site: str) -> str:
    """The push webhook of C{site} on the admin host this request came to."""
    scheme = "https" if request.isSecure() else "http"
    host = (request.getHeader(b"host") or b"localhost").decode("latin-1")
    return f"{scheme}://{host}/webhook/git/{site}"


class GitApi:
    """C{/api/sites/NAME/git}: deploy from Git, see and remove the site's link."""

    app = exact_paths_app()
    paths = ()
    site_segment = "git"

    def __init__(self, store: IStore, git: GitDeployer, auth: Authenticator, domain: str) -> None:
        self.store = store
        self.git = git
        self.auth = auth
        self.domain = domain

    @inlineCallbacks
    def _caller(self, request: Request, name: str):
        key = yield self.auth.api_key(request, deploy_scope=True)
        check_site_name(name)
        try:
            site = normalise_site_name(name, self.domain)
        except InvalidSiteName as error:
            raise validation_failed("site_name", str(error)) from None
        require_site_scope(key, site)
        return key, site

    @app.route("/sites/<name>/git", methods=["POST"])
    @takes(body=GIT_BODY, body_required=True, errors=(404, 413, 422, 503),
           summary="Deploy a ref (and folder) of a public Git repository; optionally link the site to its branch.")
    @inlineCallbacks
    def deploy(self, request: Request, name: str):
        key, site = yield self._caller(request, name)
        body = json_object(request)
        url, ref, subdir = clean_url(body.get("url")), clean_ref(body.get("ref")), clean_dir(body.get("dir"))
        want_link = body.get("link")
        if want_link is not None and not isinstance(want_link, bool):
            raise validation_failed("link", "link must be true or false")
        deployment, new_blobs, source = yield self.git.deploy(site, url, ref, subdir, key.name, bool(want_link))
        data = {"site": site, "deployment_id": deployment.id, "file_count": deployment.file_count,
                "size_bytes": deployment.size_bytes, "new_blobs": new_blobs, "source_url": source.url,
                "source_ref": source.ref, "source_commit": source.commit, "message": "Deployment successful"}
        if want_link:
            data["webhook_url"] = webhook_url(request, site)
            data["webhook_secret"] = yield self.git.link(site, source, subdir)
            data["linked_ref"] = source.ref
        self.auth.audit_request(request, "deploy.git", site, details=f"deployment {deployment.id} {source.commit}")
        return ok(request, data)

    @app.route("/sites/<name>/git", methods=["GET"])
    @takes(errors=(404,), summary="The site's link to a Git branch (never its secret).")
    @inlineCallbacks
    def read(self, request: Request, name: str):
        _, site = yield self._caller(request, name)
        link = yield self.store.read(get_link, site)
        if link is None:
            raise ApiError(404, "NOT_FOUND", f"site '{site}' is not linked to a Git repository")
        return ok(request, {"site": site, "url": link.url, "ref": link.ref, "dir": link.dir,
                            "webhook_url": webhook_url(request, site), "created_at": iso(link.created_at)})

    @app.route("/sites/<name>/git", methods=["DELETE"])
    @takes(errors=(404,), summary="Unlink the site from its Git branch (pushes no longer redeploy it).")
    @inlineCallbacks
    def unlink(self, request: Request, name: str):
        _, site = yield self._caller(request, name)
        removed = yield self.store.write(delete_link, site)
        if not removed:
            raise ApiError(404, "NOT_FOUND", f"site '{site}' is not linked to a Git repository")
        self.auth.audit_request(request, "git.unlink", site)
        return ok(request, {"site": site, "message": "Unlinked"})


add_error_handlers(GitApi.app)
