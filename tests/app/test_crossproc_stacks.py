"""One platform served by several processes (SPEC §19), as whole fazt trees in one test reactor.

Each stack is a full L{fazt.app.tap.build} tree on its own Store of one cartridge, listening on its
own 127.0.0.1 port, on a bus of a L{BusNetwork} that delivers to the other stacks a reactor turn
later (as the supervisor's or PostgreSQL's would). Every assertion is what a client sees over a
real socket, or what the stacks' trees hold.
"""

from __future__ import annotations

import json

import pytest
import pytest_twisted

from fazt_testing import fresh_cartridge, set_admin_password, sql, stop_server
from wsclient import close_all, join
from sse_testing import open_stream
from xproc_testing import WAIT, BusNetwork, Leadership, eventually, start_stack, stop_stack

ARGS = ("--js-workers", "1", "--ws-ping-seconds", "0")


@pytest.fixture
def stacks(tmp_path):
    """Three stacks on one cartridge: the first leads."""
    db = str(tmp_path / "data.db")
    fresh_cartridge(db)
    network = BusNetwork()
    started = [start_stack(db, network.bus(), Leadership(i == 0), extra_args=ARGS) for i in range(3)]
    yield started
    for server in started:
        stop_server(server)


def host(server, site):
    return f"{site}.example.test:{server.port}"


def duty(server, name):
    return server.services.getServiceNamed("leader-duties").getServiceNamed(name)


@pytest_twisted.ensureDeferred
async def test_a_deploy_through_one_stack_is_served_by_the_others(stacks):
    a, b, c = stacks
    for server in stacks:  # each has the site's 404 in its cache
        assert (await server.get("/", host(server, "blog"))).code == 404
    assert (await a.deploy("blog", {"index.html": "v1"})).code == 200
    for server in (b, c):
        await eventually(lambda s=server: _body(s, "blog"), "serving v1", wait=5.0)
        assert await _body(server, "blog") == b"v1"
    assert (await b.deploy("blog", {"index.html": "v2"})).code == 200
    for server in (a, c):
        await eventually(lambda s=server: _is(s, "blog", b"v2"), "serving v2", wait=5.0)


async def _body(server, site):
    response = await server.get("/", host(server, site))
    return response.body if response.code == 200 else None


async def _is(server, site, body):
    return await _body(server, site) == body


@pytest_twisted.ensureDeferred
async def test_a_client_message_reaches_the_sites_clients_on_every_stack(stacks):
    a, b, c = stacks
    await deploy_everywhere(stacks, "chat", {"index.html": "x"})
    alice = await join(a.port, host(a, "chat"))
    bob = await join(b.port, host(b, "chat"))
    carol = await join(c.port, host(c, "chat"))
    elsewhere = await join(b.port, host(b, "root"))
    clients = [alice, bob, carol, elsewhere]
    try:
        # Each stack learns the others' counts from the bus.
        await eventually(lambda: all(_relay(s).clients("chat") == 3 for s in stacks), "3 clients everywhere")
        alice.sendMessage(b"hello from a")
        bob.sendMessage(bytes(range(256)), isBinary=True)
        for client in (alice, bob, carol):
            got = await client.messages(2)
            assert sorted(got, key=repr) == sorted(["hello from a", bytes(range(256))], key=repr)
        assert elsewhere.received == []
    finally:
        await close_all(clients)
    await eventually(lambda: all(_relay(s).clients("chat") == 0 for s in stacks), "no clients anywhere")


def _relay(server):
    return server.services.getServiceNamed("socket-relay")


@pytest_twisted.ensureDeferred
async def test_a_scripts_counts_and_broadcast_span_the_stacks(stacks):
    a, b, c = stacks
    await deploy_everywhere(stacks, "live", {"main.js": 'const n = socket.broadcast("tick"); '
                                                        'res.send(n + "/" + socket.clients());'})
    clients = [await join(a.port, host(a, "live")), await join(b.port, host(b, "live")),
               await join(b.port, host(b, "live"))]
    try:
        await eventually(lambda: _relay(c).clients("live") == 3, "c knowing of 3 clients")
        # c has no client of its own: its script reaches the 3 clients of a and b.
        assert (await c.get("/send", host(c, "live"))).body == b"3/3"
        for client in clients:
            assert await client.messages(1) == ["tick"]
    finally:
        await close_all(clients)
    await eventually(lambda: _relay(c).clients("live") == 0, "c knowing they left")
    assert (await c.get("/send", host(c, "live"))).body == b"0/0"


