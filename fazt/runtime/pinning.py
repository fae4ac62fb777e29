"""Connections of one fetch hop, pinned to the address that was checked (see L{fazt.runtime.fetch}).

L{AddressCollector} gathers what one name resolution yields; L{PinnedConnection} gives the
L{Agent} endpoints that connect to the checked address whatever host the URL names (TLS still
names the URL's host) and can abort every connection of its hop at once.
"""

from __future__ import annotations

from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, TCP6ClientEndpoint, wrapClientTLS
from twisted.internet.interfaces import IResolutionReceiver
from twisted.web.iweb import IAgentEndpointFactory
from zope.interface import implementer

from fazt.runtime.ssrf import ParsedTarget


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
class PinnedConnection:
    """Endpoints for one hop that go to the checked address C{ip}, whatever host the URI names.

    Remembers the protocols it connected so the hop's connection can be aborted at once.
    """

    def __init__(self, reactor, target: ParsedTarget, ip: str, tls_policy, timeout: float) -> None:
        self._reactor, self._target, self._ip = reactor, target, ip
        self._tls_policy, self._timeout = tls_policy, timeout
        self._protocols: list = []

    def endpointForURI(self, uri):
        """A TCP (and for https, TLS for the original host name) endpoint to the pinned address."""
        endpoint_type = TCP6ClientEndpoint if ":" in self._ip else TCP4ClientEndpoint
        endpoint = endpoint_type(self._reactor, self._ip, self._target.port, timeout=max(1, int(self._timeout)))
        if self._target.scheme == "https":
            creator = self._tls_policy.creatorForNetloc(self._target.host.encode("ascii"), self._target.port)
            endpoint = wrapClientTLS(creator, endpoint)
        return RecordingEndpoint(endpoint, self._protocols)

    def abort(self) -> None:
        """Drop every connection made for this hop immediately (no-op for closed ones)."""
        for protocol in self._protocols:
            if protocol.transport is not None:
                protocol.transport.abortConnection()


class RecordingEndpoint:
    """Wraps an endpoint and records each protocol it connects."""

    def __init__(self, endpoint, protocols: list) -> None:
        self._endpoint, self._protocols = endpoint, protocols

    def connect(self, factory):
        def record(protocol):
            self._protocols.append(protocol)
            return protocol

        return self._endpoint.connect(factory).addCallback(record)
