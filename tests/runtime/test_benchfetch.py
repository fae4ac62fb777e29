"""The benchmark-only loopback allowance (fazt.runtime.benchfetch): one loopback address:port, nothing else.

Fetches go over real sockets to servers on 127.0.0.1; every refused target is one a script could try.
"""

from __future__ import annotations

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.address import IPv4Address
from twisted.web.resource import Resource
from twisted.web.server import Site

from fazt.runtime.benchfetch import AllowanceError, BenchLoopbackFetcher, parse_allowance, with_bench_allowance
from fazt.runtime.fetch import SafeFetcher


class LocalNames:
    """An IHostnameResolver where every name is 127.0.0.1 (as C{localhost} is)."""

    def resolveHostName(self, receiver, hostName, portNumber=0, addressTypes=None, transportSemantics="TCP"):
        receiver.resolutionBegan(object())
        receiver.addressResolved(IPv4Address("TCP", "127.0.0.1", portNumber))
        receiver.resolutionComplete()


class Upstream(Resource):
    """Answers C{upstream NAME}, or redirects to C{?to=URL}; counts what it served, and the client ports."""

    isLeaf = True

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name, self.served, self.client_ports = name, 0, set()

    def render_GET(self, request):
        self.served += 1
        self.client_ports.add(request.getClientAddress().port)
        target = request.args.get(b"to")
        if target:
            request.redirect(target[0])
            return b"moved"
        return f"upstream {self.name}".encode()


MADE: list = []  # the fetchers of the running test, closed (idle connections and all) before the upstreams stop


@pytest.fixture
def upstreams():
    """Two upstreams on 127.0.0.1: C{allowed} and C{other}, on two ports."""
    served = {name: Upstream(name) for name in ("allowed", "other")}
    ports = {name: reactor.listenTCP(0, Site(resource), interface="127.0.0.1") for name, resource in served.items()}
    yield {name: (resource, ports[name].getHost().port) for name, resource in served.items()}
    while MADE:
        pytest_twisted.blockon(MADE.pop().close())
    for port in ports.values():
        pytest_twisted.blockon(port.stopListening())


def allowance_for(port: int) -> BenchLoopbackFetcher:
    fetcher = with_bench_allowance(SafeFetcher(reactor, resolver=LocalNames()), reactor, f"127.0.0.1:{port}")
    MADE.append(fetcher)
    return fetcher


@pytest.mark.parametrize("text, expected", [
    ("127.0.0.1:8080", ("127.0.0.1", 8080)),
    (" 127.0.0.1:1 ", ("127.0.0.1", 1)),
    ("127.0.0.2:65535", ("127.0.0.2", 65535)),
    ("[::1]:8080", ("::1", 8080)),
])
def test_an_allowance_is_one_loopback_address_and_a_port(text, expected):
    assert parse_allowance(text) == expected


@pytest.mark.parametrize("text, why", [
    ("127.0.0.1", "port"), ("127.0.0.1:", "port"), ("127.0.0.1:0", "port"), ("127.0.0.1:65536", "port"),
    ("127.0.0.1:80x", "port"), ("[::1]", "port"),
    ("localhost:8080", "literal loopback address"), ("", "literal loopback address"),
    ("127.1:8080", "literal loopback address"), ("*:8080", "literal loopback address"),
    ("10.0.0.1:8080", "only a loopback"), ("192.168.1.10:80", "only a loopback"), ("0.0.0.0:80", "only a loopback"),
    ("169.254.169.254:80", "only a loopback"), ("93.184.215.14:80", "only a loopback"),
    ("[::ffff:127.0.0.1]:80", "only a loopback"), ("::1:8080", "only a loopback"), ("[fd00::1]:80", "only a loopback"),
])
def test_anything_else_is_refused_with_a_reason(text, why):
    with pytest.raises(AllowanceError, match=why):
        parse_allowance(text)


@pytest_twisted.ensureDeferred
async def test_without_the_allowance_loopback_stays_refused(upstreams):
    plain = SafeFetcher(reactor, resolver=LocalNames())
    assert with_bench_allowance(plain, reactor, None) is plain
    resource, port = upstreams["allowed"]
    assert await plain.fetch(f"http://127.0.0.1:{port}/") == {"error": "blocked: address 127.0.0.1 is blocked (loopback)"}
    assert resource.served == 0


@pytest_twisted.ensureDeferred
async def test_the_allowance_reaches_exactly_the_named_address_and_port(upstreams):
    resource, port = upstreams["allowed"]
    fetched = await allowance_for(port).fetch(f"http://127.0.0.1:{port}/x?y=1")
    assert (fetched["status"], fetched["body"]) == (200, "upstream allowed")
    assert resource.served == 1


@pytest_twisted.ensureDeferred
async def test_fetches_of_the_allowed_target_share_one_connection(upstreams):
    resource, port = upstreams["allowed"]
    fetcher = allowance_for(port)
    for _ in range(3):
        assert (await fetcher.fetch(f"http://127.0.0.1:{port}/"))["body"] == "upstream allowed"
    assert resource.served == 3 and len(resource.client_ports) == 1  # one connection


@pytest_twisted.ensureDeferred
async def test_other_ports_addresses_names_and_schemes_stay_refused(upstreams):
    allowed, port = upstreams["allowed"]
    other, other_port = upstreams["other"]
    fetcher = allowance_for(port)
    refused = {
        f"http://127.0.0.1:{other_port}/": "blocked: address 127.0.0.1 is blocked (loopback)",
        f"http://127.0.0.2:{port}/": "blocked: address 127.0.0.2 is blocked (loopback)",
        f"http://[::1]:{port}/": "blocked: address ::1 is blocked (loopback)",
        f"http://[::ffff:127.0.0.1]:{port}/": "blocked: address ::ffff:7f00:1 is blocked (IPv4-mapped IPv6 embedding "
                                               "127.0.0.1 (loopback))",
        f"http://localhost:{port}/": "blocked: resolves to blocked address 127.0.0.1 (loopback)",
        f"https://127.0.0.1:{port}/": "blocked: address 127.0.0.1 is blocked (loopback)",
        f"http://10.0.0.1:{port}/": "blocked: address 10.0.0.1 is blocked (private)",
        f"http://192.168.0.1:{port}/": "blocked: address 192.168.0.1 is blocked (private)",
        f"http://169.254.169.254:{port}/": "blocked: address 169.254.169.254 is blocked (link-local)",
    }
    for url, error in refused.items():
        assert await fetcher.fetch(url) == {"error": error}, url
    assert (allowed.served, other.served) == (0, 0)


@pytest_twisted.ensureDeferred
async def test_no_redirect_is_followed_from_the_allowed_port(upstreams):
    allowed, port = upstreams["allowed"]
    other, other_port = upstreams["other"]
    fetched = await allowance_for(port).fetch(f"http://127.0.0.1:{port}/?to=http://127.0.0.1:{other_port}/")
    assert fetched == {"error": "too many redirects (more than 0)"}
    assert (allowed.served, other.served) == (1, 0)
