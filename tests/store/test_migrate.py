"""The cartridge schema: created on first open, upgraded in a transaction, never downgraded."""

from __future__ import annotations

import sqlite3

import pytest

from fazt.store import migrate
from fazt.store.db import open_cartridge
from fazt.store.migrate import MigrationError, connect, schema_version

EXPECTED_TABLES = {
    "config", "users", "blobs", "sites", "deployments", "manifests", "api_keys", "kv", "env_vars",
    "sessions", "redirects", "webhooks", "events", "site_logs", "certificates", "acme_account", "audit_log",
}


def tables(path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()


def test_fresh_file_gets_every_table_and_wal(tmp_path):
    db = str(tmp_path / "data.db")
    applied = open_cartridge(db)
    assert applied == [v for v, _, _ in migrate.available_migrations()]
    assert EXPECTED_TABLES <= tables(db)
    conn = connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert schema_version(conn) == applied[-1]


def test_second_open_applies_nothing_and_keeps_data(tmp_path):
    db = str(tmp_path / "data.db")
    open_cartridge(db)
    conn = connect(db)
    conn.execute("INSERT INTO config (key, value, updated_at) VALUES ('k', 'v', 0)")
    conn.close()
    assert open_cartridge(db) == []
    conn = connect(db)
    assert conn.execute("SELECT value FROM config WHERE key = 'k'").fetchone()[0] == "v"


def test_failing_migration_is_rolled_back_whole(tmp_path, monkeypatch):
    db = str(tmp_path / "data.db")
    open_cartridge(db)
    shipped = migrate.available_migrations()
    newest = shipped[-1][0]
    broken = (newest + 1, f"{newest + 1:04d}_broken.sql",
              "CREATE TABLE half_done (x INTEGER); INSERT INTO config VALUES ('m', 'x', 0); SELECT * FROM no_such_table;")
    monkeypatch.setattr(migrate, "available_migrations", lambda: shipped + [broken])
    conn = connect(db)
    with pytest.raises(MigrationError):
        migrate.migrate(conn)
    assert schema_version(conn) == newest
    assert "half_done" not in tables(db)
    assert conn.execute("SELECT COUNT(*) FROM config WHERE key = 'm'").fetchone()[0] == 0


def test_newer_database_is_refused(tmp_path):
    db = str(tmp_path / "data.db")
    open_cartridge(db)
    conn = connect(db)
    conn.execute("PRAGMA user_version = 999")
    with pytest.raises(MigrationError, match="newer"):
        migrate.migrate(conn)
