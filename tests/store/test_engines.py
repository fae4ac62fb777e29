"""Both engines behind one IStore: snapshots, conflicts, group commit, lost connections, several nodes.

The store's promises (docs/ARCHITECTURE.md, "The store's interface") checked on SQLite and on a
real PostgreSQL, plus what only PostgreSQL can do wrong: a server that drops the connection, two
nodes writing at once.
"""

from __future__ import annotations

import threading

import psycopg
import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import gatherResults
from twisted.logger import formatEvent, globalLogPublisher
from zope.interface.verify import verifyObject

from fazt.store import engines
from fazt.store.errors import Conflict, StoreError
from fazt.store.interfaces import IStore
from fazt.store.kv import kv_get, kv_incr, kv_set
from fazt.store.redirects import create_redirect


def count_kv(conn):
    return conn.execute("SELECT COUNT(*) FROM kv").fetchone()[0]


def test_the_store_of_either_engine_provides_the_interface(engine_store, engine_target):
    assert verifyObject(IStore, engine_store)
    assert engine_store.path == engines.display(engine_target)
    assert engine_store.pending_small == 0


def test_a_url_is_shown_without_its_password():
    shown = engines.display("postgresql://fazt:s3cret@db.example:5432/fazt?sslmode=require&password=x")
    assert shown == "postgresql://fazt@db.example:5432/fazt?sslmode=require"
    assert engines.display("/var/lib/fazt/data.db") == "/var/lib/fazt/data.db"


@pytest_twisted.ensureDeferred
async def test_a_read_is_one_snapshot_of_committed_data(engine_store, engine_target):
    await engine_store.write(kv_set, "s", "a", 1, None, 0.0)

    def twice_around_a_commit(conn):
        before = count_kv(conn)
        other = engines.connect(engine_target)  # another writer commits in the middle of this read
        try:
            other.execute("INSERT INTO kv (site_name, key, value, updated_at) VALUES ('s', 'b', '2', 0)")
        finally:
            other.close()
        return before, count_kv(conn)

    assert await engine_store.read(twice_around_a_commit) == (1, 1)
    assert await engine_store.read(count_kv) == 2


@pytest_twisted.ensureDeferred
async def test_a_read_never_waits_for_a_write(engine_store):
    entered, release = threading.Event(), threading.Event()

    def hold(conn):
        kv_set(conn, "s", "held", 1, None, 0.0)
        entered.set()
        release.wait(10)

    held = engine_store.write(hold)
    assert entered.wait(10)
    assert await engine_store.read(kv_get, "s", "held", 0.0) is None  # not committed yet, and no wait
    release.set()
    await held
    assert await engine_store.read(kv_get, "s", "held", 0.0) == 1


@pytest_twisted.ensureDeferred
async def test_a_taken_unique_key_is_a_conflict_and_undoes_only_its_write(engine_store):
    await engine_store.write(create_redirect, "go", "https://a.example/", [], 0)
    with pytest.raises(Conflict):
        await engine_store.write(create_redirect, "go", "https://b.example/", [], 0)
    # Small writes sharing a transaction: the conflicting one alone is undone.
    results = await gatherResults([
        engine_store.submit(kv_set, "s", "x", 1, None, 0.0).addCallback(lambda _: "ok"),
        engine_store.submit(create_redirect, "go", "https://c.example/", [], 0).addErrback(
            lambda f: f.trap(Conflict).__name__),
        engine_store.submit(kv_set, "s", "y", 2, None, 0.0).addCallback(lambda _: "ok"),
    ])
    assert results == ["ok", "Conflict", "ok"]
    assert await engine_store.read(count_kv) == 2


def _backend_ids(conn):
    return conn.execute("SELECT pg_backend_pid(), txid_current()").fetchone()


@pytest_twisted.ensureDeferred
async def test_postgresql_small_writes_waiting_together_share_one_transaction(pg_store):
    entered, release = threading.Event(), threading.Event()
    held = pg_store.write(lambda conn: (entered.set(), release.wait(10)))
    assert entered.wait(10)
    waiting = [pg_store.submit(_backend_ids) for _ in range(20)]
    release.set()
    await held
    seen = await gatherResults(waiting)
    assert len(set(seen)) == 1  # one connection, one transaction for all twenty


def _terminate_others(postgres, dsn):
    """Kill every server process serving C{dsn}'s database, as a server restart would."""
    dbname = dsn.split("?")[0].rsplit("/", 1)[1]
    with psycopg.connect(postgres.dsn(), autocommit=True) as admin:
        return admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s",
                             (dbname,)).fetchone()[0]


@pytest_twisted.ensureDeferred
async def test_postgresql_a_lost_connection_is_a_clear_error_and_the_next_call_reconnects(
        pg_store, postgres, pg_target):
    store = pg_store
    await store.write(kv_set, "s", "k", 1, None, 0.0)
    assert await store.read(kv_get, "s", "k", 0.0) == 1
    assert _terminate_others(postgres, pg_target) >= 2  # the writer's and a reader's connections
    # A read is retried once on a new connection; a write is not (its COMMIT may have happened).
    assert await store.read(kv_get, "s", "k", 0.0) == 1
    with pytest.raises(StoreError, match="lost the connection to PostgreSQL"):
        await store.write(kv_set, "s", "k", 2, None, 0.0)
    await store.write(kv_set, "s", "k", 3, None, 0.0)
    assert await store.read(kv_get, "s", "k", 0.0) == 3


@pytest_twisted.ensureDeferred
async def test_postgresql_an_unreachable_server_fails_each_call_with_its_reason(tmp_path):
    target = f"postgresql:///fazt?host={tmp_path}&user=nobody"  # no server listens there
    with pytest.raises(StoreError, match="cannot connect to PostgreSQL"):
        engines.open_cartridge(target)
    store = engines.make_store(target, reactor)
    logged = []
    globalLogPublisher.addObserver(logged.append)
    store.startService()
    try:
        with pytest.raises(StoreError, match="cannot connect to PostgreSQL at postgresql:///fazt"):
            await store.read(count_kv)
        with pytest.raises(StoreError, match="cannot connect to PostgreSQL"):
            await store.write(count_kv)
    finally:
        store.stopService()
        globalLogPublisher.removeObserver(logged.append)
    # The connection the store opens at start is reported in one line, not as an unhandled error.
    lines = [formatEvent(e) for e in logged]
    assert any(line.startswith("cannot open the database postgresql:///fazt") and "cannot connect to PostgreSQL" in line
               for line in lines), lines


@pytest_twisted.ensureDeferred
async def test_postgresql_two_nodes_incrementing_one_key_lose_nothing(pg_target):
    # Floats take kv_incr's general path (read, then write): only one writer at a time over the
    # database keeps it atomic when two stores (two nodes) write at once.
    nodes = [engines.make_store(pg_target, reactor) for _ in range(2)]
    for node in nodes:
        node.startService()
    try:
        await gatherResults([node.write(kv_incr, "s", "n", 0.5, 0.0) for _ in range(100) for node in nodes]
                            + [node.submit(kv_incr, "s", "n", 1, 0.0) for _ in range(50) for node in nodes])
        assert await nodes[0].read(kv_get, "s", "n", 0.0) == 200
    finally:
        for node in nodes:
            node.stopService()


def test_a_sqlite_server_never_imports_psycopg():
    # psycopg costs ~0.3 s of start-up (measured with -X importtime); only a PostgreSQL cartridge loads it.
    import subprocess
    import sys

    code = ("import sys, fazt.app.tap, fazt.cli.main, fazt.store.copy, fazt.store.backup;"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'psycopg'))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "[]"
