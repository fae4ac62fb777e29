"""Two fazt nodes (installed twistd processes on different ports) on one real PostgreSQL, for process tests.

Use from a test module under tests/app: C{from pgnodes_testing import nodes, postgres, pg_dsn}.
The C{nodes} fixture starts node A, then node B (A creates the schema and the first admin), and
makes an admin token with the real C{fazt key create --db URL}.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import pytest

from pg_testing import new_database, postgres, pg_dsn  # noqa: F401  (re-exported: the fixtures nodes needs)

__all__ = ["Nodes", "nodes", "shared_nodes", "postgres", "pg_dsn", "api", "deploy", "served", "first_seen"]

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Nodes:
    a: Any
    b: Any
    token: str
    dsn: str


def start_nodes(twistd, cli_env, fz, dsn: str, args: tuple = ()) -> Nodes:
    """Node A, then node B, on C{dsn}; each with C{args}."""
    a = twistd.start(dsn, args=args)
    b = twistd.start(dsn, args=args)
    return Nodes(a, b, fz.create_token(cli_env, dsn, "t", "admin"), dsn)


@pytest.fixture
def nodes(twistd, cli_env, fz, pg_dsn) -> Nodes:
    """Two started nodes on this test's database, and an admin token."""
    return start_nodes(twistd, cli_env, fz, pg_dsn)


@pytest.fixture(scope="module")
def shared_nodes(postgres, module_twistd, fz) -> Nodes:  # noqa: F811
    """Two started nodes on a database of the module's own, shared by its tests: for tests that each
    use sites of their own and stop no node (one start of both nodes instead of one per test)."""
    with new_database(postgres) as dsn:
        yield start_nodes(module_twistd, module_twistd.env, fz, dsn)
        module_twistd.cleanup()  # the nodes go before their database does


def deploy(fz, node, token: str, site: str, files: dict) -> None:
    """Deploys C{files} as C{site} through C{node}'s admin API."""
    status, body = fz.upload_zip(node.port, token, site, fz.make_zip(files))
    assert status in (200, 201), body


def api(node, token: str, method: str, path: str, payload=None) -> tuple[int, bytes]:
    """An admin API call to C{node}; (status, body)."""
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(f"{node.url}{path}", data=data, method=method, headers={
        "Host": "admin.example.test", "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with _OPENER.open(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()


def served(node, site: str, path: str = "/") -> tuple[int, bytes]:
    return node.get(path, host=f"{site}.example.test")


def first_seen(fz, node, site: str, expected: bytes, path: str = "/") -> float:
    """Polls C{node} until C{site} serves C{expected}; the seconds it took (fails after 10 s, with the log)."""
    start = time.monotonic()
    fz.wait_for(lambda: served(node, site, path) == (200, expected), f"{site} serving {expected!r}", node,
                timeout=10)
    return time.monotonic() - start
