"""The original chat example over TLS: C{wss://} on both kinds of C{--https} listener (SPEC §8, issues 6, 11).

C{ssl}: the listener comes from the same endpoint string a user passes to C{--https ssl:...}, with
a certificate made for the test. C{sni}: the TLS wrapper of C{--https tcp:...} (certificates by
SNI from the cartridge), before any certificate is issued, so the self-signed fallback answers.
The clients verify the certificate and send SNI, as browsers do.
"""

from __future__ import annotations

import collections

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.ssl import Certificate, optionsForClientTLS

from fazt_testing import start_server, stop_server
from tls_testing import https_request, listen_sni, listen_tls
from wsclient import close_all, connect, join

CHAT = """<!doctype html><script>
const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
ws.onmessage = (e) => document.body.append(e.data);
</script>"""


@pytest.fixture(params=["ssl", "sni"])
def tls_server(request, tmp_path):
    """A fazt server on a fresh cartridge, listening with TLS as C{--https ssl:...} or C{tcp:...} does.

    Pings stay on (the default interval): the protocol's timers are part of what TLS must not break.
    """
    live = start_server(str(tmp_path / "data.db"), extra_args=("--js-workers", "1"))
    port = listen_tls(live, tmp_path) if request.param == "ssl" else listen_sni(live)
    yield live
    pytest_twisted.blockon(port.stopListening())
    stop_server(live)


def tls_for(server, name):
    """Client TLS options for C{name}: SNI and verification against the test certificate."""
    return optionsForClientTLS(name, trustRoot=server.trust)


@pytest_twisted.ensureDeferred
async def test_chat_example_over_tls_reaches_everyone(tls_server):
    response = await tls_server.deploy("chat", {"index.html": CHAT})
    assert response.code == 200, response.body
    name = "chat.example.test"
    host = f"{name}:{tls_server.tls_port}"

    page = await https_request(tls_server, name, "GET", "/")
    assert page.code == 200 and b"wss://" in page.body

    alice = await join(tls_server.tls_port, host, origin=f"https://{host}", tls=tls_for(tls_server, name))
    bob = await join(tls_server.tls_port, host, tls=tls_for(tls_server, name))
    try:
        alice.sendMessage(b"hello over tls")
        assert await alice.messages(1) == ["hello over tls"]
        assert await bob.messages(1) == ["hello over tls"]
        bob.sendMessage(b"and back")
        assert await alice.messages(2) == ["hello over tls", "and back"]
    finally:
        await close_all([alice, bob])


@pytest_twisted.ensureDeferred
async def test_plain_http_origin_is_refused_on_tls(tls_server):
    response = await tls_server.deploy("chat", {"index.html": CHAT})
    assert response.code == 200, response.body
    name = "chat.example.test"
    host = f"{name}:{tls_server.tls_port}"
    # The same host and port, but the page was not served over TLS: not the site's own origin.
    client = await connect(tls_server.tls_port, host, origin=f"http://{host}", tls=tls_for(tls_server, name)).open()
    code, reason = await client.closed
    client.opened.addErrback(lambda failure: None)
    assert "[403]" in str(reason), reason


@pytest.fixture
def txsni_server(tmp_path):
    """A fazt server behind txsni's own SNIMap, which hands out a proxy of each OpenSSL connection:
    a TLS transport Autobahn rejects in connectionMade (fazt's SNI map no longer does that)."""
    from twisted.protocols.tls import TLSMemoryBIOFactory
    from txsni.snimap import SNIMap

    from fazt.acme import pem

    live = start_server(str(tmp_path / "data.db"), extra_args=("--js-workers", "1"))
    key_pem = pem.new_key_pem()
    cert_pem = pem.self_signed([live.domain, f"*.{live.domain}"], key_pem, reactor.seconds())
    options = pem.tls_options(cert_pem, key_pem)
    every_name = collections.defaultdict(lambda: options)
    factory = TLSMemoryBIOFactory(SNIMap(every_name), False, live.listener.factory)
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    live.tls_port = port.getHost().port
    live.trust = Certificate.loadPEM(cert_pem.encode("ascii"))
    yield live
    pytest_twisted.blockon(port.stopListening())
    stop_server(live)


@pytest_twisted.ensureDeferred
async def test_a_tls_transport_autobahn_cannot_read_is_cut_not_left_hanging(txsni_server):
    # Whatever the transport, a connection Autobahn cannot set up must end at once (and be logged),
    # not hang until the client's opening-handshake timeout.
    response = await txsni_server.deploy("chat", {"index.html": CHAT})
    assert response.code == 200, response.body
    name = "chat.example.test"
    host = f"{name}:{txsni_server.tls_port}"
    client = await connect(txsni_server.tls_port, host, tls=tls_for(txsni_server, name)).open()
    _, reason = await client.closed
    client.opened.addErrback(lambda failure: None)
    assert "peer dropped the TCP connection" in str(reason), reason
