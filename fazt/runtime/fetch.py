"""Outbound HTTP for site scripts (SPEC §7 C{fetch}): SSRF-safe, bounded, and never failing loudly.

L{SafeFetcher.fetch} checks the URL (L{fazt.runtime.ssrf.check_url}), resolves the name once with an
injected L{IHostnameResolver}, refuses the name if any address is blocked, and then connects to that
checked address itself: the URL host is used only for the C{Host} header and for TLS (SNI and certificate
verification), never for a second DNS lookup, so DNS rebinding cannot redirect the connection.
Redirects are followed by hand and every hop goes through the same checks. Connections are kept
open between fetches (L{PinnedPool}) and lent again only to a fetch pinned to the same address.
"""

from __future__ import annotations

import base64
from typing import Optional
from urllib.parse import urljoin

from twisted.internet.defer import CancelledError, Deferred, succeed
from twisted.internet.error import ConnectError
from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.client import (Agent, BrowserLikePolicyForHTTPS, RequestGenerationFailed, RequestTransmissionFailed,
                                ResponseDone, ResponseFailed)
from twisted.web.http import PotentialDataLoss
from twisted.web.http_headers import Headers
from twisted.web.iweb import UNKNOWN_LENGTH, IBodyProducer
from zope.interface import implementer

from fazt.runtime.pinning import AddressCollector, PinnedEndpoints, PinnedPool
from fazt.runtime.ssrf import DEFAULT_POLICY, AddressPolicy, FetchBlocked, ParsedTarget, check_url, pick_address

MAX_BODY = 1024 * 1024
MAX_SKIPPED_BODY = 64 * 1024  # a redirect's body is read (and dropped) up to this size, else its connection closed
USER_AGENT = b"fazt-fetch"
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Never taken from the script: connection management is ours, and Host always names the URL's host.
DROPPED_REQUEST_HEADERS = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te",
    "trailer", "trailers", "transfer-encoding", "upgrade", "host", "content-length", "expect", "user-agent",
})
CREDENTIAL_HEADERS = frozenset({"authorization", "cookie"})
_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")

_log = Logger()


class FetchError(Exception):
    """A fetch that failed for a reason worth telling the script, as a short message."""


