"""What the areas under C{/api/sites} share: the resource that dispatches C{/api/sites/NAME/SEGMENT}
(the router owns it),
strict paths, query parameters and the existence check of a site.
"""

from __future__ import annotations

from typing import Optional

from klein import Klein
from twisted.internet.defer import inlineCallbacks
from twisted.web.resource import IResource, Resource
from twisted.web.server import Request

from fazt.base.errors import ApiError, missing_field, validation_failed
from fazt.base.names import SITE_NAME
from fazt.store.interfaces import IStore
from fazt.store.sites import site_exists
from fazt.web.auth import Authenticator
from fazt.web.envelope import fail
from fazt.web.spec import ID_SCHEMA, SITE_SCHEMA, Param, query

SITE_ID = Param("site_id", SITE_SCHEMA, description="The site's name.")
REQUIRED_SITE_ID = Param("site_id", SITE_SCHEMA, required=True, description="The site's name.")


def exact_paths_app() -> Klein:
    """A Klein app whose routes match paths as sent: werkzeug would answer C{//} in a path with
    a redirect exception, which is no API answer (it became a 500); unmatched paths are 404."""
    klein_app = Klein()
    klein_app.url_map.merge_slashes = False
    return klein_app


def query_text(request: Request, name: str) -> Optional[str]:
    """A query parameter as text (None when absent); bytes that are not UTF-8 fail validation."""
    values = request.args.get(name.encode("ascii"))
    if not values:
        return None
    try:
        return values[0].decode("utf-8")
    except UnicodeDecodeError:
        raise validation_failed(name, f"{name} must be UTF-8 text") from None


def query_int(request: Request, name: str) -> Optional[int]:
    """A query parameter as a non-negative integer SQLite can bind (None when absent)."""
    return query(request, Param(name, ID_SCHEMA))


def required_site(request: Request, field: str = "site_id") -> str:
    """The site named by a required query parameter (not yet checked for existence)."""
    site = query_text(request, field)
    if site is None or not site.strip():
        raise missing_field(field)
    return site.strip()


def check_site_name(name: str) -> None:
    """Answer 404 at once for a name no site can have (before touching the store)."""
    if not SITE_NAME.fullmatch(name) or len(name) > 63:
        raise ApiError(404, "SITE_NOT_FOUND", f"site '{name[:100]}' does not exist")


def site_not_found(name: str) -> ApiError:
    return ApiError(404, "SITE_NOT_FOUND", f"site '{name}' does not exist")


@inlineCallbacks
def require_site(auth: Authenticator, store: IStore, request: Request, name: str, key=None):
    """The caller's key (C{key}, or the request's, which must be an admin's), once site C{name} exists."""
    if key is None:
        key = yield auth.api_key(request)
    check_site_name(name)
    exists = yield store.read(site_exists, name)
    if not exists:
        raise site_not_found(name)
    return key


class SitesArea(Resource):
    """C{/api/sites/...}: C{/api/sites/NAME/SEGMENT...} goes to the resource mounted for SEGMENT
    (files, env, logs: each its own module), everything else to the sites routes."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.default: Optional[IResource] = None
        self.segments: dict[bytes, IResource] = {}

    def render(self, request: Request):
        path = request.postpath
        resource = self.segments.get(path[2]) if len(path) >= 3 else None
        resource = resource or self.default
        if resource is None:
            return fail(request, ApiError(404, "NOT_FOUND", "no such API route"))
        return resource.render(request)
