"""More WebSocket hub limits (SPEC §8): auto-ping drops a dead peer; the total connection limit."""

from __future__ import annotations

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.protocol import ClientFactory

from fazt_testing import start_server, stop_server
from wsclient import RawPeer, close_all, connect, join, wait_for


def hubs(server):
    """The server's HubRegistry."""
    return server.listener.factory.resource.sites.sockets.registry


def host(server, site):
    return f"{site}.example.test:{server.port}"


async def deploy(server, site, files):
    response = await server.deploy(site, files)
    assert response.code == 200, response.body


# Autobahn schedules its ping timers through txaio's batched timer, which rounds the deadline down
# to a whole second: with an interval below ~2 s the pong timeout can fire before a live peer's
# pong arrives, so --ws-ping-seconds refuses intervals under 2 s and this test uses 2.
@pytest.fixture
def ping_server(tmp_path):
    live = start_server(str(tmp_path / "data.db"),
                        extra_args=("--js-workers", "1", "--ws-ping-seconds", "2"))
    yield live
    stop_server(live)


@pytest.fixture
def total_server(tmp_path):
    live = start_server(str(tmp_path / "data.db"),
                        extra_args=("--js-workers", "1", "--ws-ping-seconds", "0", "--ws-max-total", "2"))
    yield live
    stop_server(live)


@pytest_twisted.ensureDeferred
async def test_auto_ping_drops_a_peer_that_never_answers(ping_server):
    await deploy(ping_server, "pinged", {"main.js": "res.send(String(socket.clients()));"})
    registry = hubs(ping_server)
    alive = await join(ping_server.port, host(ping_server, "pinged"))
    dead = RawPeer(host(ping_server, "pinged"))  # never answers a ping
    factory = ClientFactory()
    factory.protocol = lambda: dead
    connector = reactor.connectTCP("127.0.0.1", ping_server.port, factory)
    try:
        head = await dead.upgraded
        assert head.startswith("http/1.1 101 "), head
        assert registry.clients("pinged") == 2
        assert (await ping_server.get("/count", host(ping_server, "pinged"))).body == b"2"
        # Ping every 2 s with a 2 s timeout: gone within a few intervals.
        assert await wait_for(lambda: registry.clients("pinged") == 1, 8.0), "dead peer still in the hub"
        assert await wait_for(lambda: dead.lost.called, 2.0), "dead peer's connection still open"
        assert (await ping_server.get("/count", host(ping_server, "pinged"))).body == b"1"
        # The live client answers pings and keeps receiving.
        assert registry.clients("pinged") == 1 and not alive.closed.called
        assert registry.broadcast("pinged", "still here") == 1
        assert await alive.messages(1) == ["still here"]
    finally:
        if not dead.lost.called:
            connector.disconnect()
            await dead.lost
        await close_all([alive])
    assert await wait_for(lambda: registry.total() == 0, 5.0), registry.total()


@pytest_twisted.ensureDeferred
async def test_total_connection_limit_refuses_another_site_with_503(total_server):
    await deploy(total_server, "first", {"index.html": "x"})
    await deploy(total_server, "second", {"index.html": "x"})
    registry = hubs(total_server)
    clients = [await join(total_server.port, host(total_server, "first")) for _ in range(2)]
    try:
        assert registry.total() == 2
        extra = await connect(total_server.port, host(total_server, "second")).open()
        code, reason = await extra.closed
        extra.opened.addErrback(lambda f: None)
        assert "[503]" in str(reason), reason
        assert registry.clients("second") == 0 and registry.total() == 2
    finally:
        await close_all(clients)
    assert await wait_for(lambda: registry.total() == 0, 5.0), registry.total()
    again = await join(total_server.port, host(total_server, "second"))
    await close_all([again])
    assert await wait_for(lambda: registry.total() == 0, 5.0), registry.total()


@pytest_twisted.ensureDeferred
async def test_stopping_the_server_closes_clients_with_going_away(tmp_path):
    server = start_server(str(tmp_path / "data.db"), extra_args=("--js-workers", "1", "--ws-ping-seconds", "0"))
    stopped = False
    try:
        await deploy(server, "chat", {"index.html": "x"})
        clients = [await join(server.port, host(server, "chat")) for _ in range(2)]
        await server.services.stopService()
        stopped = True
        for client in clients:
            code, reason = await client.closed
            assert code == 1001, (code, reason)
        assert hubs(server).total() == 0
    finally:
        if not stopped:
            stop_server(server)
        else:
            await server.listener.stopListening()
            await server.pool.closeCachedConnections()
