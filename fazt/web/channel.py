"""fazt's HTTP/1.1 connection: Twisted's parser, with the framing rules and timeouts of SPEC §18.

L{FaztChannel} is the L{HTTPChannel} of L{fazt.web.root.FaztSite}. On top of Twisted's parser it

- refuses duplicate or missing C{Host} headers and odd request targets (400), dispatches an
  absolute-form target (C{GET http://blog.D/about}) as its path on its host (RFC 9112 §3.2.2);
- answers an over-long request line with 414 and too many or too large headers with 431;
- gives a request's head C{header_timeout} seconds from its first byte (from the connection's
  opening for the first request), however slowly it trickles in (L{fazt.web.headdeadline}), then
  answers 408 if some of it came; an idle
  keep-alive connection closes after C{idle_timeout} (Twisted's own idle timer, reset by bytes);
- asks the site whether a request with a body is admitted before reading that body
  (L{fazt.web.root.FaztSite.admit}: a deploy's credentials), pausing the transport meanwhile, and
  sends C{100 Continue} only once it is;
- refuses early (413, 401, ...) without a connection reset: the answer is written, the write side
  shut, and the rest of the body read and dropped for a bounded time and size, as nginx's lingering
  close does, so that curl, browsers and Python's http.client read the answer;
- supports half-close (L{IHalfCloseableProtocol}): a client that shuts its sending side after the
  request (C{nc -N}, some proxies) still gets the whole answer, and then the connection closes.

It reads C{HTTPChannel}'s C{requests}, C{length}, C{persistent} and C{_handlingRequest}, and
overrides C{_respondToBadRequestAndDisconnect} so that Twisted's own 400s linger like ours; these
are the parser's documented instance variables (see its docstring), not available otherwise.
"""

from __future__ import annotations

from typing import Any, Optional

from twisted.internet.interfaces import IHalfCloseableProtocol, IPushProducer
from twisted.logger import Logger
from twisted.web.http import HTTPChannel
from zope.interface import implementer

from fazt.base.errors import ApiError
from fazt.web.channelio import LeanChannelMixin
from fazt.web.framing import (ChannelLimits, FramingError, check_host_headers, envelope_response, parse_target,
                              refusal)
from fazt.web.headdeadline import HeadDeadline
from fazt.base.responses import is_event_stream

_log = Logger()
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


