"""Connection caps (SPEC §18) in process: the counting rules, and connections that change hands.

The per-address and total caps as a client sees them are tested against a real twistd in
tests/app/test_frontdoor_process.py; here, what only a close look shows: a connection upgraded
to a WebSocket (Autobahn takes the socket over from twisted.web) keeps its place until it
closes and then gives it back, over plain TCP and TLS.
"""

from __future__ import annotations

import pytest
import pytest_twisted
from twisted.internet import endpoints, reactor
from twisted.internet.defer import Deferred
from twisted.internet.protocol import Protocol
from twisted.internet.ssl import Certificate, optionsForClientTLS
from twisted.internet.task import deferLater

from fazt.web.frontdoor import PER_ADDRESS, TOTAL, ConnectionLimits, address_key
from fazt_testing import start_server, stop_server
from tls_testing import make_certificate


UPGRADE = (b"GET /ws HTTP/1.1\r\nHost: blog.example.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")


class _Recorder(Protocol):
    """Sends C{request}; C{head} fires with the first complete response head, C{done} when closed."""

    def __init__(self, request: bytes) -> None:
        self.request = request
        self.received = b""
        self.head: Deferred = Deferred()
        self.done: Deferred = Deferred()

    def connectionMade(self) -> None:
        self.transport.write(self.request)

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        if b"\r\n\r\n" in self.received and not self.head.called:
            self.head.callback(self.received)

    def connectionLost(self, reason) -> None:
        if not self.head.called:
            self.head.callback(self.received)
        self.done.callback(self.received)


async def exchange(port: int) -> bytes:
    """Send GET /health (Connection: close) to 127.0.0.1:C{port}; everything received until closed."""
    recorder = _Recorder(b"GET /health HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n")
    endpoint = endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port)
    await endpoints.connectProtocol(endpoint, recorder)
    return await recorder.done


async def until(predicate, what: str, tries: int = 500) -> None:
    for _ in range(tries):
        if predicate():
            return
        await deferLater(reactor, 0.01, lambda: None)
    raise AssertionError(f"{what} did not happen")


def test_the_caps_count_per_address_and_in_all():
    limits = ConnectionLimits(max_total=3, max_per_address=2)
    assert [limits.admit("10.0.0.1") for _ in range(3)] == [None, None, PER_ADDRESS]
    assert limits.admit("10.0.0.2") is None
    assert limits.admit("10.0.0.3") == TOTAL
    assert (limits.open, limits.refused) == (3, {PER_ADDRESS: 1, TOTAL: 1})
    limits.release("10.0.0.1")
    assert limits.held_by("10.0.0.1") == 1 and limits.admit("10.0.0.3") is None
    for key in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        limits.release(key)
    # Nothing is remembered about addresses that hold no connection.
    assert limits.open == 0 and [limits.held_by(k) for k in ("10.0.0.1", "10.0.0.2", "10.0.0.3")] == [0, 0, 0]


def test_a_trusted_proxy_is_held_to_the_total_cap_only():
    from fazt.web.lockout import parse_networks

    limits = ConnectionLimits(max_total=5, max_per_address=1, unlimited=parse_networks(["10.0.0.0/8", "fd00::/8"]))
    assert [limits.admit("10.1.2.3") for _ in range(3)] == [None, None, None]
    assert [limits.admit("fd00:1:2:3::/64") for _ in range(2)] == [None, None]
    assert limits.admit("10.1.2.3") == TOTAL
    for _ in range(3):
        limits.release("10.1.2.3")
    assert limits.admit("192.0.2.1") is None
    assert limits.admit("192.0.2.1") == PER_ADDRESS


def test_an_ipv6_subscriber_counts_as_one_address():
    from twisted.internet.address import IPv4Address, IPv6Address

    assert address_key(IPv6Address("TCP", "2001:db8:1:2::1", 1)) == address_key(
        IPv6Address("TCP", "2001:db8:1:2:ffff::9", 2)) == "2001:db8:1:2::/64"
    assert address_key(IPv6Address("TCP", "::ffff:192.0.2.7", 1)) == "192.0.2.7"
    assert address_key(IPv4Address("TCP", "192.0.2.7", 1)) == "192.0.2.7"


@pytest.fixture
def capped(tmp_path):
    """A live server, and its site listening again behind caps of one connection per address."""
    server = start_server(str(tmp_path / "data.db"), extra_args=("--ws-ping-seconds", "0"))
    server.limits = ConnectionLimits(max_total=100, max_per_address=1)
    server.cert, server.key, server.pem = make_certificate(tmp_path, ["blog.example.test"])
    server.ports = []
    yield server
    for port in server.ports:
        pytest_twisted.blockon(port.stopListening())
    stop_server(server)


async def _listen(server, how: str) -> int:
    site = server.listener.factory
    if how == "plain":
        description = "tcp:0:interface=127.0.0.1"
    else:
        description = f"ssl:0:interface=127.0.0.1:privateKey={server.key}:certKey={server.cert}"
    port = await endpoints.serverFromString(server.limits.listening(reactor), description).listen(site)
    server.ports.append(port)
    return port.getHost().port


@pytest.mark.parametrize("how", ["plain", "ssl"])
@pytest_twisted.ensureDeferred
async def test_a_websocket_keeps_its_place_until_it_closes(capped, how):
    assert (await capped.deploy("blog", {"index.html": "<h1>blog</h1>"})).code in (200, 201)
    port = await _listen(capped, how)
    tls = None if how == "plain" else optionsForClientTLS("blog.example.test",
                                                          trustRoot=Certificate.loadPEM(capped.pem))
    endpoint = endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port)
    if tls is not None:
        endpoint = endpoints.wrapClientTLS(tls, endpoint)
    client = _Recorder(UPGRADE)
    await endpoints.connectProtocol(endpoint, client)
    assert (await client.head).startswith(b"HTTP/1.1 101 ")
    assert capped.limits.open == 1
    plain = await _listen(capped, "plain")  # same limits: the same address may not open a second one
    assert await exchange(plain) == b""
    assert capped.limits.refused[PER_ADDRESS] == 1
    client.transport.loseConnection()
    await client.done
    await until(lambda: capped.limits.open == 0, "the WebSocket's place to be given back")
    assert (await exchange(plain)).startswith(b"HTTP/1.1 200")
    await until(lambda: capped.limits.open == 0, "the request's place to be given back")
