"""WebSocket hubs per site (SPEC §8) through a real server and real Autobahn clients."""

from __future__ import annotations

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.task import deferLater

from fazt_testing import start_server, stop_server
from wsclient import close_all, connect, join, wait_for

CHAT = """<!doctype html><script>
const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
ws.onmessage = (e) => document.body.append(e.data);
</script>"""


def hubs(server):
    """The server's HubRegistry."""
    return server.listener.factory.resource.sites.sockets.registry


@pytest.fixture
def ws_server(tmp_path):
    live = start_server(str(tmp_path / "data.db"),
                        extra_args=("--js-workers", "1", "--ws-ping-seconds", "0", "--ws-max-per-site", "3"))
    yield live
    stop_server(live)


def host(server, site):
    return f"{site}.example.test:{server.port}"


async def deploy(server, site, files):
    response = await server.deploy(site, files)
    assert response.code == 200, response.body


@pytest_twisted.ensureDeferred
async def test_chat_example_reaches_everyone_including_sender(ws_server):
    await deploy(ws_server, "chat", {"index.html": CHAT})
    assert b"WebSocket" in (await ws_server.get("/", host(ws_server, "chat"))).body
    origin = f"http://{host(ws_server, 'chat')}"
    alice = await join(ws_server.port, host(ws_server, "chat"), origin=origin)
    bob = await join(ws_server.port, host(ws_server, "chat"))
    try:
        assert hubs(ws_server).clients("chat") == 2
        alice.sendMessage("hello from alice".encode())
        assert await alice.messages(1) == ["hello from alice"]
        assert await bob.messages(1) == ["hello from alice"]
    finally:
        await close_all([alice, bob])
    assert await wait_for(lambda: hubs(ws_server).sites() == [], 5.0), hubs(ws_server).sites()


@pytest_twisted.ensureDeferred
async def test_sites_are_isolated(ws_server):
    await deploy(ws_server, "one", {"index.html": "1"})
    await deploy(ws_server, "two", {"index.html": "2"})
    first = await join(ws_server.port, host(ws_server, "one"))
    second = await join(ws_server.port, host(ws_server, "two"))
    try:
        first.sendMessage(b"only for one")
        second.sendMessage(b"only for two")
        assert await first.messages(1) == ["only for one"]
        assert await second.messages(1) == ["only for two"]
        await deferLater(reactor, 0.1, lambda: None)
        assert first.received == ["only for one"] and second.received == ["only for two"]
    finally:
        await close_all([first, second])


@pytest_twisted.ensureDeferred
async def test_main_js_broadcast_reaches_clients(ws_server):
    await deploy(ws_server, "live", {"main.js": 'const n = socket.broadcast("hi"); res.send(n + "/" + socket.clients());'})
    a = await join(ws_server.port, host(ws_server, "live"))
    b = await join(ws_server.port, host(ws_server, "live"))
    try:
        response = await ws_server.get("/send", host(ws_server, "live"))
        assert response.body == b"2/2"
        assert await a.messages(1) == ["hi"]
        assert await b.messages(1) == ["hi"]
    finally:
        await close_all([a, b])
    assert (await ws_server.get("/send", host(ws_server, "live"))).body == b"0/0"


@pytest_twisted.ensureDeferred
async def test_plain_get_ws_is_426_and_unknown_site_404(ws_server):
    await deploy(ws_server, "plain", {"index.html": "x", "ws": "not served"})
    response = await ws_server.get("/ws", host(ws_server, "plain"))
    assert response.code == 426
    assert (await ws_server.get("/ws", host(ws_server, "nosuchsite"))).code == 404


@pytest_twisted.ensureDeferred
async def test_wrong_origin_is_refused_with_403(ws_server):
    await deploy(ws_server, "guarded", {"index.html": "x"})
    same = await join(ws_server.port, host(ws_server, "guarded"), origin=f"http://GUARDED.example.test:{ws_server.port}")
    await close_all([same])
    for origin in (f"http://evil.example.test:{ws_server.port}", "http://guarded.example.test",
                   f"https://guarded.example.test:{ws_server.port}"):
        client = await connect(ws_server.port, host(ws_server, "guarded"), origin=origin).open()
        code, reason = await client.closed
        client.opened.addErrback(lambda f: None)
        assert "[403]" in str(reason), reason
        assert code != 1000
    assert await wait_for(lambda: hubs(ws_server).clients("guarded") == 0, 5.0)


@pytest_twisted.ensureDeferred
async def test_oversized_message_closes_with_1009(ws_server):
    await deploy(ws_server, "big", {"index.html": "x"})
    client = await join(ws_server.port, host(ws_server, "big"))
    other = await join(ws_server.port, host(ws_server, "big"))
    try:
        client.sendMessage(b"x" * (64 * 1024))  # exactly the limit: fine
        assert len((await other.messages(1))[0]) == 64 * 1024
        client.sendMessage(b"y" * (64 * 1024 + 1))
        code, _ = await client.closed
        assert code == 1009
    finally:
        await close_all([other])
    assert await wait_for(lambda: hubs(ws_server).clients("big") == 0, 5.0)


@pytest_twisted.ensureDeferred
async def test_connection_limit_per_site_answers_503(ws_server):
    await deploy(ws_server, "full", {"index.html": "x"})
    await deploy(ws_server, "spare", {"index.html": "x"})
    clients = [await join(ws_server.port, host(ws_server, "full")) for _ in range(3)]
    try:
        extra = await connect(ws_server.port, host(ws_server, "full")).open()
        _, reason = await extra.closed
        extra.opened.addErrback(lambda f: None)
        assert "[503]" in str(reason), reason
        elsewhere = await join(ws_server.port, host(ws_server, "spare"))
        clients.append(elsewhere)
    finally:
        await close_all(clients)
    again = await join(ws_server.port, host(ws_server, "full"))
    await close_all([again])


@pytest_twisted.ensureDeferred
async def test_slow_reader_is_dropped_and_others_keep_receiving(ws_server):
    await deploy(ws_server, "flood", {"index.html": "x"})
    registry = hubs(ws_server)
    slow = await join(ws_server.port, host(ws_server, "flood"))
    fast = await join(ws_server.port, host(ws_server, "flood"))
    slow.transport.pauseProducing()
    chunk = "z" * 60000
    sent = 0
    try:
        while registry.clients("flood") == 2 and sent < 2000:
            for _ in range(5):
                registry.broadcast("flood", chunk)
                sent += 1
            await deferLater(reactor, 0.001, lambda: None)
        assert registry.clients("flood") == 1, f"slow reader still joined after {sent} messages"
        assert registry.broadcast("flood", "still here") == 1
        received = await fast.messages(sent + 1)
        assert received[-1] == "still here" and len(received) == sent + 1
    finally:
        slow.transport.resumeProducing()
        await close_all([slow, fast])
    assert await wait_for(lambda: registry.total() == 0, 5.0), registry.total()
