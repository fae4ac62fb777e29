"""Serving a site: which file, function, app or hub answers a path (clean URLs, rules files).

One file's response (encodings, conditional and range requests, the prepared-response fast path)
is L{fazt.web.fileresponse}. The hot path (site state and file content already in memory) answers
synchronously, without a Deferred; only cache misses go to the store's reader threads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional
from urllib.parse import quote

from twisted.internet.defer import Deferred
from twisted.web.server import Request

from fazt.base.responses import finish_later, html_page, internal_error_page
from fazt.web.fileresponse import FileResponder
from fazt.web.resolve import clean_request_path, is_api_path, resolve_file
from fazt.web.rollout import SplitChooser, mark_noindex
from fazt.web.sitefunctions import FunctionDispatch
from fazt.web.rules import is_external, match_redirect
from fazt.web.sitestate import SiteIndex, SiteState

if TYPE_CHECKING:
    from fazt.web.apps import AppRenderer
    from fazt.web.images import ImageRenderer
    from fazt.ws.resource import SiteSockets

NOT_FOUND_SITE = "404"
# Files that configure a site and are never served as content.
PRIVATE_FILES = frozenset({"_redirects", "_headers", "main.js", "fazt.json"})
# Folders that hold code, never served as files (SPEC §14): functions and npm packages.
PRIVATE_FOLDERS = ("api/", "node_modules/")
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
IMAGE_PREFIX = b"/.fazt/image/"


class SiteRenderer:
    """Answers requests for hosted sites from a L{SiteIndex}."""

    def __init__(self, index: SiteIndex, apps: Optional["AppRenderer"] = None,
                 sockets: Optional["SiteSockets"] = None, splits: Optional[SplitChooser] = None,
                 images: Optional["ImageRenderer"] = None) -> None:
        self.index = index
        self.files = FileResponder(index)
        self.apps = apps
        self.sockets = sockets
        self.functions = FunctionDispatch(apps)
        self.splits = splits if splits is not None else SplitChooser()
        self.images = images  # /.fazt/image/ variants (SPEC §15); None: not served

    # -- entry points ---------------------------------------------------------------------

    def render(self, request: Request, name: str) -> bytes | int:
        """Answer a request for site C{name} (which may not exist)."""
        known, state = self.index.cached(name)
        if known:
            result = self._render_state(request, state)
        else:
            result = self.index.load(name).addCallback(lambda s: self._render_state(request, s))
        return _finish(request, result)

    def render_deployment(self, request: Request, name: str, deployment_id: int) -> bytes | int:
        """Answer a request for one deployment of site C{name} (a preview host), with noindex."""
        mark_noindex(request)
        return _finish(request, self._deployment(request, name, deployment_id))

    def render_unknown_host(self, request: Request) -> bytes | int:
        """Answer a request whose host is neither the admin host nor any site's."""
        return _finish(request, self._global_not_found(request))

    # -- routing inside a site ------------------------------------------------------------

    def _render_state(self, request: Request, state: Optional[SiteState]) -> bytes | Deferred:
        if state is None:
            return self._global_not_found(request)
        if state.split is not None:
            chosen = self.splits.choose(request, state.split)
            if chosen != state.deployment.id:
                return self._deployment(request, state.name, chosen)
        return self._render_member(request, state)

    def _deployment(self, request: Request, name: str, deployment_id: int) -> bytes | Deferred:
        """Answer with one deployment of site C{name}, from memory or the store."""
        known, state = self.index.cached_deployment(name, deployment_id)
        if known:
            return self._render_member(request, state)
        return self.index.load_deployment(name, deployment_id).addCallback(
            lambda loaded: self._render_member(request, loaded))

    def _render_member(self, request: Request, state: Optional[SiteState]) -> bytes | Deferred:
        """Answer with one deployment's state (the site's active one, a preview's, a split's)."""
        if state is None:
            return self._global_not_found(request)
        if self.images is not None and request.path.startswith(IMAGE_PREFIX):
            return self.images.render(request, state)
        # SPEC §8: /ws on any existing site (static or app) is its WebSocket hub, never main.js or a file.
        if request.path == b"/ws" and self.sockets is not None:
            return self.sockets.render(request, state.name)
        if state.is_app:
            return self._render_app(request, state)
        if state.routes is not None:  # a site with api/ functions (a static-only site skips this)
            routed = self.functions.route(request, state)
            if routed is not None:
                return routed
        if request.method not in (b"GET", b"HEAD"):
            rewritten = self.functions.rewrite(request, state)
            if rewritten is not None:
                return rewritten
            request.setResponseCode(405)
            request.setHeader(b"allow", b"GET, HEAD")
            request.setHeader(b"content-type", b"text/html; charset=utf-8")
            return html_page(405, "Method Not Allowed", "This site answers GET and HEAD only.")
        ready = self.files.prepared(request, state)
        if ready is not None:
            return ready
        path = clean_request_path(request.path)
        if path is None:
            return self._site_not_found(request, state)
        target = self._resolve(state, path)
        if state.redirects:
            match = match_redirect(state.redirects, path)
            if match is not None and (match.force or target is None):
                # /api paths of a site with functions are never answered by a file (no SPA fallback):
                # redirects and rewrites to functions only.
                return self._apply_rule(request, state, match,
                                        static=state.routes is None or not is_api_path(path))
        if target is None:
            return self._site_not_found(request, state)
        return self.files.serve(request, state, state.files[target], 200, path)

    def _render_app(self, request: Request, state: SiteState) -> bytes | Deferred:
        if self.apps is None:
            request.setResponseCode(503)
            request.setHeader(b"content-type", b"text/html; charset=utf-8")
            return html_page(503, "Service Unavailable", "This server does not run JavaScript apps.")
        # Only the scheduler (fazt.cron.service) may say a run is a cron run; never a visitor.
        request.requestHeaders.removeHeader(b"x-fazt-cron")
        return self.apps.render(request, state)

    def _resolve(self, state: SiteState, path: str) -> Optional[str]:
        target = resolve_file(state.files, path)
        if target is None or target in PRIVATE_FILES or target.startswith(PRIVATE_FOLDERS):
            return None
        return target

    def _apply_rule(self, request: Request, state: SiteState, match, static: bool = True) -> bytes | Deferred:
        if match.status in REDIRECT_CODES:
            location = quote(match.target, safe="/:?#[]@!$&'()*+,;=%~")
            query = request.uri.partition(b"?")[2]
            if query and "?" not in location:
                location += "?" + query.decode("latin-1")
            request.setResponseCode(match.status)
            request.setHeader(b"location", location.encode("latin-1", "replace"))
            request.setHeader(b"content-type", b"text/html; charset=utf-8")
            return html_page(match.status, "Moved", "This page has moved.")
        if match.status == 200 and not is_external(match.target):
            routed = self.functions.target(request, state, match.target)
            if routed is not None:
                return routed
        if static and match.status in (200, 404) and not is_external(match.target):
            path = clean_request_path(match.target.split("?", 1)[0].encode("utf-8"))
            target = self._resolve(state, path) if path else None
            if target is not None:
                return self.files.serve(request, state, state.files[target], match.status, path)
        return self._site_not_found(request, state)

    def _site_not_found(self, request: Request, state: SiteState) -> bytes | Deferred:
        page = state.files.get("404.html")
        if page is not None:
            return self.files.serve(request, state, page, 404, "/404.html")
        return self._global_not_found(request)

    def _global_not_found(self, request: Request) -> bytes | Deferred:
        known, state = self.index.cached(NOT_FOUND_SITE)
        if not known:
            return self.index.load(NOT_FOUND_SITE).addCallback(lambda s: self._not_found_page(request, s))
        return self._not_found_page(request, state)

    def _not_found_page(self, request: Request, state: Optional[SiteState]) -> bytes | Deferred:
        page = state.files.get("index.html") if state is not None else None
        if page is not None:
            return self.files.serve(request, state, page, 404, "/index.html")
        request.setResponseCode(404)
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        return html_page(404, "Not Found", "There is nothing here.")


def _finish(request: Request, result: bytes | Deferred) -> bytes | int:
    """Return bytes as they are; finish the request later for a Deferred."""
    if isinstance(result, Deferred):
        return finish_later(request, result, internal_error_page)
    return result
