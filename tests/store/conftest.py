"""The store's tests run on both engines: fixtures parameterized over SQLite and PostgreSQL.

C{engine_target} is where a fresh cartridge lives (a file in C{tmp_path}, or a new database on the
session's PostgreSQL server from tests/pg_testing.py); C{conn} is a migrated connection to it for
query functions run by hand, C{engine_store} a started L{IStore} over it. A test that takes any of
them runs twice, as C{[sqlite]} and C{[postgresql]}.
"""

from __future__ import annotations

import pytest
from twisted.internet import reactor

from fazt.store import engines
from pg_testing import pg_dsn, postgres  # noqa: F401  (fixtures)

ENGINES = ["sqlite", "postgresql"]


@pytest.fixture(params=ENGINES)
def engine(request):
    """The engine under test: C{"sqlite"} or C{"postgresql"}."""
    return request.param


@pytest.fixture
def engine_target(engine, request, tmp_path):
    """A new, empty cartridge's path or URL."""
    if engine == "sqlite":
        return str(tmp_path / "data.db")
    return request.getfixturevalue("pg_dsn")


@pytest.fixture
def conn(engine_target):
    """A connection to a freshly migrated cartridge on the engine under test."""
    engines.open_cartridge(engine_target)
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
def pg_store(postgres, pg_dsn):  # noqa: F811
    """A started store on a fresh PostgreSQL cartridge."""
    yield from started_store(pg_dsn)
