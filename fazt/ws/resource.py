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
from fazt.ws.protocol import MAX_MESSAGE, SiteSocketProtocol, receive_bound

# How long a client has to answer the server's close frame before the TCP connection is cut.
# Autobahn's 1 s is too short for a client still uploading a message that was refused (over the
# cap): it reads the 1009 only after it has written the rest, and the cut discards the close frame
# if it is still unsent, so the client would see a dropped connection instead of 1009.
CLOSE_TIMEOUT = 5.0
# The zlib state a deflate connection keeps once used, smaller than zlib's defaults (window 15,
# memLevel 8: about 260 KiB to compress plus 40 KiB to inflate): deflate takes about
# 2**(WINDOW_BITS + 2) + 2**(MEM_LEVEL + 9) bytes, inflate 2**WINDOW_BITS plus ~7 KiB. A 4 KiB
# window still spans several chat messages, so context takeover keeps most of its gain.
# Figures: bench/README.md ("permessage-deflate memory").
WINDOW_BITS = 12
MEM_LEVEL = 5


def accept_deflate(offers):
    """Accept the client's first permessage-deflate offer with bounded memory (RFC 7692).

    The server compresses with a window of at most L{WINDOW_BITS} (smaller if the client asks;
    any window fits the client's inflater) and L{MEM_LEVEL}; a client that allows it
    (C{client_max_window_bits} in its offer, as browsers send) is asked to compress with a window
    of L{WINDOW_BITS} too, so that inflating its messages needs no more. Compressed messages
    count against the cap once inflated (Autobahn stops inflating at the receive bound).
    """
    for offer in offers:
        if isinstance(offer, PerMessageDeflateOffer):
            asked = offer.request_max_window_bits
            return PerMessageDeflateOfferAccept(
                offer, request_max_window_bits=WINDOW_BITS if offer.accept_max_window_bits else 0,
                window_bits=min(WINDOW_BITS, asked) if asked else WINDOW_BITS, mem_level=MEM_LEVEL)
    return None


def refuse_deflate(offers):
    """With C{--ws-deflate off}: no extension is negotiated, whatever the client offers."""
    return None


class SiteSocketFactory(WebSocketServerFactory):
    """Builds L{SiteSocketProtocol}s for the site named by the request being rendered.

    C{max_message} is the cap on one message in bytes (L{SiteSocketProtocol} enforces it);
    C{deflate} whether permessage-deflate is accepted.
    """

    protocol = SiteSocketProtocol

    def __init__(self, registry: HubRegistry, ping_seconds: float = 30.0, ping_timeout: float = 10.0,
                 max_message: int = MAX_MESSAGE, deflate: bool = True) -> None:
        super().__init__()
        self.registry = registry
        self.max_message = max_message
        self._pending_site: Optional[str] = None
        # The exact cap is the protocol's (see receive_bound); failByDrop=False: past the bound,
        # Autobahn too answers with close 1009, not a bare drop.
        bound = receive_bound(max_message)
        options = dict(maxMessagePayloadSize=bound, maxFramePayloadSize=bound,
                       webStatus=False, failByDrop=False,
                       perMessageCompressionAccept=accept_deflate if deflate else refuse_deflate,
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

    def __init__(self, registry: HubRegistry, ping_seconds: float = 30.0, ping_timeout: float = 10.0,
                 max_message: int = MAX_MESSAGE, deflate: bool = True) -> None:
        self.registry = registry
        self.factory = SiteSocketFactory(registry, ping_seconds, ping_timeout, max_message, deflate)
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
