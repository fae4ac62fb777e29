"""The WebSocket options of `twistd fazt`: --ws-max-message-kb (the SPEC §8 cap, raised) and
--ws-deflate (permessage-deflate offered or not), and the bounded deflate parameters fazt answers with.

Real Autobahn clients (and hand-written handshakes) over real loopback sockets.
"""

from __future__ import annotations

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.protocol import ClientCreator

from fazt_testing import start_server, stop_server
from wsclient import RawPeer, close_all, join

KIB = 1024
TOO_BIG = 1009
DEFLATE = "permessage-deflate"


def host(server, site):
    return f"{site}.example.test:{server.port}"


@pytest.fixture
def serve(tmp_path):
    """Starts a server with the given extra options (one per test); stops it afterwards."""
    started = []

    def start(*options: str):
        started.append(start_server(str(tmp_path / "data.db"),
                                    extra_args=("--js-workers", "1", "--ws-ping-seconds", "0", *options)))
        return started[-1]

    yield start
    for live in started:
        stop_server(live)


async def clients(server, site, deflate=(False, False)):
    response = await server.deploy(site, {"index.html": "x"})
    assert response.code == 200, response.body
    return [await join(server.port, host(server, site), deflate=d) for d in deflate]


def negotiated(client) -> list[str]:
    return [extension.EXTENSION_NAME for extension in client.response.extensions]


async def handshake(server, site, offer: str) -> str:
    """The server's answer (lowercased head) to a handshake offering C{offer}; the connection is then closed."""
    raw = RawPeer(host(server, site), extensions=offer)
    await ClientCreator(reactor, lambda: raw).connectTCP("127.0.0.1", server.port)
    try:
        return await raw.upgraded
    finally:
        raw.transport.loseConnection()
        await raw.lost


@pytest.mark.parametrize("deflate", [False, True], ids=["plain", "deflate"])
@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
@pytest_twisted.ensureDeferred
async def test_a_raised_cap_relays_past_64_kib_and_closes_past_itself(serve, binary, deflate):
    sender, other = await clients(serve("--ws-max-message-kb", "128"), "big", deflate=(deflate, False))
    try:
        for size in (64 * KIB + 1, 128 * KIB):   # refused (1009) with the default cap; within this one
            message = b"x" * (size - 1) + b"y"
            sender.sendMessage(message, isBinary=binary, fragmentSize=16 * KIB)
            got = (await other.messages(1 if size < 128 * KIB else 2))[-1]
            assert got == (message if binary else message.decode())
        sender.sendMessage(b"z" * (128 * KIB + 1), isBinary=binary)
        code, _ = await sender.closed
        assert code == TOO_BIG
    finally:
        await close_all([other])


@pytest_twisted.ensureDeferred
async def test_deflate_off_negotiates_no_extension_and_still_relays(serve):
    no_deflate_server = serve("--ws-deflate", "off")
    offering, plain = await clients(no_deflate_server, "nodeflate", deflate=(True, False))
    try:
        assert negotiated(offering) == [] and negotiated(plain) == []
        text = "compress me " * 1000
        offering.sendMessage(text.encode())
        assert await plain.messages(1) == [text]
        assert await offering.messages(1) == [text]
        # Uncompressed on the wire: the frame carries the text as is.
        wire, app = offering.trafficStats.incomingOctetsWebSocketLevel, offering.trafficStats.incomingOctetsAppLevel
        assert wire == app == len(text)
    finally:
        await close_all([offering, plain])
    head = await handshake(no_deflate_server, "nodeflate", "permessage-deflate; client_max_window_bits")
    assert head.startswith("http/1.1 101") and "sec-websocket-extensions" not in head


@pytest_twisted.ensureDeferred
async def test_deflate_is_accepted_with_a_small_client_window_when_the_client_allows_one(serve):
    ws_server = serve()
    response = await ws_server.deploy("window", {"index.html": "x"})
    assert response.code == 200, response.body
    # A browser's offer: the client lets the server choose its window; fazt asks for 4 KiB.
    head = await handshake(ws_server, "window", "permessage-deflate; client_max_window_bits")
    assert "sec-websocket-extensions: permessage-deflate; client_max_window_bits=12" in head, head
    # A client that does not allow it compresses as it likes; fazt inflates with the full window.
    head = await handshake(ws_server, "window", "permessage-deflate")
    assert "sec-websocket-extensions: permessage-deflate\r\n" in head + "\r\n", head
    # The client's own request for a smaller server window is honoured (and acknowledged).
    head = await handshake(ws_server, "window", "permessage-deflate; server_max_window_bits=10")
    assert "server_max_window_bits=10" in head, head


@pytest_twisted.ensureDeferred
async def test_with_the_bounded_window_messages_still_relay_compressed(serve):
    packed, plain = await clients(serve(), "packed", deflate=(True, False))
    try:
        assert negotiated(packed) == [DEFLATE]
        # Autobahn's client allows client_max_window_bits: it now compresses with fazt's 4 KiB window.
        [extension] = packed.response.extensions
        assert extension.client_max_window_bits == 12
        # Larger than the window, repetitive: back-references reach only 4 KiB back, and still compress.
        text = "".join(f"message {i} of a chat that repeats itself; " for i in range(1000))
        assert 4 * KIB < len(text) < 64 * KIB
        for sender in (packed, plain, packed):
            sender.sendMessage(text.encode())
        assert await packed.messages(3) == [text] * 3
        assert await plain.messages(3) == [text] * 3
        assert packed.trafficStats.incomingOctetsWebSocketLevel < packed.trafficStats.incomingOctetsAppLevel // 4
        assert packed.trafficStats.outgoingOctetsWebSocketLevel < packed.trafficStats.outgoingOctetsAppLevel // 4
    finally:
        await close_all([packed, plain])
