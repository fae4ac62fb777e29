"""Which requests are refused on their headers alone, before their body is read.

A deploy carries up to C{--max-archive-mb} of archive. Its credentials are on its headers, so
they are checked as soon as the headers are in (L{fazt.web.channel.FaztChannel} pauses reading
meanwhile): a missing, wrong or revoked key, an expired session or a cookie write without its
CSRF proof is refused at once, and the archive is never read (nor C{100 Continue} sent). The
check is the very one the deploy route makes (L{Authenticator.api_key}); the site-scope check
(L{fazt.web.auth.require_site_scope}) follows in the route, once the archive has named the site.
"""

from __future__ import annotations

from typing import Optional

from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.web.server import Request

from fazt.base.errors import ApiError
from fazt.base.names import ADMIN, route_host, split_host
from fazt.web.auth import Authenticator, may_deploy

DEPLOY_PATH = b"/api/deploy"


class DeployGate:
    """Checks the credentials of C{POST /api/deploy} on the admin host before its body is read."""

    def __init__(self, auth: Authenticator, domain: str) -> None:
        self._auth = auth
        self._domain = domain

    def check(self, request: Request, method: bytes, target: bytes) -> Optional[Deferred]:
        """None for requests it does not gate; else a Deferred failing with the ApiError to answer."""
        if method != b"POST" or target.split(b"?", 1)[0].rstrip(b"/") != DEPLOY_PATH:
            return None
        if route_host(split_host(request.getHeader(b"host")), self._domain)[0] != ADMIN:
            return None  # a site's own /api/deploy is the site's business
        return self._check(request)

    @inlineCallbacks
    def _check(self, request: Request):
        principal = yield self._auth.api_key(request, deploy_scope=True)
        if not may_deploy(principal):
            raise ApiError(403, "FORBIDDEN", "this API key may not deploy")
        return principal
