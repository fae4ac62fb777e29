"""Two fazt nodes (two twistd processes on different ports) sharing one real PostgreSQL behave as one platform.

The installed fazt runs both; the database comes from tests/pg_testing.py. Each node caches a
site's state and environment until the bus tells it they changed (there is no expiry), so node B
serving what was changed through node A proves that A's NOTIFY reached B.
"""

from __future__ import annotations

import json
import threading
import time

import pytest_twisted

from wsclient import close_all, join
from cron_testing import TICKER, runs_in, start_early_in_a_minute
from pgnodes_testing import (api, deploy, first_seen, nodes, pg_dsn, postgres, served,  # noqa: F401
                             shared_nodes, start_nodes)

COUNTER = """export default async function (req) {
  return Response.json({ n: db.incr("hits") });
}"""
ENV_ECHO = "export default async function (req) { return new Response(process.env.GREETING || 'unset'); }"


def test_a_deploy_through_one_node_is_served_by_the_other(shared_nodes, fz):
    a, b, token = shared_nodes.a, shared_nodes.b, shared_nodes.token
    deploy(fz, a, token, "blog", {"index.html": b"version one"})
    assert served(b, "blog") == (200, b"version one")  # B now caches version one
    deploy(fz, b, token, "blog", {"index.html": b"version two"})
    assert served(b, "blog") == (200, b"version two")  # the deploying node: at once
    waited = first_seen(fz, a, "blog", b"version two")
    deploy(fz, a, token, "blog", {"index.html": b"version three"})
    waited = max(waited, first_seen(fz, b, "blog", b"version three"))
    print(f"slowest cross-node switch seen: {waited * 1000:.0f} ms")
    # A rollback and a deletion through one node reach the other too.
    status, _ = api(a, token, "POST", "/api/sites/blog/rollback", {})
    assert status == 200
    first_seen(fz, b, "blog", b"version two")
    status, _ = api(b, token, "DELETE", "/api/sites/blog")
    assert status in (200, 204)
    fz.wait_for(lambda: served(a, "blog")[0] == 404, "blog gone from node A", a, timeout=10)


def test_an_env_change_through_one_node_reaches_the_others_scripts(shared_nodes, fz):
    a, b, token = shared_nodes.a, shared_nodes.b, shared_nodes.token
    deploy(fz, a, token, "greet", {"main.js": ENV_ECHO})
    assert served(b, "greet") == (200, b"unset")  # B caches the (empty) environment
    status, body = api(a, token, "PUT", "/api/sites/greet/env/GREETING", {"value": "hello from A"})
    assert status in (200, 201, 204), body
    first_seen(fz, b, "greet", b"hello from A")


def test_an_atomic_counter_hammered_through_both_nodes_loses_nothing(shared_nodes, fz):
    a, b, token = shared_nodes.a, shared_nodes.b, shared_nodes.token
    deploy(fz, a, token, "count", {"main.js": COUNTER})
    seen: list[int] = []
    errors: list = []

    def hammer(node, times):
        for _ in range(times):
            try:
                status, body = served(node, "count")
                assert status == 200, body
                seen.append(json.loads(body)["n"])
            except Exception as error:  # collected: a thread's assertion would be lost
                errors.append(error)

    threads = [threading.Thread(target=hammer, args=(node, 100)) for node in (a, b, a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(seen) == list(range(1, 401))  # every increment counted once, none lost or repeated


def test_two_nodes_started_together_on_a_new_database_make_one_schema_and_one_admin(twistd, fz, pg_dsn):
    a, b = twistd.spawn(pg_dsn), twistd.spawn(pg_dsn)
    a.wait_healthy(30)
    b.wait_healthy(30)
    lines = [line for node in (a, b) for line in node.log().splitlines() if fz.ADMIN_PASSWORD_LINE in line]
    assert len(lines) == 1, lines  # one admin, announced by the node that made it
    for node in (a, b):
        assert served(node, "root")[0] == 200


def test_a_cron_entry_runs_once_per_tick_with_two_nodes(twistd, cli_env, fz, pg_dsn):
    # Deployed before both nodes start, so that the leader's check of the minute it starts in runs
    # it at once (test_crossproc_process waits for a real minute boundary); both nodes check it.
    single = twistd.start(pg_dsn)
    deploy(fz, single, fz.create_token(cli_env, pg_dsn, "t", "admin"), "ticker", TICKER)
    single.terminate()
    minute, nodes = start_early_in_a_minute(lambda: (int(time.time() // 60), start_nodes(twistd, cli_env, fz, pg_dsn)))
    fz.wait_for(lambda: runs_in(nodes.b, minute), "a cron run", nodes.a, timeout=30)
    time.sleep(5)  # the other node's scheduler saw the same minute start by now
    assert runs_in(nodes.b, minute) == 1


@pytest_twisted.ensureDeferred
async def test_a_websocket_message_relays_across_nodes(shared_nodes, fz):
    a, b, token = shared_nodes.a, shared_nodes.b, shared_nodes.token
    deploy(fz, a, token, "chat", {"index.html": b"<p>chat</p>"})
    alice = await join(a.port, f"chat.{fz.DOMAIN}:{a.port}")
    bob = await join(b.port, f"chat.{fz.DOMAIN}:{b.port}")
    try:
        alice.sendMessage(b"from node A")
        assert await bob.messages(1) == ["from node A"]
        bob.sendMessage(b"\x00binary from B", isBinary=True)
        assert await alice.messages(2) == ["from node A", b"\x00binary from B"]
    finally:
        await close_all([alice, bob])


def test_when_the_leading_node_dies_the_other_takes_over_its_duties(nodes, fz):
    leading = "This node takes on the leader's duties"
    fz.wait_for(lambda: any(leading in node.log() for node in (nodes.a, nodes.b)), "a leader", nodes.a, timeout=30)
    leader, other = (nodes.a, nodes.b) if leading in nodes.a.log() else (nodes.b, nodes.a)
    assert leading not in other.log()  # exactly one leads
    leader.kill()  # SIGKILL: its session ends with the process, and the advisory lock with it
    fz.wait_for(lambda: leading in other.log(), "the other node leading", other, timeout=30)
    deploy(fz, other, nodes.token, "after", {"index.html": b"one node left"})
    assert served(other, "after") == (200, b"one node left")


def test_two_serving_processes_on_postgresql_are_two_nodes_of_one_platform(twistd, cli_env, fz, pg_dsn):
    """--processes 2 with --db postgresql://: each serving process is a node on the database's bus
    (fazt.app.tap.build): a deploy through the API is served by both, and the counter stays exact."""
    from test_processes_process import connection_per_process, read_everywhere, wait_for_processes

    server = twistd.start(pg_dsn, args=("--processes", "2"))
    wait_for_processes(server, fz)
    token = fz.create_token(cli_env, pg_dsn, "t", "admin")
    held = connection_per_process(server.port)
    deploy(fz, server, token, "blog", {"index.html": b"version one", "main.js": COUNTER})
    # main.js takes every path: both processes count in the one store, each request exactly once.
    counts = []
    for _ in range(20):
        for conn in held.values():
            conn.request("GET", "/", headers={"Host": "blog.example.test"})
            counts.append(json.loads(conn.getresponse().read())["n"])
    assert sorted(counts) == list(range(1, 41))
    # A deploy through either process is served by the other: they share no process bus, only PostgreSQL.
    deploy(fz, server, token, "blog", {"index.html": b"version two"})
    assert set(read_everywhere(held, "/", "blog.example.test", b"version two", within=10)) == set(held)
