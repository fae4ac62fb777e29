"""The root of fazt's web tree: health, then dispatch by Host to the admin API or a site.

Klein does not route on Host, so this small resource does, in front of everything else
(SPEC §4). It is a leaf: it reads the whole path itself and hands admin requests to the
Klein resource with the path re-based.
"""

from __future__ import annotations

from typing import Any, Callable, Optional
from weakref import WeakSet

from twisted.internet.defer import Deferred
from twisted.web.resource import IResource, Resource
from twisted.web.server import Request, Site

from fazt.base.names import ADMIN, route_host, split_host
from fazt.base.responses import METHOD_NOT_ALLOWED, plain_text_get
from fazt.web.channel import FaztChannel
from fazt.web.framing import ChannelLimits, RefusalCounter
from fazt.web.request import FaztRequest
from fazt.web.sitefiles import SiteRenderer

# The dashboard is the admin host's only page: its own scripts, styles, icons and API, nothing
# inline (no 'unsafe-inline' anywhere) and nothing from another origin.
ADMIN_SECURITY_HEADERS = (
    (b"content-security-policy", b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     b"connect-src 'self'; manifest-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
)
# Sent only over HTTPS: browsers ignore COOP from an untrustworthy origin (plain http://admin.D)
# and Chromium logs an error on every page load for it.
ADMIN_COOP = b"same-origin"
HSTS = b"max-age=31536000; includeSubDomains"
SITE_HSTS = b"max-age=31536000"
ACME_CHALLENGE = b"/.well-known/acme-challenge/"


class HealthResource(Resource):
    """C{/health} on every host: 200 "OK" for GET and HEAD, 405 for anything else."""

    isLeaf = True

    def __init__(self, headers: tuple = ()) -> None:
        super().__init__()
        # Extra (name, value) headers of every answer, e.g. which serving process answered (SPEC §19).
        self.headers = tuple(headers)

    def render(self, request: Request) -> bytes:
        if not plain_text_get(request):
            return METHOD_NOT_ALLOWED
        for name, value in self.headers:
            request.setHeader(name, value)
        return b"OK"


class RootResource(Resource):
    """Dispatches every request by its Host header."""

    isLeaf = True

    def __init__(self, domain: str, sites: SiteRenderer, admin_api: IResource,
                 admin_ui: Optional[IResource] = None,
                 api_guard: Optional[Callable[[Request, bytes], Optional[bytes]]] = None) -> None:
        super().__init__()
        self.domain = domain.lower()
        self.sites = sites
        self.admin_api = admin_api
        self.admin_ui = admin_ui
        self.health = HealthResource()
        self._public: dict[bytes, IResource] = {}
        self._site_hooks: list[Callable[[Request, str], None]] = []
        # Called as each response ends (by FaztSite.log), e.g. to count statuses and latency.
        self.finish_hooks: list[Callable[[Request], None]] = []
        # Set by fazt.acme.wiring: the HTTP-01 responder, and plain HTTP -> HTTPS for certified hosts.
        self.acme_challenge: Optional[IResource] = None
        self.https_redirect: Optional[Callable[[Request], Optional[bytes]]] = None
        # Runs before every admin /api request with its area (the segment after /api/); a body
        # (e.g. a 429 of the rate limit, fazt.web.ratelimit) answers it instead.
        self.api_guard = api_guard

    def mount_public(self, segment: str, resource: IResource) -> None:
        """Serve C{/SEGMENT...} on the admin host without auth (e.g. /track, /r/, /webhook/)."""
        self._public[segment.encode("ascii")] = resource

    def add_site_hook(self, hook: Callable[[Request, str], None]) -> None:
        """Call C{hook(request, site_name)} for every request to a site host (e.g. analytics)."""
        self._site_hooks.append(hook)

    def add_finish_hook(self, hook: Callable[[Request], None]) -> None:
        """Call C{hook(request)} as every response ends (site hooks ran first for site requests)."""
        self.finish_hooks.append(hook)

    def render(self, request: Request):
        if request.path == b"/health":
            return self.health.render(request)
        if self.acme_challenge is not None and request.path.startswith(ACME_CHALLENGE):
            return self.acme_challenge.render(request)
        if request.isSecure():
            request.setHeader(b"strict-transport-security", SITE_HSTS)
        elif self.https_redirect is not None:
            location = self.https_redirect(request)
            if location is not None:
                # 308 keeps the method and body of a POST or PUT; a GET gets the classic 301.
                request.setResponseCode(301 if request.method in (b"GET", b"HEAD") else 308)
                request.setHeader(b"location", location)
                request.setHeader(b"content-type", b"text/plain; charset=utf-8")
                return b"Moved to HTTPS\n"
        kind, name = route_host(split_host(request.getHeader(b"host")), self.domain)
        if kind == ADMIN:
            return self._render_admin(request, request.path.split(b"/")[1:])
        if kind == "site":
            for hook in self._site_hooks:
                hook(request, name)
            return self.sites.render(request, name)
        return self.sites.render_unknown_host(request)

    def _render_admin(self, request: Request, segments: list[bytes]):
        for name, value in ADMIN_SECURITY_HEADERS:
            request.setHeader(name, value)
        if request.isSecure():
            request.setHeader(b"strict-transport-security", HSTS)
            request.setHeader(b"cross-origin-opener-policy", ADMIN_COOP)
        if segments and segments[0] == b"api":
            if self.api_guard is not None:
                refusal = self.api_guard(request, segments[1] if len(segments) > 1 else b"")
                if refusal is not None:
                    return refusal
            request.prepath = [b"api"]
            request.postpath = segments[1:]
            return self.admin_api.render(request)
        public = self._public.get(segments[0]) if segments else None
        if public is not None:
            request.prepath = []
            request.postpath = segments
            return public.render(request)
        if self.admin_ui is not None:
            request.prepath = []
            request.postpath = segments
            return self.admin_ui.render(request)
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return b"fazt admin: the API is under /api/\n"


class FaztSite(Site):
    """The twisted.web Site: fazt's connection and request classes, body limits, quiet access logging.

    C{limits} are the per-connection limits and timeouts (L{ChannelLimits}, SPEC §18); C{gate},
    if given, is asked before a request's body is read whether it is admitted at all
    (L{fazt.web.admission.DeployGate}); C{refusals} counts the requests its connections refuse
    themselves (for /metrics).
    """

    requestFactory = FaztRequest

    def __init__(self, resource: IResource, deploy_limit: int, body_limit: int = 1024 * 1024,
                 access_log: bool = False, limits: ChannelLimits = ChannelLimits(),
                 gate: Optional[Any] = None, refusals: Optional[RefusalCounter] = None, **kwargs) -> None:
        kwargs.setdefault("timeout", limits.idle_timeout)  # Twisted's idle timer: kept-alive connections
        super().__init__(resource, **kwargs)
        self.limits = limits
        self.gate = gate
        self.refusals = refusals if refusals is not None else RefusalCounter()
        self._domain = getattr(resource, "domain", None)
        self._deploy_limit = deploy_limit
        self._default_limit = body_limit
        self._access_log = access_log
        self._finish_hooks = getattr(resource, "finish_hooks", [])
        # Open HTTP connections, so that a graceful stop can wait for them (fazt.app.shutdown).
        self.channels: WeakSet = WeakSet()

    def protocol(self) -> FaztChannel:
        """The connection class (called by C{Factory.buildProtocol}): HTTP/1.1 with fazt's framing."""
        return FaztChannel(self.limits)

    def buildProtocol(self, addr):
        channel = super().buildProtocol(addr)
        self.channels.add(channel)
        return channel

    def admit(self, request: Request, method: bytes, target: bytes) -> Optional[Deferred]:
        """Before its body is read: None (go on), or a Deferred that fails with the ApiError to answer."""
        return None if self.gate is None else self.gate.check(request, method, target)

    def body_limit(self, path: bytes, host: Optional[bytes] = None) -> int:
        """The largest request body accepted for C{path} on C{host}: deploys to the admin host get more."""
        if path.split(b"?", 1)[0].rstrip(b"/") == b"/api/deploy" and self._is_admin(host):
            return self._deploy_limit
        return self._default_limit

    def _is_admin(self, host: Optional[bytes]) -> bool:
        if self._domain is None:
            return True
        return route_host(split_host(host), self._domain)[0] == ADMIN

    def log(self, request: Request) -> None:
        for hook in self._finish_hooks:
            hook(request)
        # Access logging costs about a third of static throughput; it is opt-in.
        if self._access_log:
            super().log(request)
