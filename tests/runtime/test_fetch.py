"""SafeFetcher against a real local HTTP(S) server, with names resolved by a fake resolver.

127.0.0.0/8 is reachable only because these tests pass a policy that allows it explicitly. Cases that
must be refused before any connection run on a MemoryReactorClock, so "no connection" is observable.
"""

from __future__ import annotations

import base64
import datetime
import json
from ipaddress import ip_network

import pytest
import pytest_twisted
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from twisted.internet import reactor
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater
from twisted.internet.ssl import Certificate, PrivateCertificate
from twisted.internet.testing import MemoryReactorClock
from twisted.protocols.policies import WrappingFactory
from twisted.web.client import BrowserLikePolicyForHTTPS
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Site

from fazt.runtime.fetch import SafeFetcher
from fazt.runtime.host import HostApi
from fazt.runtime.pinning import FetcherService
from fazt.store.batch import BatchWriter
from fazt.runtime.ssrf import AddressPolicy

LOOPBACK_ALLOWED = AddressPolicy(allowed_networks=(ip_network("127.0.0.0/8"),))
NAMES = {
    "public.test": ["127.0.0.1"],
    "other.test": ["127.0.0.1"],
    "wrong.test": ["127.0.0.1"],
    "mixed.test": ["93.184.215.14", "10.0.0.1"],
    "private.test": ["10.0.0.1"],
    "far.test": ["93.184.215.14"],
}


class _Resolution:
    def __init__(self, name):
        self.name = name


class FakeResolver:
    """An IHostnameResolver answering from a table, recording every name it is asked for."""

    def __init__(self, table=NAMES, complete=True):
        self.table, self.complete, self.calls = table, complete, []

    def resolveHostName(self, receiver, hostName, portNumber=0, addressTypes=None, transportSemantics="TCP"):
        self.calls.append(hostName)
        resolution = _Resolution(hostName)
        receiver.resolutionBegan(resolution)
        for ip in self.table.get(hostName, []):
            receiver.addressResolved((IPv6Address if ":" in ip else IPv4Address)("TCP", ip, portNumber))
        if self.complete:
            receiver.resolutionComplete()
        return resolution


class Backend(Resource):
    """Echo, redirects, big and slow bodies; remembers every request it saw."""

    isLeaf = True

    def __init__(self):
        super().__init__()
        self.seen = []

    def render(self, request):
        path = request.path.decode()
        args = {k.decode(): v[0].decode() for k, v in request.args.items()}
        headers = {k.decode().lower(): v[0].decode() for k, v in request.requestHeaders.getAllRawHeaders()}
        self.seen.append({"method": request.method.decode(), "path": path, "headers": headers})
        if path == "/echo":
            request.setHeader(b"content-type", b"application/json")
            request.responseHeaders.setRawHeaders(b"x-multi", [b"first", b"second"])
            body = request.content.read().decode()
            return json.dumps({"method": request.method.decode(), "uri": request.uri.decode(),
                               "headers": headers, "body": body}).encode()
        if path.startswith("/chain/"):
            left = int(path.rsplit("/", 1)[1])
            request.redirect(b"/echo" if left == 0 else f"/chain/{left - 1}".encode())
            return b"moved"
        if path == "/to":
            request.setResponseCode(int(args.get("code", "302")))
            request.setHeader(b"location", args["url"].encode())
            return b"moved"
        if path == "/big":
            size = int(args["size"])
            if "chunked" not in args:
                return b"x" * size
            for start in range(0, size, 65536):
                request.write(b"x" * min(65536, size - start))
            request.finish()
            return NOT_DONE_YET
        if path == "/slow":
            return NOT_DONE_YET  # never answers; the client's abort ends it
        if path == "/latin1":
            return b"caf\xe9 \xff"
        if path == "/mirror":  # the request body, byte for byte
            request.setHeader(b"content-type", b"application/octet-stream")
            return request.content.read()
        request.setResponseCode(404)
        return b"no such path"


