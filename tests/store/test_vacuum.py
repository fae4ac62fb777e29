"""fazt vacuum: in place when the database is free, into a copy while a server uses it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from fazt.cli.main import main
from fazt.store.backup import BackupError, verify_cartridge
from fazt.store.db import open_cartridge
from fazt.store.vacuum import free_bytes, vacuum_in_place, vacuum_into

HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
conn.execute("SELECT count(*) FROM sites").fetchone()
print("open", flush=True)
sys.stdin.read()
"""


def bloated(path: str) -> str:
    """A cartridge with about 4 MiB of deleted rows inside it."""
    open_cartridge(path)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("INSERT INTO sites (name, created_at, updated_at) VALUES ('keep', 1, 1)")
        conn.executemany("INSERT INTO site_logs (site_name, level, message, created_at) VALUES ('s', 'info', ?, 1)",
                         [("x" * 4000,) for _ in range(1000)])
    with conn:
        conn.execute("DELETE FROM site_logs")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path


def sites(path: str) -> list:
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute("SELECT name FROM sites WHERE name = 'keep'")]
    finally:
        conn.close()


def test_in_place_gives_the_space_back(tmp_path, capsys):
    db = bloated(str(tmp_path / "data.db"))
    assert free_bytes(db) > 3_000_000
    before = os.path.getsize(db)
    assert main(["vacuum", "--db", db]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{db}: ") and "integrity ok" in out and "free inside" in out
    assert os.path.getsize(db) < before - 3_000_000
    assert free_bytes(db) == 0 and sites(db) == ["keep"]
    verify_cartridge(db)


def test_refused_in_place_while_a_server_uses_it_but_a_copy_works(tmp_path, capsys):
    db = bloated(str(tmp_path / "data.db"))
    before = os.path.getsize(db)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, db], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b"open\n"
        with pytest.raises(BackupError, match="in use by a running server.*--into"):
            vacuum_in_place(db)
        assert main(["vacuum", "--db", db]) == 1
        assert capsys.readouterr().err.startswith("error: ")
        copy = str(tmp_path / "compact.db")
        assert main(["vacuum", "--db", db, "--into", copy]) == 0
        assert os.path.getsize(copy) < before - 3_000_000 and sites(copy) == ["keep"]
        assert os.path.getsize(db) == before  # the live file was not touched
        with pytest.raises(BackupError, match="already exists"):
            vacuum_into(db, copy)
        vacuum_into(db, copy, force=True)
    finally:
        holder.stdin.close()
        holder.wait(10)


def test_hostile_inputs_are_refused(tmp_path):
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(BackupError, match="not a fazt cartridge"):
        vacuum_in_place(str(other))
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database" * 100)
    with pytest.raises(BackupError, match="not a readable SQLite"):
        vacuum_into(str(junk), str(tmp_path / "out.db"))
    assert not (tmp_path / "out.db").exists()
    with pytest.raises(BackupError, match="no database"):
        vacuum_in_place(str(tmp_path / "missing.db"))
    db = bloated(str(tmp_path / "data.db"))
    with pytest.raises(BackupError, match="must differ"):
        vacuum_into(db, db, force=True)
