"""Rate limits hold for the whole platform (SPEC §19): with `--processes 2`, and with two nodes on one
real PostgreSQL, a client going from process to process (or node to node) gets the burst it was
given once, not once per process. Each request waits for its answer, as a client does."""

from __future__ import annotations

import http.client
import json

from pgnodes_testing import api, pg_dsn, postgres, start_nodes  # noqa: F401
from test_processes_process import connection_per_process, wait_for_processes

BURST = 6
# One token back every 100 s: nothing refills while the test runs.
LIMITS = ("--api-rate-limit", "0.01", "--api-rate-burst", str(BURST))


def _list_sites(conn: http.client.HTTPConnection, token: str) -> int:
    conn.request("GET", "/api/sites", headers={"Host": "admin.example.test", "Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    body = json.loads(response.read())
    if response.status == 429:
        assert body["error"]["code"] == "RATE_LIMIT_EXCEEDED" and response.getheader("Retry-After"), body
    return response.status


def test_the_api_rate_limit_holds_across_two_processes(twistd, cli_env, fz):
    server = twistd.start(args=("--processes", "2", *LIMITS))
    wait_for_processes(server, fz)
    token = fz.create_token(cli_env, server.db)
    held = connection_per_process(server.port)  # /health is not rate-limited
    statuses = {pid: [] for pid in held}
    for _ in range(BURST):  # 2 × BURST requests in all, alternating between the processes
        for pid, conn in held.items():
            statuses[pid].append(_list_sites(conn, token))
    for conn in held.values():
        conn.close()
    every = [status for answers in statuses.values() for status in answers]
    assert every.count(200) == BURST and every.count(429) == BURST, statuses  # not BURST per process
    assert all(429 in answers for answers in statuses.values()), statuses  # both processes refused


def test_the_api_rate_limit_holds_across_two_postgresql_nodes(twistd, cli_env, fz, pg_dsn):
    nodes = start_nodes(twistd, cli_env, fz, pg_dsn, args=LIMITS)
    answers = {"a": [], "b": []}
    for _ in range(BURST):
        for name, node in (("a", nodes.a), ("b", nodes.b)):
            status, body = api(node, nodes.token, "GET", "/api/sites")
            assert status in (200, 429), body
            answers[name].append(status)
    every = answers["a"] + answers["b"]
    assert every.count(200) == BURST and every.count(429) == BURST, answers
    assert 429 in answers["a"] and 429 in answers["b"], answers
