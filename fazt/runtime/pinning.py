"""Connections of script fetches, pinned to the address that was checked (see L{fazt.runtime.fetch}).

L{AddressCollector} gathers what one name resolution yields; L{PinnedEndpoints} gives the L{Agent}
endpoints that connect to the checked address whatever host the URL names (TLS still names the
URL's host); L{PinnedPool} keeps those connections open between fetches and lends one only to a
fetch pinned to the same checked address.
"""

from __future__ import annotations

from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, TCP6ClientEndpoint, wrapClientTLS
from twisted.internet.interfaces import IResolutionReceiver
from twisted.web.client import HTTPConnectionPool
from twisted.web.iweb import IAgentEndpointFactory
from zope.interface import implementer

from fazt.runtime.ssrf import ParsedTarget

# Idle connections kept per (scheme, URL host, port, pinned address). Many fetches to one API run at
# once (bench/js.py's io case keeps 200 in flight) and their answers come back in bursts: with 32,
# about 40% of the io case's fetches still connected afresh (the pool was full when their
# connection came back); with 128 about as many as the 200 in flight need at the start.
MAX_IDLE_PER_KEY = 128
# Below the 5 s keep-alive of Apache and Node servers, so an idle connection is rarely one the server
# is closing just as a fetch reuses it (Twisted retries such a GET once; a POST would fail).
IDLE_SECONDS = 4.0


@implementer(IResolutionReceiver)
class AddressCollector:
    """Gathers every address one resolution yields; C{done} fires with them all, in order."""

    def __init__(self) -> None:
        self.addresses: list[str] = []
        self.done: Deferred[list[str]] = Deferred()

    def resolutionBegan(self, resolutionInProgress) -> None:
        pass

    def addressResolved(self, address) -> None:
        if address.host not in self.addresses:
            self.addresses.append(address.host)

    def resolutionComplete(self) -> None:
        if not self.done.called:  # a cancelled (timed out) resolution may still complete later
            self.done.callback(self.addresses)


@implementer(IAgentEndpointFactory)
class PinnedEndpoints:
    """Endpoints for one hop that go to the checked address C{ip}, whatever host the URI names."""

    def __init__(self, reactor, target: ParsedTarget, ip: str, tls_policy, timeout: float) -> None:
        self._reactor, self._target, self._ip = reactor, target, ip
        self._tls_policy, self._timeout = tls_policy, timeout

    def endpointForURI(self, uri):
        """A TCP (and for https, TLS for the original host name) endpoint to the pinned address."""
        endpoint_type = TCP6ClientEndpoint if ":" in self._ip else TCP4ClientEndpoint
        endpoint = endpoint_type(self._reactor, self._ip, self._target.port, timeout=max(1, int(self._timeout)))
        if self._target.scheme == "https":
            creator = self._tls_policy.creatorForNetloc(self._target.host.encode("ascii"), self._target.port)
            endpoint = wrapClientTLS(creator, endpoint)
        return endpoint


class PinnedPool:
    """Persistent connections for one fetcher, each lent again only to a fetch pinned to its address.

    Why reuse is safe: a connection enters the pool only after a fetch made it to an address that
    fetch had just resolved and checked (L{PinnedEndpoints}); the key is (scheme, URL host, port,
    that address), so a later fetch gets it only if its own fresh resolution, checked under the same
    fetcher's policy, picked the very same address, and only for the same host name (the TLS
    certificate was verified for that name). A name that now resolves elsewhere gets a new
    connection; a name that now resolves to a blocked address is refused before the pool is asked.
    Requests carry their own headers, so nothing of one fetch (credentials) stays on the connection.

    Idle connections are bounded per key (L{MAX_IDLE_PER_KEY}) and in time (L{IDLE_SECONDS}): a
    connection is kept at most that long after its last fetch, about as long as a fetch may already
    hold one (the 5 s timeout).
    """

    def __init__(self, reactor, max_idle_per_key: int = MAX_IDLE_PER_KEY, idle_seconds: float = IDLE_SECONDS) -> None:
        self._pool = HTTPConnectionPool(reactor, persistent=True)
        self._pool.maxPersistentPerHost = max_idle_per_key
        self._pool.cachedConnectionTimeout = idle_seconds
        self.closed = False

    def pinned_to(self, ip: str) -> "_AddressKeyedPool":
        """What an L{Agent} for a hop pinned to C{ip} takes as its pool."""
        return _AddressKeyedPool(self, self._pool, ip)

    def close(self) -> Deferred[None]:
        """Close every idle connection; later fetches connect afresh and keep nothing open."""
        self.closed = True
        return self._pool.closeCachedConnections()


class _AddressKeyedPool:
    """The shared pool as one hop's L{Agent} sees it: the pinned address is added to every key.

    L{Agent} keys connections by (scheme, host, port) of the URI, which names the URL's host, not the
    address connected to; it asks its pool for C{getConnection(key, endpoint)} and reads C{persistent}
    (twisted.web.client._AgentBase._requestWithEndpoint), the two things this provides.
    """

    def __init__(self, owner: PinnedPool, pool: HTTPConnectionPool, ip: str) -> None:
        self._owner, self._pool, self._ip = owner, pool, ip

    @property
    def persistent(self) -> bool:
        """False once the pool is closed: the request then asks for C{Connection: close}."""
        return not self._owner.closed

    def getConnection(self, key, endpoint):
        """A cached connection to this key and address, or a new one through C{endpoint}."""
        return self._pool.getConnection((*key, self._ip), endpoint)


class FetcherService(Service):
    """Closes a fetcher's idle connections when the service tree stops."""

    def __init__(self, fetcher) -> None:
        self._fetcher = fetcher

    def stopService(self) -> Deferred[None]:
        super().stopService()
        return self._fetcher.close()