@implementer(IBodyProducer)
class _BytesProducer:
    """A request body that is already in memory."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self.length = len(data)

    def startProducing(self, consumer):
        consumer.write(self._data)
        return succeed(None)

    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        pass


class _LimitedBody(Protocol):
    """Collects a response body into C{finished}; past C{limit} bytes it fails and closes the connection.

    Its C{transport} is this one response's view of the connection: once the body is complete the
    connection is back in the pool and closing that view does nothing, so L{close} never ends a
    connection another fetch may be using. (If the rest of an over-long body completes in the very
    read that overflowed, Twisted pools the closing connection for that moment; a fetch lent it then
    fails like one whose server closed it, and a GET is retried once on a new connection.)
    """

    def __init__(self, limit: int, finished: Deferred) -> None:
        self._limit, self._finished = limit, finished
        self._chunks: list[bytes] = []
        self._size = 0

    def close(self) -> None:
        """Close the connection unless the body is already complete."""
        if self.transport is not None:
            self.transport.loseConnection()

    def dataReceived(self, data: bytes) -> None:
        if self._finished.called:
            return
        self._size += len(data)
        if self._size > self._limit:
            self._finished.errback(FetchError(f"response body larger than {self._limit} bytes"))
            self.close()
            return
        self._chunks.append(data)

    def connectionLost(self, reason=None) -> None:
        if self._finished.called:
            return
        if reason is not None and reason.check(ResponseDone, PotentialDataLoss):
            self._finished.callback(b"".join(self._chunks))
        else:
            self._finished.errback(FetchError("connection lost while reading the response"))


class _Discarded(Protocol):
    """A body nobody reads (too big): closes the connection unless the body is already complete."""

    def connectionMade(self) -> None:
        self.transport.loseConnection()


class SafeFetcher:
    """Fetches URLs for site scripts under the SSRF rules of SPEC §7.

    @param reactor: the reactor (TCP, time, and by default C{nameResolver}).
    @param resolver: an L{IHostnameResolver}; defaults to C{reactor.nameResolver}.
    @param policy: the L{AddressPolicy} (extra reachable networks; none in production).
    @param timeout: seconds for the whole fetch, redirects included.
    @param max_body: the largest response body read, in bytes.
    @param max_redirects: how many redirects are followed.
    @param tls_policy: an L{IPolicyForHTTPS} (C{creatorForNetloc}); defaults to the system trust store.
    @param pool: the L{PinnedPool} of connections kept open between fetches; one of its own by default.
        L{close} closes it.
    """

    def __init__(self, reactor, resolver=None, policy: AddressPolicy = DEFAULT_POLICY, timeout: float = 5.0,
                 max_body: int = MAX_BODY, max_redirects: int = 5, tls_policy=None,
                 pool: Optional[PinnedPool] = None) -> None:
        self._reactor = reactor
        self._resolver = resolver if resolver is not None else reactor.nameResolver
        self._policy = policy
        self._timeout = timeout
        self._max_body = max_body
        self._max_redirects = max_redirects
        self._tls_policy = tls_policy if tls_policy is not None else BrowserLikePolicyForHTTPS()
        self._pool = pool if pool is not None else PinnedPool(reactor)

    def close(self) -> Deferred[None]:
        """Close the connections kept open between fetches (on service stop)."""
        return self._pool.close()

    def fetch(self, url: str, method: str = "GET", headers: Optional[dict] = None,
              body: Optional[str | bytes] = None) -> Deferred[dict]:
        """Fetch C{url}; fires with C{{"status", "headers", "body", "body_base64"}} or C{{"error"}}, never errbacks.

        Response header names are lowercased with their first value. A body that is valid UTF-8
        comes as its text (C{body_base64} false); any other body as the base64 of its bytes
        (C{body_base64} true), so a binary upstream body reaches the script intact.
        """
        return self._guarded(self._fetch(url, method, headers, body))

    def fetch_checked(self, target: ParsedTarget, method: str = "GET", headers: Optional[dict] = None,
                      body: Optional[str | bytes] = None) -> Deferred[dict]:
        """L{fetch} of a target that L{check_url} gave under this fetcher's policy, not parsed again."""
        return self._guarded(self._fetch(target, method, headers, body))

    def _guarded(self, coroutine) -> Deferred[dict]:
        result = Deferred.fromCoroutine(coroutine)
        # Cancelling mid-request surfaces as ResponseNeverReceived etc., so map any timed-out outcome.
        result.addTimeout(self._timeout, self._reactor, onTimeoutCancel=lambda _outcome, _seconds: {"error": "timeout"})
        return result.addErrback(self._as_error)

    async def _fetch(self, url: str | ParsedTarget, method, headers, body) -> dict:
        method, outgoing, payload = _prepare_request(method, headers, body)
        target = url if isinstance(url, ParsedTarget) else check_url(url, self._policy)
        redirects = 0
        while True:
            ip = await self._address_for(target)
            # Failures before the body are Twisted's to clean up: a cancelled or failed request
            # aborts its connection, and only a connection that completed a response is pooled.
            response = await self._send(target, ip, method, outgoing, payload)
            location = response.headers.getRawHeaders(b"location")
            if response.code not in REDIRECT_CODES or not location:
                content = await self._read_body(response)
                return {"status": response.code, "headers": _first_values(response.headers),
                        **_body_fields(content)}
            await self._skip_body(response)
            redirects += 1
            if redirects > self._max_redirects:
                raise FetchError(f"too many redirects (more than {self._max_redirects})")
            next_target = check_url(urljoin(target.url(), _header_text(location[0])), self._policy)
            if (response.code == 303 and method != "HEAD") or (response.code in (301, 302) and method == "POST"):
                method, payload = "GET", None
                outgoing = {k: v for k, v in outgoing.items() if not k.startswith("content-")}
            if next_target.origin != target.origin:
                outgoing = {k: v for k, v in outgoing.items() if k not in CREDENTIAL_HEADERS}
            target = next_target

    async def _address_for(self, target: ParsedTarget) -> str:
        """The checked address to connect to: the literal itself, or one resolution of the name."""
        if target.is_ip_literal:
            return target.host
        collector = AddressCollector()
        try:
            self._resolver.resolveHostName(collector, target.host, target.port)
        except Exception:
            raise FetchError(f"could not resolve host {target.host}") from None
        addresses = await collector.done
        if not addresses:
            raise FetchError(f"could not resolve host {target.host}")
        return pick_address(addresses, self._policy)

    async def _send(self, target: ParsedTarget, ip: str, method: str, outgoing: dict[str, str],
                    payload: Optional[bytes]):
        endpoints = PinnedEndpoints(self._reactor, target, ip, self._tls_policy, self._timeout)
        agent = Agent.usingEndpointFactory(self._reactor, endpoints, pool=self._pool.pinned_to(ip))
        raw = Headers()
        for name, value in outgoing.items():
            raw.setRawHeaders(name.encode("ascii"), [value.encode("utf-8")])
        raw.setRawHeaders(b"host", [target.host_header.encode("ascii")])
        raw.setRawHeaders(b"user-agent", [USER_AGENT])
        producer = _BytesProducer(payload) if payload is not None else None
        uri = f"{target.scheme}://{target.host_header}{target.path}".encode("ascii")
        return await agent.request(method.encode("ascii"), uri, raw, producer)

    def _read_body(self, response, limit: Optional[int] = None) -> Deferred[bytes]:
        limit = self._max_body if limit is None else limit
        if response.length is not UNKNOWN_LENGTH and response.length > limit:
            response.deliverBody(_Discarded())
            raise FetchError(f"response body larger than {limit} bytes")
        finished: Deferred[bytes] = Deferred(lambda _: body.close())
        body = _LimitedBody(limit, finished)
        response.deliverBody(body)
        return finished

    async def _skip_body(self, response) -> None:
        """Read a redirect's body and drop it, so its connection can serve the next hop; close a big one."""
        try:
            await self._read_body(response, MAX_SKIPPED_BODY)
        except FetchError:
            pass

    def _as_error(self, failure: Failure) -> dict:
        if failure.check(CancelledError):
            return {"error": "cancelled"}
        if failure.check(FetchBlocked):
            return {"error": f"blocked: {failure.value.reason}"}
        if failure.check(FetchError):
            return {"error": str(failure.value)}
        if failure.check(ConnectError):
            return {"error": f"connection failed: {_describe(failure)}"}
        if failure.check(ResponseFailed, RequestTransmissionFailed, RequestGenerationFailed):
            reasons = getattr(failure.value, "reasons", None) or [failure]
            return {"error": f"request failed: {_describe(reasons[0])}"}
        _log.failure("unexpected error in fetch", failure)
        return {"error": "fetch failed"}


