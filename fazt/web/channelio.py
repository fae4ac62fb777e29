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
"""

from __future__ import annotations

from typing import Optional

from twisted.web.http import NO_BODY_CODES
from twisted.web.http_headers import Headers

from fazt.ws.hub import pending_bytes, write_now


class LeanChannelMixin:
    """Mixed in before C{HTTPChannel}; see the module docstring. Uses C{self.transport} and
    C{self.requests}."""

    _held_head: Optional[bytes] = None

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
