"""Which requests of a site run one of its function modules (SPEC §14), and handing them over.

A path at or under C{/api} that a function route claims runs that module, whatever the method; a
C{_redirects} rewrite (200) may target a function route too. Everything else is the static files'
business (L{fazt.web.sitefiles}).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional
from urllib.parse import quote

from twisted.internet.defer import Deferred
from twisted.web.server import Request

from fazt.base.responses import html_page
from fazt.web.resolve import clean_request_path, is_api_path, route_path
from fazt.web.rules import is_external, match_redirect
from fazt.web.sitestate import SiteState

if TYPE_CHECKING:
    from fazt.web.apps import AppRenderer


class FunctionDispatch:
    """Runs a site's function modules through the app renderer (None: this server runs no JS)."""

    def __init__(self, apps: Optional["AppRenderer"]) -> None:
        self.apps = apps

    def route(self, request: Request, state: SiteState) -> bytes | Deferred | None:
        """The answer of the function whose route matches the request's path, or None."""
        if b"/api" not in request.path:  # most requests of a site: its files, at no routing cost
            return None
        return self._run(request, state, route_path(request.path))

    def rewrite(self, request: Request, state: SiteState) -> bytes | Deferred | None:
        """The answer of a function a C{_redirects} rewrite (200) sends the request to, or None."""
        if state.routes is None or not state.redirects:
            return None
        path = clean_request_path(request.path)
        match = match_redirect(state.redirects, path) if path is not None else None
        if match is None or match.status != 200 or is_external(match.target):
            return None
        return self.target(request, state, match.target)

    def target(self, request: Request, state: SiteState, target: str) -> bytes | Deferred | None:
        """The answer of the function at a rule's C{target} (a decoded path, maybe with a query), or None."""
        if state.routes is None:
            return None
        path = quote(target.split("?", 1)[0], safe="/:@!$&'()*+,;=~[]")
        return self._run(request, state, route_path(path.encode("latin-1", "replace")))

    def _run(self, request: Request, state: SiteState, path: Optional[str]) -> bytes | Deferred | None:
        if path is None or not is_api_path(path):
            return None
        match = state.routes.match(path)
        if match is None:
            return None
        if self.apps is None:
            request.setResponseCode(503)
            request.setHeader(b"content-type", b"text/html; charset=utf-8")
            return html_page(503, "Service Unavailable", "This server does not run JavaScript functions.")
        file, params = match
        return self.apps.render_function(request, state, file, params)
