"""The request class of fazt's web site: bounded bodies, no form parsing in the reactor.

Twisted would parse multipart bodies into memory in C{requestReceived}; fazt parses uploads
itself, streaming, on a thread. Bodies larger than the route allows are refused with 413 as
soon as the declared length (or the running total of a chunked body) says so, before they are
written to disk; the connection then drains what the client still sends (L{FaztChannel.refuse}),
so that the client reads the 413 instead of a connection reset.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Optional
from urllib.parse import unquote_to_bytes

from twisted.python.failure import Failure
from twisted.web.server import Request, version

from fazt.base.errors import payload_too_large

if TYPE_CHECKING:
    from fazt.web.auth import Principal


class FaztRequest(Request):
    """A request whose body is bounded by C{site.body_limit(path, host)}.

    It also carries the state fazt's layers keep about one request, declared here with their
    defaults so that every module can read them without guessing:

    @ivar fazt_principal: who the request was authenticated as (L{fazt.web.auth.Principal}),
        set by L{fazt.web.auth.Authenticator.api_key} and read by its audit log; None until then.
    @ivar fazt_metrics: C{(site, start time)} of a site request, set by the request counter
        (L{fazt.web.metrics.RequestCounter.hook}) and read when the request finishes; None for
        requests that are not a site's.
    @ivar fazt_before_headers: called with the request just before its headers are written
        (whatever wrote the response: a file, a script, an error page), e.g. the noindex of a
        preview host and the cache headers of a traffic split (L{fazt.web.rollout}); None: nothing.
    @ivar _fazt_gone: whether the client went away before the answer was written (True), is still
        there (False), or nobody has started watching (None); kept by
        L{fazt.base.responses.track_disconnect} so that late writers skip a closed request.
    """

    fazt_principal: Optional["Principal"] = None
    fazt_metrics: Optional[tuple[str, float]] = None
    fazt_before_headers: Optional[Callable[["FaztRequest"], None]] = None
    _fazt_gone: Optional[bool] = None

    def __init__(self, channel, *args, **kwargs) -> None:
        kwargs["parsePOSTFormSubmission"] = False
        super().__init__(channel, *args, **kwargs)
        self._body_limit = None
        self._body_seen = 0
        self._refused = False

    def write(self, data: bytes) -> None:
        if self.fazt_before_headers is not None and not self.startedWriting:
            before, self.fazt_before_headers = self.fazt_before_headers, None
            before(self)
        super().write(data)

    def gotLength(self, length) -> None:
        site = getattr(self.channel, "site", None)
        target = getattr(self.channel, "target", b"/")  # set by FaztChannel before the headers end
        if site is not None and hasattr(site, "body_limit"):
            self._body_limit = site.body_limit(target, self.getHeader(b"host"))
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

    def process(self) -> None:
        """Find the resource and render it, as twisted.web's C{Request.process} does, but with the
        C{Date} header from the site's once-a-second value (L{fazt.web.root.FaztSite.http_date}):
        Twisted formats the clock for every request, which costs more than the rest of its set-up."""
        http_date = getattr(self.channel.site, "http_date", None)
        if http_date is None or self.path == b"*":
            super().process()  # another site, or the rare "OPTIONS *": Twisted's own handling
            return
        self.site = self.channel.site
        self.setHeader(b"Server", version)
        self.setHeader(b"Date", http_date())
        self.prepath = []
        self.postpath = [unquote_to_bytes(segment) for segment in self.path[1:].split(b"/")]
        try:
            resource = self.site.getResourceFor(self)
            encoder_for = getattr(resource, "getEncoder", None)  # an EncodingResourceWrapper's, if any
            encoder = encoder_for(self) if encoder_for is not None else None
            if encoder is not None:
                self._encoder = encoder
            self.render(resource)
        except BaseException:
            self.processingFailed(Failure())

    def _refuse(self) -> None:
        """Answer 413 at once; the body is never stored."""
        self._refused = True
        self.content = None
        # FaztChannel: answers in the envelope, counts the refusal, then drains the rest of the body.
        self.channel.refuse(payload_too_large(f"request body is larger than {self._body_limit} bytes"))
