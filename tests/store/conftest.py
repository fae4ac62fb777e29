"""The store's tests run on both engines: fixtures parameterized over SQLite and PostgreSQL.

C{engine_target} is where a fresh, migrated cartridge lives (a file in C{tmp_path}, or the
session's PostgreSQL cartridge emptied for this test); C{conn} is a connection to it for query
functions run by hand, C{engine_store} a started L{IStore} over it. A test that takes any of them
runs twice, as C{[sqlite]} and C{[postgresql]}.

PostgreSQL: one database is created and migrated per session, then emptied before each test
(rows deleted, identity counters restarted, tables a test added dropped), measured on this
machine at about 0.03 s against 0.9 s for a new database per test (CREATE DATABASE 0.4 s,
migrations 0.3 s, DROP 0.1 s). Tests about creating or migrating a database use C{pg_dsn}.
"""

from __future__ import annotations

import pytest
from twisted.internet import reactor

from fazt.store import catalog, engines
from pg_testing import pg_dsn, postgres  # noqa: F401  (fixtures)

ENGINES = ["sqlite", "postgresql"]


@pytest.fixture(params=ENGINES)
def engine(request):
    """The engine under test: C{"sqlite"} or C{"postgresql"}."""
    return request.param


@pytest.fixture(scope="session")
def shared_pg(postgres):  # noqa: F811
    """The session's PostgreSQL cartridge: its URL and the tables its migrations made."""
    import psycopg

    with psycopg.connect(postgres.dsn(), autocommit=True) as admin:
        admin.execute("CREATE DATABASE store_tests TEMPLATE template0")
    dsn = postgres.dsn("store_tests")
    engines.open_cartridge(dsn)
    conn = engines.connect(dsn)
    try:
        return dsn, catalog.tables(conn)
    finally:
        conn.close()


@pytest.fixture
def pg_target(shared_pg):
    """The session's PostgreSQL cartridge, emptied: as a freshly migrated one."""
    dsn, tables = shared_pg
    conn = engines.connect(dsn)
    try:
        extra = [t for t in catalog.tables(conn) if t not in tables]
        script = [f"DROP TABLE {t} CASCADE;" for t in extra]
        script += [f"DELETE FROM {t};" for t in reversed(tables)]
        script += [f"ALTER TABLE {t} ALTER COLUMN id RESTART;" for t in tables if catalog.counter(conn, t) is not None]
        conn.execute("\n".join(script))
    finally:
        conn.close()
    return dsn


@pytest.fixture
def engine_target(engine, request, tmp_path):
    """A migrated, empty cartridge's path or URL."""
    if engine == "sqlite":
        target = str(tmp_path / "data.db")
        engines.open_cartridge(target)
        return target
    return request.getfixturevalue("pg_target")


@pytest.fixture
def conn(engine_target):
    """A connection to a freshly migrated cartridge on the engine under test."""
    connection = engines.connect(engine_target)
    yield connection
    connection.close()


def started_store(target):
    """Migrate the cartridge at C{target}, start a store on it and yield it; stop it after."""
    engines.open_cartridge(target)
    store = engines.make_store(target, reactor)
    store.startService()
    yield store
    if store.running:
        store.stopService()


@pytest.fixture
def engine_store(engine_target):
    """A started store on a freshly migrated cartridge on the engine under test."""
    yield from started_store(engine_target)


@pytest.fixture
def pg_store(pg_target):
    """A started store on an empty PostgreSQL cartridge."""
    yield from started_store(pg_target)
