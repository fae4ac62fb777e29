"""Per-site hubs of connected WebSocket clients, with connection limits and slow-reader dropping.

A hub exists while a site has at least one client; it is created by the first connection and
dropped with the last one. Broadcasting never waits for a client: a client whose unsent output
has grown past a bound is closed (1008) and skipped, so one slow reader cannot stall the others.
"""

from __future__ import annotations

from typing import Any, Optional

from autobahn.websocket.protocol import PreparedMessage, WebSocketProtocol
from twisted.internet import tcp
from twisted.logger import Logger

_log = Logger()

MIB = 1024 * 1024
# Close code for a client dropped by policy (here: it stopped reading).
POLICY_VIOLATION = 1008
STATE_OPEN = WebSocketProtocol.STATE_OPEN
# Close code for a server going away: browsers' WebSocket clients may reconnect on it.
GOING_AWAY = 1001


def pending_bytes(transport: Any) -> int:
    """Bytes written to C{transport} (and any transport it wraps, e.g. TLS) but not yet sent.

    Twisted's socket transports keep unsent output in C{dataBuffer} (from C{offset}) plus a
    list of later writes counted by C{_tempDataLen}; transports without them count as empty.
    """
    total = 0
    seen = 0
    while transport is not None and seen < 4:
        buffer = getattr(transport, "dataBuffer", None)
        if isinstance(buffer, (bytes, bytearray, memoryview)):
            total += max(0, len(buffer) - getattr(transport, "offset", 0))
        temp = getattr(transport, "_tempDataLen", 0)
        if isinstance(temp, int):
            total += temp
        transport = getattr(transport, "transport", None)
        seen += 1
    return total


class HubFull(Exception):
    """The site, or the whole server, has as many WebSocket clients as it may."""


class HubRegistry:
    """All sites' hubs. C{broadcast} and C{clients} are the host calls C{socket.*} of C{main.js}."""

    def __init__(self, max_per_site: int = 1000, max_total: int = 10000, max_pending: int = MIB) -> None:
        self.max_per_site = max_per_site
        self.max_total = max_total
        self.max_pending = max_pending
        self._hubs: dict[str, set] = {}
        self._total = 0
        self._watchers: list = []

    def watch(self, callback) -> None:
        """Call C{callback(site)} whenever the number of C{site}'s clients changes."""
        self._watchers.append(callback)

    def _changed(self, site: str) -> None:
        for callback in self._watchers:
            try:
                callback(site)
            except Exception:
                _log.failure("A watcher of the WebSocket hubs failed")

    # -- membership -------------------------------------------------------------------

    def join(self, site: str, client: Any) -> None:
        """Add C{client} to C{site}'s hub (creating it); raise L{HubFull} at a limit."""
        hub = self._hubs.get(site)
        if hub is not None and client in hub:
            return
        if self._total >= self.max_total or (hub is not None and len(hub) >= self.max_per_site):
            raise HubFull(site)
        if hub is None:
            hub = self._hubs[site] = set()
        hub.add(client)
        self._total += 1
        if self._watchers:
            self._changed(site)

    def holds(self, site: str, client: Any) -> bool:
        """Whether C{client} is one of C{site}'s clients here."""
        return client in self._hubs.get(site, ())

    def leave(self, site: str, client: Any) -> None:
        """Remove C{client} from C{site}'s hub, dropping the hub when it empties. Idempotent."""
        hub = self._hubs.get(site)
        if hub is None or client not in hub:
            return
        hub.discard(client)
        self._total -= 1
        if not hub:
            del self._hubs[site]
        if self._watchers:
            self._changed(site)

    def close_all(self, reason: str = "server shutting down") -> int:
        """Send every client of every site a close (1001) and forget them; returns how many."""
        clients = [(site, client) for site, hub in self._hubs.items() for client in hub]
        for site, client in clients:
            self.leave(site, client)
            close_with(client, GOING_AWAY, reason)
        return len(clients)

    def sites(self) -> list[str]:
        """Names of the sites that have a hub (at least one client) right now."""
        return sorted(self._hubs)

    def total(self) -> int:
        """Clients connected across all sites."""
        return self._total

    # -- the SocketHub interface of fazt.runtime.host ---------------------------------

    def clients(self, site: str) -> int:
        """How many clients C{site} has."""
        return len(self._hubs.get(site, ()))

    def broadcast(self, site: str, message: str | bytes, binary: bool = False) -> int:
        """Send C{message} (text, or bytes as received) to every client of C{site}.

        Returns how many clients it was queued for.
        """
        hub = self._hubs.get(site)
        if not hub:
            return 0
        payload = message.encode("utf-8") if isinstance(message, str) else bytes(message)
        frames = _Frames(payload, binary)
        reached = 0
        for client in list(hub):
            if self._send(site, client, frames, len(payload)):
                reached += 1
        return reached

    def _send(self, site: str, client: Any, frames: "_Frames", size: int) -> bool:
        backlog = pending_bytes(getattr(client, "transport", None))
        if backlog + size > self.max_pending:
            self._drop_slow(site, client, backlog)
            return False
        try:
            _deliver(client, frames, backlog)
        except Exception:
            _log.failure("Sending to a WebSocket client of {site} failed; dropping it", site=site)
            self.leave(site, client)
            _abort(client)
            return False
        return True

    def _drop_slow(self, site: str, client: Any, backlog: int) -> None:
        _log.info("Dropping a WebSocket client of {site}: {backlog} bytes unsent", site=site, backlog=backlog)
        self.leave(site, client)
        # The close frame may never be read; Autobahn's close-handshake timeout then drops the TCP connection.
        close_with(client, POLICY_VIOLATION, "too slow: output backlog exceeded")


