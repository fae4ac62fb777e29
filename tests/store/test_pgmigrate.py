"""PostgreSQL migrations: applied once even when several nodes start together, never downgraded."""

from __future__ import annotations

import threading

import pytest

from fazt.store import engines
from fazt.store.migrate import MigrationError, schema_version
from fazt.store.pgmigrate import available_migrations
from fazt.store.transaction import transaction


def test_nodes_starting_together_apply_each_migration_once(postgres, pg_dsn):
    results, errors = [], []

    def start():
        try:
            results.append(engines.open_cartridge(pg_dsn))
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    every = [version for version, _, _ in available_migrations()]
    assert sorted(v for applied in results for v in applied) == every  # each version by exactly one node
    assert engines.open_cartridge(pg_dsn) == []


def test_a_database_newer_than_this_fazt_is_refused(postgres, pg_dsn):
    engines.open_cartridge(pg_dsn)
    conn = engines.connect(pg_dsn)
    try:
        with transaction(conn):
            conn.execute("UPDATE fazt_schema SET version = 999")
        assert schema_version(conn) == 999
    finally:
        conn.close()
    with pytest.raises(MigrationError, match="newer than this fazt"):
        engines.open_cartridge(pg_dsn)


def test_a_failing_migration_leaves_the_last_good_version(postgres, pg_dsn):
    conn = engines.connect(pg_dsn)
    try:
        conn.execute("CREATE TABLE certificate_schedule (name TEXT)")  # 0002 will collide with it
    finally:
        conn.close()
    with pytest.raises(MigrationError, match="postgresql/0002_acme.sql failed"):
        engines.open_cartridge(pg_dsn)
    conn = engines.connect(pg_dsn)
    try:
        assert schema_version(conn) == 1
    finally:
        conn.close()