async def deploy_everywhere(stacks, site, files):
    """Deploy C{files} through the first stack; returns once every stack serves them."""
    assert (await stacks[0].deploy(site, files)).code == 200
    for server in stacks[1:]:
        await eventually(lambda s=server: _served(s, site), f"{site} deployed on every stack")


async def _served(server, site):
    return (await server.get("/", host(server, site))).code == 200


@pytest_twisted.ensureDeferred
async def test_a_stopped_stack_takes_its_clients_out_of_the_counts(tmp_path):
    db = str(tmp_path / "data.db")
    fresh_cartridge(db)
    network = BusNetwork()
    a = start_stack(db, network.bus(), Leadership(True), extra_args=ARGS)
    b = start_stack(db, network.bus(), Leadership(False), extra_args=ARGS)
    try:
        await deploy_everywhere([a, b], "room", {"index.html": "x"})
        client = await join(b.port, host(b, "room"))
        await eventually(lambda: _relay(a).clients("room") == 1, "a knowing b's client")
        await stop_stack(b)
        await client.closed
        await eventually(lambda: _relay(a).clients("room") == 0, "a forgetting b's client")
    finally:
        await stop_stack(a)


@pytest_twisted.ensureDeferred
async def test_live_logs_of_every_stack_reach_a_stream_on_one(stacks):
    a, b, c = stacks
    script = 'console.log("line from " + req.headers["x-who"]); res.send("ok");'
    await deploy_everywhere(stacks, "logged", {"main.js": script})
    response, lines = await open_stream(a, "logged", a.admin_token)
    try:
        assert response.code == 200
        await lines.wait_for(": connected")
        for server, who in ((b, "b"), (c, "c"), (a, "a")):
            response = await server.request("GET", "/", host(server, "logged"), headers={"X-Who": who})
            assert response.body == b"ok"
            await lines.wait_for(f"line from {who}", timeout=WAIT)
        assert (await c.deploy("logged", {"main.js": script + "\n"})).code == 200
        await lines.wait_for("event: switch", timeout=WAIT)
    finally:
        lines.transport.stopProducing()
    await lines.closed


@pytest_twisted.ensureDeferred
async def test_cron_runs_only_where_the_leadership_is(tmp_path):
    """Two stacks that lead by turns: the leader's duties check the minute they start in, so
    handing the leadership over runs a due entry at once; the minute runs once in all."""
    db = str(tmp_path / "data.db")
    fresh_cartridge(db)
    network = BusNetwork()
    first, second = Leadership(False), Leadership(False)
    a = start_stack(db, network.bus(), first, extra_args=ARGS)
    b = start_stack(db, network.bus(), second, extra_args=ARGS)
    try:
        files = {"main.js": 'res.send("ran");',
                 "fazt.json": json.dumps({"cron": [{"schedule": "* * * * *", "path": "/tick"}]})}
        assert (await a.deploy("ticker", files)).code == 200
        assert not duty(a, "cron").running and not duty(b, "cron").running
        second.become(True)
        await eventually(lambda: duty(b, "cron").counts["ok"] == 1, "b's cron run")
        [(ran_in,)] = sql(db, "SELECT last_minute FROM cron_runs WHERE site_name = 'ticker'")
        second.become(False)
        first.become(True)  # a checks the minute it starts in: the one b ran, most likely
        await duty(a, "cron").idle()
        [(last,)] = sql(db, "SELECT last_minute FROM cron_runs WHERE site_name = 'ticker'")
        # One run per minute in all: a ran only if the clock has moved on to another minute meanwhile.
        assert duty(a, "cron").counts["ok"] == (0 if last == ran_in else 1)
        assert duty(b, "cron").counts["ok"] == 1
        assert not duty(b, "cron").running and duty(a, "cron").running
    finally:
        await stop_stack(a)
        await stop_stack(b)


@pytest_twisted.ensureDeferred
async def test_failed_logins_on_every_stack_lock_the_address_on_all(stacks):
    a, b, c = stacks
    set_admin_password(a.db, "right password")

    async def login(server, password):
        body = json.dumps({"username": "admin", "password": password}).encode()
        return await server.request("POST", "/api/login", headers={"Content-Type": "application/json"}, body=body)

    for server in (a, b, c, a, b):
        assert (await login(server, "wrong")).code == 401
    for server in stacks:
        response = await login(server, "right password")
        assert response.code == 429 and response.header("retry-after"), (response.code, response.body)