def _prepare_request(method, headers, body) -> tuple[str, dict[str, str], Optional[bytes]]:
    """(method, lowercase headers the script may set, body bytes), or L{FetchError}."""
    method = (method or "GET").upper() if isinstance(method, str) else ""
    if method not in METHODS:
        raise FetchError(f"unsupported method {method or '(none)'!r}")
    if headers is not None and not isinstance(headers, dict):
        raise FetchError("headers must be an object of names to values")
    if body is not None and not isinstance(body, (str, bytes)):
        raise FetchError("body must be a string")
    outgoing: dict[str, str] = {}
    for name, value in (headers or {}).items():
        name, value = str(name), str(value)
        if not name or not set(name) <= _TOKEN_CHARS:
            raise FetchError(f"invalid header name {name[:40]!r}")
        if any(c in value for c in "\r\n\0"):
            raise FetchError(f"invalid value for header {name!r}")
        if name.lower() not in DROPPED_REQUEST_HEADERS:
            outgoing[name.lower()] = value
    return method, outgoing, body.encode("utf-8") if isinstance(body, str) else body


def _body_fields(content: bytes) -> dict:
    """A response body in wire form: its text when it is UTF-8, else the base64 of its bytes."""
    try:
        return {"body": content.decode("utf-8"), "body_base64": False}
    except UnicodeDecodeError:
        return {"body": base64.b64encode(content).decode("ascii"), "body_base64": True}


def _first_values(headers: Headers) -> dict[str, str]:
    return {name.decode("latin-1").lower(): _header_text(values[0])
            for name, values in headers.getAllRawHeaders() if values}


def _header_text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _describe(failure: Failure) -> str:
    return f"{type(failure.value).__name__}: {failure.getErrorMessage()}"[:200]
