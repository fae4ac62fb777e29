"""What a site's /ws relays (SPEC §8, issue 11): binary as well as text, the 64 KiB cap however a
message arrives (one frame, fragments, compressed), and permessage-deflate next to plain clients.

Real Autobahn clients over real loopback sockets; each assertion is what a client observes.
"""

from __future__ import annotations

import os

import pytest
import pytest_twisted

from fazt_testing import start_server, stop_server
from wsclient import close_all, join

CAP = 64 * 1024
TOO_BIG = 1009
DEFLATE = "permessage-deflate"


@pytest.fixture
def ws_server(tmp_path):
    live = start_server(str(tmp_path / "data.db"), extra_args=("--js-workers", "1", "--ws-ping-seconds", "0"))
    yield live
    stop_server(live)


def host(server, site):
    return f"{site}.example.test:{server.port}"


async def two_clients(server, site, deflate=(False, False)):
    response = await server.deploy(site, {"index.html": "x"})
    assert response.code == 200, response.body
    first = await join(server.port, host(server, site), deflate=deflate[0])
    second = await join(server.port, host(server, site), deflate=deflate[1])
    return first, second


def negotiated(client) -> list[str]:
    """The extensions in use after the server's handshake answer, by name."""
    return [extension.EXTENSION_NAME for extension in client.response.extensions]


@pytest_twisted.ensureDeferred
async def test_binary_message_is_relayed_to_everyone_including_sender(ws_server):
    alice, bob = await two_clients(ws_server, "bin")
    try:
        blob = bytes(range(256)) * 4
        alice.sendMessage(blob, isBinary=True)
        assert await alice.messages(1) == [blob]
        assert await bob.messages(1) == [blob]
        bob.sendMessage(b"text still works")   # the connection survived the binary message
        assert await alice.messages(2) == [blob, "text still works"]
        assert not alice.closed.called and not bob.closed.called
    finally:
        await close_all([alice, bob])


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
@pytest.mark.parametrize("fragment", [None, 4096], ids=["one-frame", "fragmented"])
@pytest_twisted.ensureDeferred
async def test_exactly_64_kib_is_relayed_and_one_byte_more_closes_with_1009(ws_server, binary, fragment):
    sender, other = await two_clients(ws_server, "cap")
    try:
        at_cap = b"a" * CAP
        sender.sendMessage(at_cap, isBinary=binary, fragmentSize=fragment)
        [got] = await other.messages(1)
        assert got == (at_cap if binary else at_cap.decode())
        sender.sendMessage(b"b" * (CAP + 1), isBinary=binary, fragmentSize=fragment)
        code, _ = await sender.closed
        assert code == TOO_BIG
        other.sendMessage(b"the other client stays")
        assert (await other.messages(2))[1] == "the other client stays"
    finally:
        await close_all([other])


@pytest_twisted.ensureDeferred
async def test_deflate_is_negotiated_and_both_kinds_of_client_get_every_message(ws_server):
    packed, plain = await two_clients(ws_server, "mixed", deflate=(True, False))
    try:
        assert negotiated(packed) == [DEFLATE]
        assert negotiated(plain) == []
        text = "compress me " * 1000
        for sender in (plain, packed, plain):   # context takeover: several messages in a row
            sender.sendMessage(text.encode())
        assert await packed.messages(3) == [text] * 3
        assert await plain.messages(3) == [text] * 3
        # What each saw on the wire: the deflate client compressed frames, the plain one the text as is.
        assert packed.trafficStats.incomingOctetsWebSocketLevel < packed.trafficStats.incomingOctetsAppLevel // 10
        assert plain.trafficStats.incomingOctetsWebSocketLevel == plain.trafficStats.incomingOctetsAppLevel
    finally:
        await close_all([packed, plain])


@pytest_twisted.ensureDeferred
async def test_incompressible_message_at_the_cap_reaches_a_deflate_client(ws_server):
    # Deflating 64 KiB of random bytes makes it a few bytes longer than the cap.
    packed, plain = await two_clients(ws_server, "noise", deflate=(True, False))
    try:
        assert negotiated(packed) == [DEFLATE]
        noise = os.urandom(CAP)
        plain.sendMessage(noise, isBinary=True)
        assert await packed.messages(1) == [noise]
        assert await plain.messages(1) == [noise]
        packed.sendMessage(b"still joined")
        assert (await plain.messages(2))[1] == "still joined"
    finally:
        await close_all([packed, plain])


@pytest_twisted.ensureDeferred
async def test_compressed_message_inflating_past_the_cap_closes_with_1009(ws_server):
    packed, plain = await two_clients(ws_server, "bomb", deflate=(True, False))
    try:
        assert negotiated(packed) == [DEFLATE]
        packed.sendMessage(b"z" * CAP)   # a few hundred bytes on the wire, exactly the cap inflated
        assert len((await plain.messages(1))[0]) == CAP
        packed.sendMessage(b"z" * (CAP + 1))
        code, _ = await packed.closed
        assert code == TOO_BIG
        assert len(plain.received) == 1
    finally:
        await close_all([plain])