class CountingFactory(WrappingFactory):
    """Counts the connections accepted, by the local address they reached."""

    def __init__(self, wrapped):
        super().__init__(wrapped)
        self.accepted = []

    def buildProtocol(self, addr):
        protocol = super().buildProtocol(addr)
        self.accepted.append(None)  # the local address is known once connected
        protocol.makeConnection = self._recording(protocol.makeConnection, len(self.accepted) - 1)
        return protocol

    def _recording(self, make_connection, index):
        def record(transport):
            self.accepted[index] = transport.getHost().host
            return make_connection(transport)
        return record


MADE: list[SafeFetcher] = []  # every fetcher of the running test; closed before its servers stop


def close_fetchers():
    while MADE:
        pytest_twisted.blockon(MADE.pop().close())


class Server:
    """A listening Backend; C{close} closes the test's fetchers (their idle connections), waits for
    server-side connections to end, then stops listening."""

    def __init__(self, backend, wrapper, listener):
        self.backend, self.wrapper, self.listener = backend, wrapper, listener
        self.port = listener.getHost().port

    def url(self, name, path, scheme="http"):
        return f"{scheme}://{name}:{self.port}{path}"

    def close(self):
        close_fetchers()

        async def drain():
            for _ in range(300):  # wait for the server side of every connection to go away
                if not self.wrapper.protocols:
                    break
                await deferLater(reactor, 0.01, lambda: None)
            await self.listener.stopListening()

        pytest_twisted.blockon(Deferred.fromCoroutine(drain()))


@pytest.fixture(autouse=True)
def fetchers_closed():
    yield
    close_fetchers()


@pytest.fixture
def server():
    backend = Backend()
    wrapper = CountingFactory(Site(backend))
    live = Server(backend, wrapper, reactor.listenTCP(0, wrapper, interface="127.0.0.1"))
    yield live
    live.close()


