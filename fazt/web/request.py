"""The request class of fazt's web site: bounded bodies, no form parsing in the reactor.

Twisted would parse multipart bodies into memory in C{requestReceived}; fazt parses uploads
itself, streaming, on a thread. Bodies larger than the route allows are refused with 413 as
soon as the declared length (or the running total of a chunked body) says so, before they are
written to disk.
"""

from __future__ import annotations

import json

from twisted.web.server import Request


def too_large_response(limit: int) -> bytes:
    body = json.dumps(
        {"error": {"code": "PAYLOAD_TOO_LARGE", "message": f"request body is larger than {limit} bytes"}}
    ).encode("utf-8")
    return (
        b"HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
    ) + body


class FaztRequest(Request):
    """A request whose body is bounded by C{site.body_limit(path)}."""

    def __init__(self, channel, *args, **kwargs) -> None:
        kwargs["parsePOSTFormSubmission"] = False
        super().__init__(channel, *args, **kwargs)
        self._body_limit = None
        self._body_seen = 0
        self._refused = False

    def gotLength(self, length) -> None:
        site = getattr(self.channel, "site", None)
        path = getattr(self.channel, "_path", b"/")
        self._body_limit = site.body_limit(path) if site is not None and hasattr(site, "body_limit") else None
        if length is not None and self._body_limit is not None and length > self._body_limit:
            self._refuse()
            return
        super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:
        if self._refused:
            return
        self._body_seen += len(data)
        if self._body_limit is not None and self._body_seen > self._body_limit:
            self._refuse()
            return
        super().handleContentChunk(data)

    def requestReceived(self, command, path, version) -> None:
        if self._refused:
            return
        super().requestReceived(command, path, version)

    def _refuse(self) -> None:
        """Answer 413 at once and drop the connection; the body is never read."""
        self._refused = True
        self.content = None
        transport = self.channel.transport
        transport.write(too_large_response(self._body_limit))
        transport.loseConnection()