class _Frames:
    """One broadcast message, framed once for all clients and only as needed.

    Server frames are unmasked, so every client without compression gets the same bytes. A client
    with permessage-deflate compresses each message in its own context (Autobahn does that, given
    the payload); but Autobahn refuses to send anything whose compressed form exceeds the
    connection's C{maxMessagePayloadSize}, and incompressible data grows by a few bytes when
    deflated, so a message that close to the bound goes to such clients uncompressed (RSV1 clear),
    which the extension allows.
    """

    # Deflate's worst case adds about 5 bytes per 16 KiB stored block plus a few: well under this.
    COMPRESSION_SLACK = 1024

    def __init__(self, payload: bytes, binary: bool) -> None:
        self.payload = payload
        self.binary = binary
        self._compressible: Optional[PreparedMessage] = None
        self._plain: Optional[PreparedMessage] = None

    def compressible(self) -> PreparedMessage:
        """The message as Autobahn sends it: compressed on deflate connections, else as framed."""
        if self._compressible is None:
            self._compressible = PreparedMessage(self.payload, self.binary, applyMask=False, doNotCompress=False)
        return self._compressible

    def plain(self) -> PreparedMessage:
        """The message never compressed, on any connection."""
        if self._plain is None:
            self._plain = PreparedMessage(self.payload, self.binary, applyMask=False, doNotCompress=True)
        return self._plain

    def for_deflate(self, cap: int) -> PreparedMessage:
        """What to send a deflate client whose C{maxMessagePayloadSize} is C{cap} (0: none)."""
        if 0 < cap < len(self.payload) + self.COMPRESSION_SLACK:
            return self.plain()
        return self.compressible()


def _deliver(client: Any, frames: _Frames, backlog: int) -> None:
    """Send a broadcast message to one client (C{backlog}: its bytes still unsent, see L{pending_bytes}).

    Autobahn's C{sendPreparedMessage} formats a debug log line (disabled or not) for every
    send, a fifth of a broadcast's CPU with a thousand clients. An open connection with nothing
    queued and no compression takes the frame's bytes straight; anything else goes through Autobahn.
    C{_perMessageCompress} and C{send_queue} are Autobahn's internals (read only, guarded by the
    defaults): the first is the connection's compression (None without), the second its queue of
    frames waiting to be sent.
    """
    compression = getattr(client, "_perMessageCompress", True)
    if compression is None:
        if getattr(client, "state", None) == STATE_OPEN and not getattr(client, "send_queue", True):
            write_now(client.transport, frames.plain().payloadHybi, backlog)
        else:
            client.sendPreparedMessage(frames.plain())
    else:
        client.sendPreparedMessage(frames.for_deflate(getattr(client, "maxMessagePayloadSize", 0)))


def write_now(transport: Any, data: bytes, backlog: int) -> None:
    """Write C{data} to C{transport}, straight to its socket when nothing is waiting before it.

    Twisted's C{write} only buffers: the bytes go out on the next reactor turn, after two
    epoll changes (watch for writability, then stop watching) around one send, which for a
    broadcast to a thousand idle clients is most of the work. A plain TCP connection with an
    empty buffer can take the frame now; what the socket does not take (a slow reader, a full
    kernel buffer) is buffered by Twisted as usual, after what was sent, so order holds.
    TLS connections (and anything else) always go through C{write}.
    """
    if (backlog == 0 and type(transport) is tcp.Server and transport.connected
            and not transport.disconnecting):
        try:
            sent = transport.socket.send(data)
        except OSError:  # EAGAIN, or an error Twisted's own write path will notice and report
            sent = 0
        if sent >= len(data):
            return
        data = data[sent:]
    transport.write(data)


def close_with(client: Any, code: int, reason: str) -> None:
    """Start the closing handshake with C{code}, or cut the connection if that cannot be done.

    Autobahn's public C{sendClose} accepts only 1000 and 3000-4999; the protocol codes a server
    needs (1001 going away, 1008 policy, 1009 too big) go through the frame-level call it uses itself.
    """
    try:
        client.sendCloseFrame(code=code, reasonUtf8=reason.encode("utf-8")[:120], isReply=False)
    except Exception:
        _abort(client)


def _abort(client: Any) -> None:
    """Cut C{client}'s connection without ceremony."""
    transport: Optional[Any] = getattr(client, "transport", None)
    if transport is not None:
        try:
            transport.abortConnection()
        except Exception:
            transport.loseConnection()
