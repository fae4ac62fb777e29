"""The server side of one site's WebSocket connection: origin check, limits, relaying to the hub.

Autobahn swallows exceptions from C{onConnect} (into an HTTP 500) and from C{onOpen} (a Deferred
without errback), so both are wrapped and logged here. C{.log} is Autobahn's own: never assigned.
Text and binary messages alike go to every client of the site, the sender included.
"""

from __future__ import annotations

from typing import Optional
from urllib.parse import urlsplit

from autobahn.twisted.websocket import WebSocketServerProtocol
from autobahn.websocket.types import ConnectionDeny
from twisted.internet.interfaces import ISSLTransport
from twisted.logger import Logger

from fazt.ws.hub import HubFull, HubRegistry, close_with

_log = Logger()

# SPEC §8: a message (all its fragments, inflated) may be 64 KiB (--ws-max-message-kb changes it);
# a bigger one is answered with 1009.
MAX_MESSAGE = 64 * 1024
MESSAGE_TOO_BIG = 1009


def receive_bound(max_message: int) -> int:
    """What Autobahn itself may buffer for one message or frame (see SiteSocketFactory).

    Twice the cap, so that Autobahn never refuses a message within it: deflated, C{max_message}
    incompressible bytes are a few bytes longer, and while inflating a frame that arrives in
    several reads Autobahn counts the frame's compressed bytes still to come against its bound
    too (up to one frame, so up to the cap). The exact cap is checked in onMessage; anything
    past this bound Autobahn closes with 1009 itself.
    """
    return 2 * max_message


def same_origin(origin: Optional[str], host: Optional[str], secure: bool) -> bool:
    """Whether an C{Origin} header is absent or exactly C{scheme://host[:port]} of this request."""
    if origin is None:
        return True
    if not host:
        return False
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return False
    scheme = "https" if secure else "http"
    if parts.scheme.lower() != scheme or parts.path not in ("", "/") or parts.query or not parts.hostname:
        return False
    default = 443 if secure else 80
    try:
        wanted = urlsplit("//" + host.strip())
        wanted_port = wanted.port or default
    except ValueError:
        return False
    if not wanted.hostname:
        return False
    return parts.hostname.lower() == wanted.hostname.lower() and (port or default) == wanted_port


class SiteSocketProtocol(WebSocketServerProtocol):
    """One client of one site's hub; C{site} is set by the factory before the handshake."""

    site: str = ""
    # False until Autobahn's connectionMade has run to its end (see L{connectionMade}).
    _made: bool = False

    def connectionMade(self):
        """Set up Autobahn's state; if the transport defeats that, drop the connection cleanly.

        Autobahn reads the transport (its peer, its TLS handle) before it sets up any of its own
        state: a transport it does not expect would leave a half-built protocol behind, whose
        every later event raises. Here such a connection is logged once and cut instead.
        """
        try:
            super().connectionMade()
        except Exception:
            _log.failure("WebSocket connection for {site} could not be set up", site=self.site)
            self.transport.abortConnection()
            return
        self._made = True

    def dataReceived(self, data):
        if self._made:
            super().dataReceived(data)

    def connectionLost(self, reason):
        if self._made:  # else it never reached the handshake, so it never joined a hub
            super().connectionLost(reason)

    @property
    def registry(self) -> HubRegistry:
        return self.factory.registry

    def onConnect(self, request):
        try:
            return self._check(request)
        except ConnectionDeny:
            raise
        except Exception:
            _log.failure("WebSocket handshake for {site} failed", site=self.site)
            raise ConnectionDeny(500)

    def _check(self, request) -> None:
        secure = ISSLTransport.providedBy(self.transport)
        if not same_origin(request.headers.get("origin"), request.headers.get("host"), secure):
            raise ConnectionDeny(403, "origin not allowed")
        try:
            # Joined at the handshake so the limit holds; the reply is sent in the same turn.
            self.registry.join(self.site, self)
        except HubFull:
            raise ConnectionDeny(503, "too many connections")
        return None

    def onOpen(self):
        try:
            _log.debug("WebSocket client joined {site}", site=self.site)
        except Exception:
            _log.failure("WebSocket onOpen for {site} failed", site=self.site)

    def onMessage(self, payload: bytes, isBinary: bool):
        if self.state != self.STATE_OPEN:  # closing: what arrives now is not relayed
            return
        cap = self.factory.max_message
        if len(payload) > cap:
            close_with(self, MESSAGE_TOO_BIG, f"message over {cap} bytes")
            return
        try:
            # Within the cap, and text is valid UTF-8 (Autobahn checks it): relayed as received.
            self.registry.broadcast(self.site, payload, binary=isBinary)
        except Exception:
            _log.failure("Relaying a WebSocket message of {site} failed", site=self.site)

    def onClose(self, wasClean, code, reason):
        self.registry.leave(self.site, self)
