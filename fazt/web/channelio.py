"""The cheap parts of an HTTP connection: how a response reaches the socket, the idle timer, addresses.

L{LeanChannelMixin} goes in front of C{HTTPChannel} in L{fazt.web.channel.FaztChannel}. Each of its
pieces replaces per-request work twisted.web does that a server answering thousands of small
requests a second pays for on every one (bench/README.md gives what each saved, measured):

- B{One send per response, now.} C{HTTPChannel.writeHeaders} hands the head to the transport and the
  body follows in a second write; Twisted's transport only buffers, so the bytes leave on the next
  reactor turn, after two C{epoll_ctl} calls (watch for writability, stop watching) around the send.
  Here a head whose body is known to follow (a C{Content-Length} above 0, not HEAD, a status with a
  body) is held and sent together with the body's first write, and every write on a plain TCP
  connection with nothing queued goes straight to the socket (L{fazt.ws.hub.write_now}: what the
  socket does not take is queued by Twisted as usual, after what was sent, so order holds). A held
  head is never left behind: the end of the request, a close, or any other write sends it first.
- B{One idle timer per connection.} C{HTTPChannel} cancels its idle timer when a request arrives and
  makes a new one when the answer ends (a C{callLater} and a cancel per request), and moves it on
  every read. Here the timer stays armed; it records only when the connection last did something,
  and when it fires early it is re-armed for the time left (as the head deadline is,
  L{fazt.web.headdeadline}).
- B{Addresses read once.} C{Request.__init__} asks the channel for both addresses on every request,
  and the server's side is a C{getsockname} system call each time; a connection's addresses do not
  change, so the first answers are kept.
"""

from __future__ import annotations

from typing import Any, Optional

from twisted.web.http import NO_BODY_CODES
from twisted.web.http_headers import Headers

from fazt.ws.hub import pending_bytes, write_now


class LeanChannelMixin:
    """Mixed in before C{HTTPChannel}; see the module docstring. Uses C{self.transport},
    C{self.requests}, C{self.timeOut}, C{self.callLater} and C{self.site.reactor}."""

    _held_head: Optional[bytes] = None
    _idle_timer: Any = None
    _last_active = 0.0
    _host_address: Any = None
    _peer_address: Any = None

    # -- output ------------------------------------------------------------------------------

    def writeHeaders(self, version: bytes, code: bytes, reason: bytes, headers) -> None:
        if not isinstance(headers, Headers):
            self.flush_head()
            super().writeHeaders(version, code, reason, headers)  # Twisted sanitises other shapes itself
            return
        head = [version, b" ", code, b" ", reason, b"\r\n"]
        for name, values in headers.getAllRawHeaders():
            for value in values:
                head.extend((name, b": ", value, b"\r\n"))
        head.append(b"\r\n")
        data = b"".join(head)
        if self._body_follows(code, headers):
            self.flush_head()
            self._held_head = data
        else:
            self._send(data)

    def write(self, data: bytes) -> None:
        self._send(data)

    def writeSequence(self, iovec) -> None:
        self._send(b"".join(iovec))

    def flush_head(self) -> None:
        """Send a held response head now (before anything else is written or the connection closes)."""
        if self._held_head is not None:
            head, self._held_head = self._held_head, None
            self._send_now(head)

    def _body_follows(self, code: bytes, headers: Headers) -> bool:
        length = headers.getRawHeaders(b"content-length")
        if not length or length[0] == b"0" or int(code) in NO_BODY_CODES:
            return False
        request = self.requests[0] if self.requests else None
        return request is not None and request.method != b"HEAD"

    def _send(self, data: bytes) -> None:
        if self._held_head is not None:
            data, self._held_head = self._held_head + data, None
        if data:
            self._send_now(data)

    def _send_now(self, data: bytes) -> None:
        transport = self.transport
        if transport is not None:
            write_now(transport, data, pending_bytes(transport))

    def requestDone(self, request) -> None:
        self.flush_head()
        super().requestDone(request)

    def loseConnection(self) -> None:
        self.flush_head()
        super().loseConnection()

    # -- the idle timer (TimeoutMixin's public methods, one DelayedCall per connection) --------

    def setTimeout(self, period: Optional[float]) -> Optional[float]:
        previous, self.timeOut = self.timeOut, period
        if period is not None:
            now = self._last_active = self.site.reactor.seconds()
            if self._idle_timer is None:
                self._idle_timer = self.callLater(period, self._idle_deadline)
            elif self._idle_timer.getTime() > now + period:
                self._idle_timer.reset(period)  # a shorter period than the timer was armed for
        return previous

    def resetTimeout(self) -> None:
        if self.timeOut is not None:
            self._last_active = self.site.reactor.seconds()

    def _idle_deadline(self) -> None:
        self._idle_timer = None
        if self.timeOut is None:
            return  # a request is being handled; setTimeout re-arms when it ends
        remaining = self._last_active + self.timeOut - self.site.reactor.seconds()
        if remaining > 0:
            self._idle_timer = self.callLater(remaining, self._idle_deadline)
            return
        self.timeoutConnection()

    def cancel_idle_timer(self) -> None:
        """Stop the idle timer for good (the connection is gone)."""
        if self._idle_timer is not None and self._idle_timer.active():
            self._idle_timer.cancel()
        self._idle_timer = None

    # -- addresses -----------------------------------------------------------------------------

    def getHost(self):
        if self._host_address is None:
            self._host_address = super().getHost()
        return self._host_address

    def getPeer(self):
        if self._peer_address is None:
            self._peer_address = super().getPeer()
        return self._peer_address
