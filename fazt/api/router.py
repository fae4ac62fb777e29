"""Routes C{/api/AREA/...} to the Klein app that owns AREA.

Each area (sites, system, keys, ...) is its own Klein app in its own module; this leaf resource
picks one by the first path segment, and answers unknown areas with the envelope. Every answer
carries C{Cache-Control: no-store}.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from twisted.web.resource import IResource, Resource
from twisted.web.server import Request

from fazt.api.siteroutes import SitesArea
from fazt.base.errors import ApiError
from fazt.web.envelope import fail


class ApiRouter(Resource):
    """A leaf resource dispatching on the segment after C{/api/}."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self._areas: dict[bytes, IResource] = {}

    def mount(self, area: str, resource: IResource) -> None:
        """Serve C{/api/AREA} and everything under it with C{resource} (a Klein resource)."""
        self._areas[area.encode("ascii")] = resource

    def add(self, area) -> None:
        """Serve an area object: its Klein C{app} under each of its C{paths}, under
        C{/api/sites/NAME/}C{site_segment} if it has one, and the rest of C{/api/sites} if it
        C{serves_sites}."""
        resource = area.app.resource()
        for path in area.paths:
            self.mount(path, resource)
        segment = getattr(area, "site_segment", None)
        if segment is not None:
            self._sites().segments[segment.encode("ascii")] = resource
        if getattr(area, "serves_sites", False):
            self._sites().default = resource

    def _sites(self) -> SitesArea:
        # Mounted where the first area under /api/sites comes, so that the areas keep their order.
        if b"sites" not in self._areas:
            self.mount("sites", SitesArea())
        return self._areas[b"sites"]

    def areas(self) -> dict[str, IResource]:
        """A read-only copy of what is mounted: area name -> resource."""
        return {name.decode("ascii"): resource for name, resource in self._areas.items()}

    def render(self, request: Request):
        # Every admin API answer is private and changes: no cache may keep one (errors too).
        request.setHeader(b"cache-control", b"no-store")
        try:
            unquote_to_bytes(request.path).decode("utf-8")
        except UnicodeDecodeError:
            return fail(request, ApiError(400, "BAD_REQUEST", "the URL path is not valid UTF-8"))
        area = request.postpath[0] if request.postpath else b""
        resource = self._areas.get(area)
        if resource is None:
            return fail(request, ApiError(404, "NOT_FOUND", f"no API route at {request.path.decode('latin-1')}"))
        return resource.render(request)