@implementer(IHalfCloseableProtocol)
class FaztChannel(LeanChannelMixin, HTTPChannel):
    """One HTTP/1.1 connection of a L{fazt.web.root.FaztSite}; see the module docstring (and
    L{LeanChannelMixin} for how responses are written, the idle timer and the addresses)."""

    def __init__(self, limits: ChannelLimits = ChannelLimits()) -> None:
        super().__init__()
        self.limits = limits
        # One line may hold the whole header block; the finer limits are checked per line.
        self.MAX_LENGTH = max(limits.max_request_line, limits.max_header_bytes)
        # Twisted's own caps answer a bare 400; ours (414, 431) must come first.
        self.totalHeadersSize = limits.max_request_line + limits.max_header_bytes + 1024
        self.maxHeaders = limits.max_header_lines + 1
        self.method = b"GET"           # the method of the request being received
        self.target = b"/"             # ... and its origin-form target
        self._request_version = b"HTTP/1.1"
        self._authority: Optional[bytes] = None
        self._in_head = False          # the request line was read, its headers are coming
        self._partial = False          # some bytes of the next request have arrived
        self._head = HeadDeadline(limits.header_timeout, self._head_expired, self._now, self._call_later)
        self._header_bytes = 0
        self._header_lines = 0
        self._held: Optional[list[bytes]] = None   # body bytes read while admission is pending
        self._refused = False
        self._drained = 0
        self._drain_timer: Any = None
        self._read_closed = False
        self._gone = False

    # -- connection lifetime -----------------------------------------------------------------

    def connectionMade(self) -> None:
        super().connectionMade()
        self._head.begin()

    def connectionLost(self, reason) -> None:
        self._gone = True
        self._cancel_timers()
        super().connectionLost(reason)

    def readConnectionLost(self) -> None:
        """The client shut its sending side: answer what is in flight, then close."""
        self._read_closed = True
        in_flight = self._handlingRequest and self.requests
        if self._refused or not in_flight or is_event_stream(self.requests[0]):
            # Nothing more can arrive to complete a request; an endless event stream has no end to wait for.
            self._close()

    def writeConnectionLost(self) -> None:
        """Our sending side was shut (after a refusal); keep reading until the drain ends."""

    def requestDone(self, request) -> None:
        super().requestDone(request)
        if self._read_closed and not self._handlingRequest:
            self._close()  # no complete request is left to answer

    def _close(self) -> None:
        if not self._gone and self.transport is not None and not self.transport.disconnecting:
            self.loseConnection()

    # -- parsing -----------------------------------------------------------------------------

    def dataReceived(self, data: bytes) -> None:
        if self._refused:
            self._drained += len(data)
            if self._drained > self.limits.drain_bytes:
                self._close()
            return
        if data and self.line_mode and not self._handlingRequest:
            if not self._head.awaited:
                self._head.begin()  # the first byte of a request on a kept-alive connection
            self._partial = True
        super().dataReceived(data)

    def lineReceived(self, line: bytes) -> None:
        if self._refused:
            return
        if not self._in_head:
            if line:
                try:
                    line = self._request_line(line)
                except FramingError as error:
                    self.refuse(error)
                    return
            super().lineReceived(line)
            return
        if not line:
            self._in_head = self._partial = False
            self._head.end()
            super().lineReceived(line)
            return
        self._header_bytes += len(line)
        self._header_lines += 1
        if self._header_bytes > self.limits.max_header_bytes or self._header_lines > self.limits.max_header_lines:
            self.refuse(refusal(431, "the request's headers are too large"))
            return
        super().lineReceived(line)

    def _request_line(self, line: bytes) -> bytes:
        """Check one request line; the line to parse (an absolute-form target made origin-form)."""
        if len(line) > self.limits.max_request_line:
            raise refusal(414, "the request line is too long")
        parts = line.split(b" ")
        self._in_head = True
        self._header_bytes = self._header_lines = 0
        self._authority = None
        if len(parts) != 3:
            return line  # Twisted's parser answers it with 400
        self.method, target, self._request_version = parts
        self.target, self._authority = parse_target(self.method, target)
        return b" ".join((self.method, self.target, self._request_version))

    def lineLengthExceeded(self, line: bytes) -> None:
        if not self._refused:
            too_long = refusal(414, "the request line is too long") if not self._in_head else refusal(
                431, "the request's headers are too large")
            self.refuse(too_long)

    def allHeadersReceived(self) -> None:
        request = self.requests[-1]
        try:
            check_host_headers(request.requestHeaders.getRawHeaders(b"host"), self._request_version)
        except FramingError as error:
            self.refuse(error)
            return
        if self._authority is not None:
            request.requestHeaders.setRawHeaders(b"host", [self._authority])  # RFC 9112 §3.2.2
        request.parseCookies()
        self.persistent = self.checkPersistence(request, self._request_version)
        request.gotLength(self.length)  # FaztRequest refuses an over-long declared body (413)
        if self._refused:
            return
        admission = self.site.admit(request, self.method, self.target) if self.length != 0 else None
        if admission is None:
            self._continue(request)
            return
        self._held = []
        self._pause_reading()
        admission.addCallbacks(self._admitted, self._not_admitted, (request,), None, (request,))

    def _continue(self, request) -> None:
        """Send C{100 Continue} if the client waits for it: its request was accepted so far."""
        expect = request.requestHeaders.getRawHeaders(b"expect")
        if expect and expect[0].lower() == b"100-continue" and self._request_version == b"HTTP/1.1":
            self.transport.write(CONTINUE)

    def _admitted(self, result, request) -> None:
        if self._gone or self._refused:
            return
        held, self._held = self._held or [], None
        self._continue(request)
        self._resume_reading()
        if held:
            self.rawDataReceived(b"".join(held))

    def _not_admitted(self, failure, request) -> None:
        if self._gone or self._refused:
            return
        if failure.check(ApiError):
            self.refuse(failure.value)
            return
        # The full check runs again when the request is dispatched; it answers this failure there.
        _log.failure("admission check failed", failure)
        self._admitted(None, request)

    def rawDataReceived(self, data: bytes) -> None:
        if self._refused:
            return
        if self._held is not None:
            self._held.append(data)
            self._pause_reading()
            return
        super().rawDataReceived(data)

    def allContentReceived(self) -> None:
        if not self._refused:
            super().allContentReceived()

    # -- refusing ----------------------------------------------------------------------------

    def refuse(self, error: ApiError) -> None:
        """Answer C{error} in the JSON envelope (with C{Connection: close}) and drain the request.

        The write side is shut after the answer; what the client still sends is read and dropped
        until it closes, or for C{drain_seconds} / C{drain_bytes} at most, so that it sees the
        answer rather than a connection reset. The refusal is counted (C{site.refusals}): no
        resource, and so no request counter, ever sees it.
        """
        if self._refused or self._gone:
            return
        response = envelope_response(error)
        self.flush_head()  # a response still being sent goes out before the refusal
        self.site.refusals.count(error.status)
        self._refused = True
        self.persistent = False
        self._held = None
        self._cancel_timers()
        self.setTimeout(None)
        self.clearLineBuffer()
        self.transport.write(response)
        if self._read_closed:
            self._close()
            return
        shut_writing = getattr(self.transport, "loseWriteConnection", None)
        if shut_writing is not None and not self.isSecure():
            # Plain sockets only: under TLS the wrapper would pass it past the TLS layer to the socket.
            shut_writing()
        self._resume_reading()
        self._drain_timer = self.callLater(self.limits.drain_seconds, self._drain_over)

    def _respondToBadRequestAndDisconnect(self) -> None:
        # Overrides Twisted's bare 400 (bad request line, header, length or chunk) to drain alike.
        self.refuse(refusal(400, "the request is malformed"))

    def _drain_over(self) -> None:
        self._drain_timer = None
        self._close()

    # -- timers and reading ------------------------------------------------------------------

    def _now(self) -> float:
        return self.site.reactor.seconds()

    def _call_later(self, delay: float, fn) -> Any:
        return self.callLater(delay, fn)  # read at each use: HTTPFactory sets callLater after __init__

    def _head_expired(self) -> None:
        if self._refused:
            return
        if self._partial:
            self.flush_head()
            self.site.refusals.count(408)
            self.transport.write(envelope_response(refusal(408, "the request's headers took too long")))
        self.timeoutConnection()

    def _cancel_timers(self) -> None:
        self._head.cancel()
        self.cancel_idle_timer()
        if self._drain_timer is not None and self._drain_timer.active():
            self._drain_timer.cancel()
        self._drain_timer = None

    def _pause_reading(self) -> None:
        producer = IPushProducer(self.transport, None)
        if producer is not None:
            producer.pauseProducing()

    def _resume_reading(self) -> None:
        producer = IPushProducer(self.transport, None)
        if producer is not None:
            producer.resumeProducing()