@pytest.fixture(scope="session")
def tls_material():
    """A self-signed certificate for public.test: (PrivateCertificate for the server, trusted Certificate)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "public.test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("public.test")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    return PrivateCertificate.loadPEM(key_pem + cert_pem), Certificate.loadPEM(cert_pem)


@pytest.fixture
def tls_server(tls_material):
    backend = Backend()
    wrapper = WrappingFactory(Site(backend))
    listener = reactor.listenSSL(0, wrapper, tls_material[0].options(), interface="127.0.0.1")
    live = Server(backend, wrapper, listener)
    yield live
    live.close()


def local_fetcher(resolver=None, **options):
    fetcher = SafeFetcher(reactor, resolver=resolver or FakeResolver(), policy=LOOPBACK_ALLOWED, **options)
    MADE.append(fetcher)
    return fetcher


def fired(deferred):
    """The result of a Deferred that must already have fired."""
    results = []
    deferred.addBoth(results.append)
    assert results, "the Deferred has not fired"
    return results[0]


# --- over real loopback sockets -------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_get_round_trip_with_headers(server):
    resolver = FakeResolver()
    result = await local_fetcher(resolver).fetch(
        server.url("public.test", "/echo?q=1"),
        headers={"X-Test": "yes", "Host": "evil.example", "Connection": "keep-alive", "User-Agent": "me",
                 "Transfer-Encoding": "chunked"})
    assert result["status"] == 200
    assert result["headers"]["content-type"] == "application/json"
    assert result["headers"]["x-multi"] == "first"
    echoed = json.loads(result["body"])
    assert echoed["method"] == "GET" and echoed["uri"] == "/echo?q=1"
    assert echoed["headers"]["x-test"] == "yes"
    assert echoed["headers"]["host"] == f"public.test:{server.port}"  # the name, never the pinned IP
    assert echoed["headers"]["user-agent"] == "fazt-fetch"
    assert "connection" not in echoed["headers"]  # not the script's "keep-alive": HTTP/1.1's own default
    assert "transfer-encoding" not in echoed["headers"]
    assert resolver.calls == ["public.test"]


@pytest_twisted.ensureDeferred
async def test_post_body(server):
    result = await local_fetcher().fetch(server.url("public.test", "/echo"), method="post",
                                         headers={"Content-Type": "text/plain"}, body="héllo")
    echoed = json.loads(result["body"])
    assert (echoed["method"], echoed["body"]) == ("POST", "héllo")
    assert echoed["headers"]["content-type"] == "text/plain"
    assert echoed["headers"]["content-length"] == str(len("héllo".encode()))


@pytest_twisted.ensureDeferred
async def test_literal_loopback_allowed_by_policy_needs_no_resolver(server):
    resolver = FakeResolver()
    result = await local_fetcher(resolver).fetch(server.url("127.0.0.1", "/echo"))
    assert json.loads(result["body"])["headers"]["host"] == f"127.0.0.1:{server.port}"
    assert resolver.calls == []


@pytest_twisted.ensureDeferred
async def test_redirect_chain_resolves_once_per_hop(server):
    resolver = FakeResolver()
    result = await local_fetcher(resolver).fetch(server.url("public.test", "/chain/3"))
    assert result["status"] == 200 and json.loads(result["body"])["uri"] == "/echo"
    assert [seen["path"] for seen in server.backend.seen] == ["/chain/3", "/chain/2", "/chain/1", "/chain/0", "/echo"]
    assert resolver.calls == ["public.test"] * 5


@pytest_twisted.ensureDeferred
async def test_too_many_redirects(server):
    result = await local_fetcher(max_redirects=2).fetch(server.url("public.test", "/chain/5"))
    assert "too many redirects" in result["error"]
    assert len(server.backend.seen) == 3


@pytest_twisted.ensureDeferred
async def test_redirect_to_other_name_drops_credentials(server):
    resolver = FakeResolver()
    target = server.url("other.test", "/echo")
    result = await local_fetcher(resolver).fetch(server.url("public.test", f"/to?url={target}"),
                                                 headers={"Authorization": "Bearer s3cret", "X-Keep": "1"})
    echoed = json.loads(result["body"])
    assert echoed["headers"]["host"] == f"other.test:{server.port}"
    assert "authorization" not in echoed["headers"] and echoed["headers"]["x-keep"] == "1"
    assert resolver.calls == ["public.test", "other.test"]


@pytest_twisted.ensureDeferred
async def test_303_turns_post_into_get_and_307_keeps_it(server):
    fetcher = local_fetcher()
    after_303 = await fetcher.fetch(server.url("public.test", "/to?code=303&url=/echo"), method="POST", body="x",
                                    headers={"Content-Type": "text/plain"})
    echoed = json.loads(after_303["body"])
    assert (echoed["method"], echoed["body"]) == ("GET", "")
    assert "content-type" not in echoed["headers"]
    after_307 = await fetcher.fetch(server.url("public.test", "/to?code=307&url=/echo"), method="POST", body="x")
    echoed = json.loads(after_307["body"])
    assert (echoed["method"], echoed["body"]) == ("POST", "x")


@pytest.mark.parametrize("location, reason", [
    ("http://10.0.0.1/", "private"),
    ("http://private.test/", "10.0.0.1"),
    ("http://mixed.test/", "10.0.0.1"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[::ffff:127.0.0.1]/", "IPv4-mapped"),
    ("file:///etc/passwd", "scheme"),
    ("gopher://public.test/", "scheme"),
])
@pytest_twisted.ensureDeferred
async def test_redirect_to_blocked_target(server, location, reason):
    resolver = FakeResolver()
    result = await local_fetcher(resolver).fetch(server.url("public.test", f"/to?url={location}"))
    assert result["error"].startswith("blocked:") and reason in result["error"]
    assert len(server.backend.seen) == 1


@pytest.mark.parametrize("query", ["size=1048577", "size=1048577&chunked=1", "size=3000000&chunked=1"])
@pytest_twisted.ensureDeferred
async def test_body_over_limit(server, query):
    result = await local_fetcher().fetch(server.url("public.test", f"/big?{query}"))
    assert "larger than 1048576 bytes" in result["error"]


@pytest_twisted.ensureDeferred
async def test_body_at_limit_is_read(server):
    result = await local_fetcher().fetch(server.url("public.test", "/big?size=1048576&chunked=1"))
    assert result["status"] == 200 and len(result["body"]) == 1048576


@pytest_twisted.ensureDeferred
async def test_slow_server_times_out(server):
    started = reactor.seconds()
    result = await local_fetcher(timeout=0.5).fetch(server.url("public.test", "/slow"))
    assert result == {"error": "timeout"}
    assert reactor.seconds() - started < 2


@pytest_twisted.ensureDeferred
async def test_non_utf8_body_arrives_intact_as_base64(server):
    result = await local_fetcher().fetch(server.url("public.test", "/latin1"))
    assert result["body_base64"] is True and base64.b64decode(result["body"]) == b"caf\xe9 \xff"
    text = await local_fetcher().fetch(server.url("public.test", "/echo"))
    assert text["body_base64"] is False and json.loads(text["body"])["uri"] == "/echo"


@pytest_twisted.ensureDeferred
async def test_a_binary_body_goes_and_comes_back_byte_for_byte_through_the_host_api(server, store):
    every_byte = bytes(range(256)) * 3
    host = HostApi(store, BatchWriter(store), local_fetcher(), clock=reactor)
    result = await host.call("a", "fetch", [server.url("public.test", "/mirror"), {
        "method": "POST", "body": base64.b64encode(every_byte).decode(), "body_base64": True}], {})
    assert result["status"] == 200 and result["body_base64"] is True
    assert base64.b64decode(result["body"]) == every_byte
    refused = await host.call("a", "fetch", [server.url("public.test", "/mirror"), {
        "method": "POST", "body": "not base64!", "body_base64": True}], {})
    assert refused == {"error": "fetch body is not valid base64"}


@pytest_twisted.ensureDeferred
async def test_unknown_name_and_refused_connection(server):
    unknown = await local_fetcher().fetch(server.url("nowhere.test", "/"))
    assert unknown["error"] == "could not resolve host nowhere.test"
    port = server.port
    await server.listener.stopListening()
    refused = await local_fetcher().fetch(f"http://public.test:{port}/")
    assert refused["error"].startswith("connection failed")
    server.listener = reactor.listenTCP(0, server.wrapper, interface="127.0.0.1")


@pytest.mark.filterwarnings("ignore:Passing pyOpenSSL:DeprecationWarning")  # Twisted's own TLS glue
@pytest.mark.filterwarnings("ignore:X509.get_:DeprecationWarning")
@pytest_twisted.ensureDeferred
async def test_https_verifies_the_name_while_connecting_to_the_pinned_address(tls_server, tls_material):
    resolver = FakeResolver()
    fetcher = local_fetcher(resolver, tls_policy=BrowserLikePolicyForHTTPS(trustRoot=tls_material[1]))
    result = await fetcher.fetch(tls_server.url("public.test", "/echo", scheme="https"))
    assert result["status"] == 200
    assert json.loads(result["body"])["headers"]["host"] == f"public.test:{tls_server.port}"
    mismatch = await fetcher.fetch(tls_server.url("wrong.test", "/echo", scheme="https"))
    assert mismatch["error"].startswith("request failed") and "VerificationError" in mismatch["error"]
    assert resolver.calls == ["public.test", "wrong.test"]
    assert len(tls_server.backend.seen) == 1


# --- connections kept open between fetches -----------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_a_second_fetch_to_the_same_host_reuses_the_connection(server):
    fetcher = local_fetcher()
    for path in ("/echo", "/echo?again=1", "/latin1"):
        assert (await fetcher.fetch(server.url("public.test", path)))["status"] == 200
    assert server.wrapper.accepted == ["127.0.0.1"]
    posted = await fetcher.fetch(server.url("public.test", "/mirror"), method="POST", body="kept")
    assert posted["body"] == "kept" and server.wrapper.accepted == ["127.0.0.1"]


@pytest_twisted.ensureDeferred
async def test_another_name_on_the_same_address_gets_its_own_connection(server):
    fetcher = local_fetcher()
    await fetcher.fetch(server.url("public.test", "/echo"))
    other = await fetcher.fetch(server.url("other.test", "/echo"))
    assert json.loads(other["body"])["headers"]["host"] == f"other.test:{server.port}"
    assert server.wrapper.accepted == ["127.0.0.1", "127.0.0.1"]


@pytest.fixture
def second_address(server):
    """The same server listening on 127.0.0.2 too, at the same port."""
    listener = reactor.listenTCP(server.port, server.wrapper, interface="127.0.0.2")
    yield "127.0.0.2"
    pytest_twisted.blockon(listener.stopListening())


@pytest_twisted.ensureDeferred
async def test_a_name_that_now_resolves_elsewhere_does_not_reuse_the_old_connection(server, second_address):
    table = {"moving.test": ["127.0.0.1"]}
    resolver = FakeResolver(table)
    fetcher = local_fetcher(resolver)
    await fetcher.fetch(server.url("moving.test", "/echo"))
    table["moving.test"] = [second_address]
    moved = await fetcher.fetch(server.url("moving.test", "/echo"))
    assert moved["status"] == 200
    assert server.wrapper.accepted == ["127.0.0.1", second_address]  # connected to the new checked address
    table["moving.test"] = ["127.0.0.1"]
    await fetcher.fetch(server.url("moving.test", "/echo"))
    assert server.wrapper.accepted == ["127.0.0.1", second_address]  # the first one, lent again
    assert resolver.calls == ["moving.test"] * 3


@pytest_twisted.ensureDeferred
async def test_a_name_that_now_resolves_to_a_blocked_address_is_refused_despite_an_open_connection(server):
    table = {"rebinding.test": ["127.0.0.1"]}
    fetcher = SafeFetcher(reactor, resolver=FakeResolver(table),
                          policy=AddressPolicy(allowed_networks=(ip_network("127.0.0.1/32"),)))
    MADE.append(fetcher)
    assert (await fetcher.fetch(server.url("rebinding.test", "/echo")))["status"] == 200
    table["rebinding.test"] = ["127.0.0.2"]  # loopback too, but outside what this fetcher may reach
    refused = await fetcher.fetch(server.url("rebinding.test", "/echo"))
    assert refused == {"error": "blocked: resolves to blocked address 127.0.0.2 (loopback)"}
    assert len(server.backend.seen) == 1


@pytest_twisted.ensureDeferred
async def test_a_redirect_chain_on_one_host_uses_one_connection_and_credentials_stay_on_it(server):
    result = await local_fetcher().fetch(server.url("public.test", "/chain/3"), headers={"Authorization": "Bearer t"})
    assert json.loads(result["body"])["headers"]["authorization"] == "Bearer t"
    assert server.wrapper.accepted == ["127.0.0.1"]


@pytest_twisted.ensureDeferred
async def test_credentials_sent_on_a_kept_connection_do_not_reach_the_next_fetch(server):
    fetcher = local_fetcher()
    target = server.url("other.test", "/echo")
    await fetcher.fetch(server.url("other.test", "/echo"), headers={"Authorization": "Bearer first", "Cookie": "a=1"})
    redirected = await fetcher.fetch(server.url("public.test", f"/to?url={target}"),
                                     headers={"Authorization": "Bearer second"})
    echoed = json.loads(redirected["body"])["headers"]
    assert "authorization" not in echoed and "cookie" not in echoed  # stripped, and nothing left on the connection
    assert server.wrapper.accepted == ["127.0.0.1", "127.0.0.1"]  # other.test's connection served the last hop


@pytest_twisted.ensureDeferred
async def test_a_body_over_the_limit_closes_its_connection_and_the_next_fetch_still_works(server):
    fetcher = local_fetcher()
    too_big = await fetcher.fetch(server.url("public.test", "/big?size=3000000&chunked=1"))
    assert "larger than" in too_big["error"]
    after = await fetcher.fetch(server.url("public.test", "/echo"))
    assert after["status"] == 200 and server.wrapper.accepted == ["127.0.0.1", "127.0.0.1"]


@pytest_twisted.ensureDeferred
async def test_stopping_the_service_ends_idle_connections_and_later_fetches_keep_none(server):
    fetcher = local_fetcher()
    service = FetcherService(fetcher)  # as fazt.app.tap wires it
    service.startService()
    await fetcher.fetch(server.url("public.test", "/echo"))
    assert len(server.wrapper.protocols) == 1
    await service.stopService()
    for _ in range(300):  # until the server side sees the close
        if not server.wrapper.protocols:
            break
        await deferLater(reactor, 0.01, lambda: None)
    assert server.wrapper.protocols == {}
    after = await fetcher.fetch(server.url("public.test", "/echo"))
    assert json.loads(after["body"])["headers"]["connection"] == "close"


# --- refused before any connection (memory reactor) -------------------------------------------------

@pytest.mark.parametrize("url, reason", [
    ("http://mixed.test/", "10.0.0.1"),
    ("http://private.test/", "10.0.0.1"),
    ("http://10.0.0.1/", "private"),
    ("http://127.0.0.1/", "loopback"),
    ("http://[::1]/", "loopback"),
    ("file:///etc/passwd", "scheme"),
    ("gopher://public.test/", "scheme"),
    ("ftp://public.test/", "scheme"),
    ("http://user:pass@far.test/", "credentials"),
    ("http://0x7f.1/", "non-standard IPv4"),
])
def test_blocked_without_connecting(url, reason):
    memory = MemoryReactorClock()
    result = fired(SafeFetcher(memory, resolver=FakeResolver()).fetch(url))
    assert result["error"].startswith("blocked:") and reason in result["error"]
    assert memory.tcpClients == [] and memory.sslClients == []
    assert memory.getDelayedCalls() == []  # the timeout was cancelled


def test_connects_to_the_checked_address_not_the_name():
    memory, resolver = MemoryReactorClock(), FakeResolver()
    pending = SafeFetcher(memory, resolver=resolver).fetch("https://far.test/x")
    assert resolver.calls == ["far.test"]
    assert [(host, port) for host, port, *_ in memory.tcpClients] == [("93.184.215.14", 443)]
    memory.advance(5)
    assert fired(pending) == {"error": "timeout"}


def test_resolution_that_never_completes_times_out():
    memory = MemoryReactorClock()
    pending = SafeFetcher(memory, resolver=FakeResolver(complete=False), timeout=2).fetch("http://far.test/")
    memory.advance(1.9)
    assert not pending.called
    memory.advance(0.2)
    assert fired(pending) == {"error": "timeout"}
    assert memory.tcpClients == []


@pytest.mark.parametrize("options, message", [
    ({"method": "TRACE"}, "unsupported method"),
    ({"headers": {"X-Bad": "a\r\nInjected: 1"}}, "invalid value"),
    ({"headers": {"Bad Name": "x"}}, "invalid header name"),
    ({"headers": [("X-A", "1")]}, "headers must be"),
    ({"body": {"a": 1}}, "body must be"),
])
def test_invalid_requests(options, message):
    memory = MemoryReactorClock()
    result = fired(SafeFetcher(memory, resolver=FakeResolver()).fetch("http://far.test/", **options))
    assert message in result["error"]
    assert memory.tcpClients == []


@pytest_twisted.ensureDeferred
async def test_default_resolver_checks_what_the_system_resolves():
    result = await SafeFetcher(reactor).fetch("http://localhost:1/")  # the reactor's own getaddrinfo resolver
    assert result["error"].startswith("blocked:") and "loopback" in result["error"]
