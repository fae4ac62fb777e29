"""Proving that a custom domain reaches this server (C{fazt domain check}, SPEC §15).

Every process answers C{GET /.well-known/fazt/check/TOKEN} on every host (before host routing and
the HTTPS redirect, as ACME challenges are) with the HMAC-SHA256 of TOKEN under this cartridge's
check key: only a process of this server knows it. L{DomainChecker} resolves the name, asks each
address for a fresh random token with C{Host: NAME}, and says which of three things is true:

  - C{reaches_this_server}: an address answered the right proof;
  - C{resolves_elsewhere}: the name resolves, but no address answered with this server's proof;
  - C{does_not_resolve}: no address (NXDOMAIN, SERVFAIL, no A/AAAA records, a timeout).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import socket
from typing import Callable, Optional

import treq
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.threads import deferToThreadPool
from twisted.names import client as dns_client
from twisted.names import dns
from twisted.web.resource import Resource
from twisted.web.server import Request

from fazt.base.customhosts import CHECK_PREFIX
from fazt.base.responses import METHOD_NOT_ALLOWED, plain_text_get

_TOKEN = re.compile(rb"^[A-Za-z0-9_-]{16,128}$")
MAX_ANSWER = 1024
REACHES, ELSEWHERE, NO_ADDRESS = "reaches_this_server", "resolves_elsewhere", "does_not_resolve"


def proof(key: bytes, token: str) -> str:
    """What this server answers for C{token}."""
    return hmac.new(key, token.encode("ascii"), hashlib.sha256).hexdigest()


class CheckTokenResource(Resource):
    """C{/.well-known/fazt/check/TOKEN}: the proof of TOKEN, as plain text; 404 for anything else."""

    isLeaf = True

    def __init__(self, key: bytes) -> None:
        super().__init__()
        self._key = key

    def render(self, request: Request) -> bytes:
        if not plain_text_get(request):
            return METHOD_NOT_ALLOWED
        token = request.path[len(CHECK_PREFIX):]
        request.setHeader(b"cache-control", b"no-store")
        if not _TOKEN.match(token):
            request.setResponseCode(404)
            return b"Not Found\n"
        return proof(self._key, token.decode("ascii")).encode("ascii")


def system_resolver(reactor, pool) -> Callable[[str], Deferred]:
    """Every address the system's resolver gives for a name (getaddrinfo, on C{pool})."""
    def resolve(name: str) -> Deferred:
        def lookup() -> list[str]:
            try:
                infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
            except (socket.gaierror, UnicodeError):
                return []
            return list(dict.fromkeys(info[4][0] for info in infos))
        return deferToThreadPool(reactor, pool, lookup)
    return resolve


def dns_server_resolver(reactor, server: str) -> Callable[[str], Deferred]:
    """The A records of a name as DNS server C{HOST:PORT} (C{--check-dns}) gives them."""
    host, _, port = server.rpartition(":")
    resolver = dns_client.Resolver(servers=[(host.strip("[]"), int(port))], reactor=reactor)

    def resolve(name: str) -> Deferred:
        found = resolver.lookupAddress(name, timeout=(2, 3))
        found.addCallback(lambda result: [record.payload.dottedQuad() for record in result[0]
                                          if record.type == dns.A])
        found.addErrback(lambda _failure: [])
        return found
    return resolve


class _Capped:
    def __init__(self) -> None:
        self.data = b""

    def __call__(self, chunk: bytes) -> None:
        self.data += chunk
        if len(self.data) > MAX_ANSWER:
            raise ValueError("answer too long")


class DomainChecker:
    """Tells whether a name reaches this server (see the module docstring)."""

    def __init__(self, key: bytes, resolve: Callable[[str], Deferred], http=treq, timeout: float = 5.0) -> None:
        self._key = key
        self._resolve = resolve
        self._http = http
        self._timeout = timeout

    @inlineCallbacks
    def check(self, name: str, port: int = 80):
        """Fires with C{{"name", "result", "addresses", "message"}}; never fails."""
        addresses = yield self._resolve(name)
        if not addresses:
            return {"name": name, "result": NO_ADDRESS, "addresses": [],
                    "message": f"{name} does not resolve to any address"}
        for address in addresses:
            answered = yield self._ask(address, name, port)
            if answered:
                return {"name": name, "result": REACHES, "addresses": addresses,
                        "message": f"{name} reaches this server (at {address})"}
        return {"name": name, "result": ELSEWHERE, "addresses": addresses,
                "message": f"{name} resolves to {', '.join(addresses)}, where this server does not answer"}

    @inlineCallbacks
    def _ask(self, address: str, name: str, port: int):
        token = secrets.token_urlsafe(24)
        host = f"[{address}]" if ":" in address else address
        try:
            response = yield self._http.get(f"http://{host}:{port}{CHECK_PREFIX.decode()}{token}",
                                            headers={b"Host": [name.encode("ascii")]}, timeout=self._timeout,
                                            allow_redirects=False, persistent=False)
            body = _Capped()
            yield self._http.collect(response, body)
        except Exception:
            return False
        return response.code == 200 and hmac.compare_digest(body.data, proof(self._key, token).encode("ascii"))


def check_port(value) -> Optional[int]:
    """The port C{check} fetches on (default 80), or None when C{value} is not one."""
    if value is None:
        return 80
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        return None
    return value
