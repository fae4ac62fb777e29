"""Serving C{GET /ws} for any site: one Autobahn factory, told the site by the site renderer.

The site renderer has already resolved the request's host to a site; it calls L{SiteSockets.render}
with that name. The factory builds the protocol synchronously inside that call, so the name is
handed over through C{_pending_site} without any chance of another request in between.
"""

from __future__ import annotations

from typing import Optional

from autobahn.twisted.resource import WebSocketResource
from autobahn.twisted.websocket import WebSocketServerFactory
from autobahn.websocket.compress import PerMessageDeflateOffer, PerMessageDeflateOfferAccept
from twisted.web.server import Request

from fazt.ws.hub import HubRegistry
from fazt.ws.protocol import MAX_MESSAGE, RECEIVE_BOUND, SiteSocketProtocol

# How long a client has to answer the server's close frame before the TCP connection is cut.
# Autobahn's 1 s is too short for a client still uploading a message that was refused (over the
# cap): it reads the 1009 only after it has written the rest, and the cut discards the close frame
# if it is still unsent, so the client would see a dropped connection instead of 1009.
CLOSE_TIMEOUT = 5.0


def accept_deflate(offers):
    """Accept the client's first permessage-deflate offer, on the terms it asks for (RFC 7692).

    Compressed messages count against C{MAX_MESSAGE} once inflated (Autobahn stops inflating at
    C{RECEIVE_BOUND}). Each connection keeps its own compression context.
    """
    for offer in offers:
        if isinstance(offer, PerMessageDeflateOffer):
            return PerMessageDeflateOfferAccept(offer)
    return None


class SiteSocketFactory(WebSocketServerFactory):
    """Builds L{SiteSocketProtocol}s for the site named by the request being rendered."""

    protocol = SiteSocketProtocol

    def __init__(self, registry: HubRegistry, ping_seconds: float = 30.0, ping_timeout: float = 10.0) -> None:
        super().__init__()
        self.registry = registry
        self._pending_site: Optional[str] = None
        # The exact cap is the protocol's (see RECEIVE_BOUND); failByDrop=False: past the bound,
        # Autobahn too answers with close 1009, not a bare drop.
        options = dict(maxMessagePayloadSize=RECEIVE_BOUND, maxFramePayloadSize=RECEIVE_BOUND,
                       webStatus=False, failByDrop=False, perMessageCompressionAccept=accept_deflate,
                       closeHandshakeTimeout=CLOSE_TIMEOUT)
        if ping_seconds > 0:
            options.update(autoPingInterval=ping_seconds, autoPingTimeout=min(ping_timeout, ping_seconds))
        self.setProtocolOptions(**options)

    def buildProtocol(self, addr):
        if self._pending_site is None:
            return None
        protocol = super().buildProtocol(addr)
        protocol.site = self._pending_site
        return protocol


class SiteSockets:
    """The C{/ws} endpoint of every site, backed by one L{HubRegistry}."""

    def __init__(self, registry: HubRegistry, ping_seconds: float = 30.0, ping_timeout: float = 10.0) -> None:
        self.registry = registry
        self.factory = SiteSocketFactory(registry, ping_seconds, ping_timeout)
        self._resource = WebSocketResource(self.factory)

    def render(self, request: Request, site: str) -> bytes | int:
        """Upgrade C{request} to a WebSocket in C{site}'s hub, or answer 426 to a plain request."""
        upgrade = (request.getHeader(b"upgrade") or b"").lower()
        if request.method != b"GET" or b"websocket" not in upgrade:
            request.setResponseCode(426)
            request.setHeader(b"upgrade", b"websocket")
            request.setHeader(b"connection", b"Upgrade")
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return b"This address takes WebSocket connections only.\n"
        self.factory._pending_site = site
        try:
            return self._resource.render(request)
        finally:
            self.factory._pending_site = None
