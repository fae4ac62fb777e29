"""Two fazt nodes (two twistd processes on different ports) sharing one real PostgreSQL behave as one platform.

The installed fazt runs both; the database comes from tests/pg_testing.py. Each node caches a
site's state and environment until the bus tells it they changed (there is no expiry), so node B
serving what was changed through node A proves that A's NOTIFY reached B.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request

import pytest

from pg_testing import postgres, pg_dsn  # noqa: F401

COUNTER = """export default async function (req) {
  return Response.json({ n: db.incr("hits") });
}"""
ENV_ECHO = "export default async function (req) { return new Response(process.env.GREETING || 'unset'); }"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture
def nodes(twistd, cli_env, fz, pg_dsn):
    """Two started nodes on one database, and an admin token; C{nodes.a}, C{nodes.b}, C{nodes.token}."""
    a = twistd.start(pg_dsn)
    b = twistd.start(pg_dsn)
    token = fz.create_token(cli_env, pg_dsn, "t", "admin")

    class Nodes:
        pass

    found = Nodes()
    found.a, found.b, found.token = a, b, token
    return found


def deploy(fz, node, token, site, files):
    status, body = fz.upload_zip(node.port, token, site, fz.make_zip(files))
    assert status in (200, 201), body


def api(node, token, method, path, payload=None):
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(f"{node.url}{path}", data=data, method=method, headers={
        "Host": "admin.example.test", "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with _OPENER.open(request, timeout=10) as response:
        return response.status, response.read()


def served(node, site, path="/"):
    return node.get(path, host=f"{site}.example.test")


def first_seen(node, site, expected, fz, path="/"):
    """Polls node until C{site} serves C{expected}; the seconds it took (fails after 10 s with the log)."""
    start = time.monotonic()
    fz.wait_for(lambda: served(node, site, path) == (200, expected), f"{site} serving {expected!r}", node,
                timeout=10)
    return time.monotonic() - start


def test_a_deploy_through_one_node_is_served_by_the_other(nodes, fz):
    a, b, token = nodes.a, nodes.b, nodes.token
    deploy(fz, a, token, "blog", {"index.html": b"version one"})
    assert served(b, "blog") == (200, b"version one")  # B now caches version one
    deploy(fz, b, token, "blog", {"index.html": b"version two"})
    assert served(b, "blog") == (200, b"version two")  # the deploying node: at once
    waited = first_seen(a, "blog", b"version two", fz)
    deploy(fz, a, token, "blog", {"index.html": b"version three"})
    waited = max(waited, first_seen(b, "blog", b"version three", fz))
    print(f"slowest cross-node switch seen: {waited * 1000:.0f} ms")
    # A rollback and a deletion through one node reach the other too.
    status, _ = api(a, token, "POST", "/api/sites/blog/rollback", {})
    assert status == 200
    first_seen(b, "blog", b"version two", fz)
    status, _ = api(b, token, "DELETE", "/api/sites/blog")
    assert status in (200, 204)
    fz.wait_for(lambda: served(a, "blog")[0] == 404, "blog gone from node A", a, timeout=10)


def test_an_env_change_through_one_node_reaches_the_others_scripts(nodes, fz):
    a, b, token = nodes.a, nodes.b, nodes.token
    deploy(fz, a, token, "greet", {"main.js": ENV_ECHO})
    assert served(b, "greet") == (200, b"unset")  # B caches the (empty) environment
    status, body = api(a, token, "PUT", "/api/sites/greet/env/GREETING", {"value": "hello from A"})
    assert status in (200, 201, 204), body
    first_seen(b, "greet", b"hello from A", fz)


def test_an_atomic_counter_hammered_through_both_nodes_loses_nothing(nodes, fz):
    a, b, token = nodes.a, nodes.b, nodes.token
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