@pytest_twisted.ensureDeferred
async def test_metrics_on_one_stack_sum_every_stack(stacks):
    a, b, c = stacks
    await deploy_everywhere(stacks, "counted", {"index.html": "x"})
    before = _series(await _metrics(a), 'fazt_site_requests_total{site="counted"}')
    for server, times in ((a, 1), (b, 2), (c, 3)):
        for _ in range(times):
            assert (await server.get("/", host(server, "counted"))).code == 200
    client = await join(c.port, host(c, "counted"))
    try:
        await eventually(lambda: _relay(a).clients("counted") == 1, "a knowing c's client")
        text = await _metrics(a)  # asked right after the requests: each stack answers with its latest
        assert _series(text, 'fazt_site_requests_total{site="counted"}') == before + 6
        assert _series(text, 'fazt_site_responses_total{site="counted",code="200"}') == before + 6
        assert _series(text, 'fazt_site_request_duration_seconds_count{site="counted"}') == before + 6
        assert _series(text, 'fazt_websocket_connections{site="counted"}') == 1
        assert _series(text, "fazt_js_workers") == 3  # one per stack
        assert text.count("# TYPE fazt_site_requests_total counter") == 1
    finally:
        await close_all([client])


async def _metrics(server) -> str:
    response = await server.get("/metrics", authorization=f"Bearer {server.admin_token}")
    assert response.code == 200, response.body
    return response.body.decode()


def _series(text: str, name: str) -> float:
    values = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + " ")]
    return values[0] if values else 0


@pytest_twisted.ensureDeferred
async def test_guesses_still_being_checked_at_one_stack_hold_back_the_others(tmp_path):
    """Five wrong passwords fired at one stack without waiting: while bcrypt still checks them, the
    other stack refuses even the right password (five attempts in flight platform-wide)."""
    from twisted.internet.defer import Deferred

    from fazt.base.bus import LOGIN_CHECKING

    db = str(tmp_path / "data.db")
    fresh_cartridge(db)
    set_admin_password(db, "right password")
    network = BusNetwork()
    bus_a = network.bus()
    a = start_stack(db, bus_a, Leadership(True), extra_args=ARGS)
    b = start_stack(db, network.bus(), Leadership(False), extra_args=ARGS)

    async def login(server, username, password):
        body = json.dumps({"username": username, "password": password}).encode()
        return await server.request("POST", "/api/login", headers={"Content-Type": "application/json"}, body=body)

    try:
        # An unknown user is checked against a cost-12 hash: a quarter of a second each, two at a time.
        guesses = [Deferred.fromCoroutine(login(a, "nobody", "wrong")) for _ in range(5)]
        await eventually(lambda: sum(topic == LOGIN_CHECKING for topic, _ in bus_a.published) == 5,
                         "five attempts admitted at a")
        response = await login(b, "admin", "right password")
        assert response.code == 429 and response.header("retry-after"), (response.code, response.body)
        assert [(await guess).code for guess in guesses] == [401] * 5
    finally:
        await stop_stack(a)
        await stop_stack(b)


@pytest_twisted.ensureDeferred
async def test_the_websocket_limit_per_site_counts_the_clients_of_every_stack(tmp_path):
    """--ws-max-per-site 2: two clients at one stack fill the site for the platform; the other
    stack refuses a third (503), and takes one again once a client left."""
    from twisted.internet.defer import DeferredList

    from wsclient import connect

    db = str(tmp_path / "data.db")
    fresh_cartridge(db)
    network = BusNetwork()
    args = (*ARGS, "--ws-max-per-site", "2")
    a = start_stack(db, network.bus(), Leadership(True), extra_args=args)
    b = start_stack(db, network.bus(), Leadership(False), extra_args=args)
    clients = []
    try:
        await deploy_everywhere([a, b], "room", {"index.html": "x"})
        clients = [await join(a.port, host(a, "room")) for _ in range(2)]
        await eventually(lambda: _relay(b).clients("room") == 2, "b knowing a's clients")
        extra = await connect(b.port, host(b, "room")).open()
        result, which = await DeferredList([extra.opened, extra.closed], fireOnOneCallback=True, consumeErrors=True)
        if which == 0:
            clients.append(extra)
        assert which == 1 and "[503]" in str(result[1]), result  # refused, not opened
        await close_all([clients.pop()])
        await eventually(lambda: _relay(b).clients("room") == 1, "b knowing a client left")
        clients.append(await join(b.port, host(b, "room")))
    finally:
        await close_all(clients)
        await stop_stack(a)
        await stop_stack(b)
