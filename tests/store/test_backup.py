"""Backup and restore of a cartridge file: round trips, verification, refusals."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading

import pytest

from fazt.store.backup import (BackupError, backup_database, database_in_use, restore_database,
                               verify_cartridge)
from fazt.store.db import open_cartridge
from fazt.store.migrate import connect


def populated(path: str, rows: int = 50) -> str:
    """A cartridge at C{path} with sites and KV rows (a few hundred KiB)."""
    open_cartridge(path)
    conn = connect(path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        for i in range(rows):
            conn.execute("INSERT INTO sites (name, created_at, updated_at) VALUES (?, 1, 1)", (f"s{i}",))
            conn.execute("INSERT INTO kv (site_name, key, value, updated_at) VALUES (?, 'k', ?, 1)",
                         (f"s{i}", "x" * 4000))
        conn.execute("COMMIT")
    finally:
        conn.close()
    return path


def kv_rows(path: str) -> list:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT site_name, key, value FROM kv ORDER BY site_name").fetchall()
    finally:
        conn.close()


def test_round_trip_keeps_every_row_and_reports_progress(tmp_path):
    db = populated(str(tmp_path / "data.db"))
    out = str(tmp_path / "backup.db")
    calls = []
    size = backup_database(db, out, progress=lambda done, total: calls.append((done, total)))
    assert size == os.path.getsize(out) > 0
    assert not os.path.exists(out + ".partial")
    assert calls and calls[-1][0] == calls[-1][1]
    restored = str(tmp_path / "restored.db")
    restore_database(out, restored)
    assert kv_rows(restored) == kv_rows(db)
    verify_cartridge(restored)


def test_backup_during_writes_is_a_consistent_snapshot(tmp_path):
    db = populated(str(tmp_path / "data.db"))
    stop = threading.Event()

    def writer():
        conn = connect(db)
        n = 0
        while not stop.is_set():
            n += 1
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO sites (name, created_at, updated_at) VALUES (?, 1, 1)", (f"w{n}",))
            conn.execute("INSERT INTO kv (site_name, key, value, updated_at) VALUES (?, 'k', 'v', 1)",
                         (f"w{n}",))
            conn.execute("COMMIT")
        conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        backup_database(db, str(tmp_path / "b.db"))
    finally:
        stop.set()
        thread.join()
    conn = sqlite3.connect(str(tmp_path / "b.db"))
    sites = conn.execute("SELECT count(*) FROM sites").fetchone()[0]
    kv = conn.execute("SELECT count(*) FROM kv").fetchone()[0]
    conn.close()
    assert sites == kv >= 50


def test_refuses_existing_target_without_force(tmp_path):
    db = populated(str(tmp_path / "data.db"), rows=2)
    out = tmp_path / "backup.db"
    out.write_bytes(b"keep me")
    with pytest.raises(BackupError, match="already exists"):
        backup_database(db, str(out))
    assert out.read_bytes() == b"keep me"
    backup_database(db, str(out), force=True)
    verify_cartridge(str(out))

    target = tmp_path / "live.db"
    populated(str(target), rows=1)
    with pytest.raises(BackupError, match="already exists"):
        restore_database(str(out), str(target))
    restore_database(str(out), str(target), force=True)
    assert len(kv_rows(str(target))) == 2


def test_force_restore_removes_stale_wal_files(tmp_path):
    backup = str(tmp_path / "b.db")
    backup_database(populated(str(tmp_path / "data.db"), rows=3), backup)
    target = str(tmp_path / "old.db")
    populated(target, rows=1)
    for suffix in ("-wal", "-shm"):
        with open(target + suffix, "wb") as stale:
            stale.write(b"stale")
    restore_database(backup, target, force=True)
    assert not os.path.exists(target + "-wal") and not os.path.exists(target + "-shm")
    assert len(kv_rows(target)) == 3


@pytest.mark.parametrize("damage", ["garbage", "truncate", "not-sqlite"])
def test_refuses_corrupt_backup(tmp_path, damage):
    backup = tmp_path / "b.db"
    backup_database(populated(str(tmp_path / "data.db")), str(backup))
    data = bytearray(backup.read_bytes())
    if damage == "garbage":
        data[len(data) // 2:len(data) // 2 + 8192] = os.urandom(8192)
    elif damage == "truncate":
        data = data[:len(data) // 3]
    else:
        data = bytearray(b"this is not a database at all" * 100)
    backup.write_bytes(bytes(data))
    target = tmp_path / "new.db"
    with pytest.raises(BackupError, match="integrity|not a readable SQLite"):
        restore_database(str(backup), str(target))
    assert not target.exists() and not os.path.exists(str(target) + ".partial")


def test_refuses_a_database_that_is_not_a_cartridge(tmp_path):
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(BackupError, match="not a fazt cartridge"):
        restore_database(str(other), str(tmp_path / "new.db"))
    with pytest.raises(BackupError, match="no backup file"):
        restore_database(str(tmp_path / "missing.db"), str(tmp_path / "new.db"))
    with pytest.raises(BackupError, match="no database"):
        backup_database(str(tmp_path / "missing.db"), str(tmp_path / "b.db"))


def test_open_connections_of_another_process_mark_the_database_in_use(tmp_path):
    db = populated(str(tmp_path / "data.db"), rows=1)
    backup = str(tmp_path / "b.db")
    backup_database(db, backup)
    assert not database_in_use(db)
    # POSIX locks of this very process are invisible to F_GETLK, so the holder must be a child.
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, db], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b"open\n"
        assert database_in_use(db)
        with pytest.raises(BackupError, match="in use by a running server"):
            restore_database(backup, db, force=True)
    finally:
        holder.stdin.close()
        holder.wait(10)
    assert not database_in_use(db)
    restore_database(backup, db, force=True)


HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
conn.execute("SELECT count(*) FROM sites").fetchone()
print("open", flush=True)
sys.stdin.read()
"""
