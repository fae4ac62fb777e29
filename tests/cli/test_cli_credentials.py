"""fazt set-credentials on a real cartridge: the admin's password (and name) change; sessions end."""

from __future__ import annotations

import io
import sqlite3

import bcrypt
import pytest

from fazt.cli.main import main
from fazt_testing import fresh_cartridge


@pytest.fixture
def db(tmp_path):
    path = str(tmp_path / "data.db")
    fresh_cartridge(path)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("INSERT INTO sessions (token_digest, user_id, created_at, expires_at)"
                     " SELECT 'abc', id, 1, 9999999999 FROM users WHERE username = 'admin'")
    conn.close()
    return path


def users(db: str) -> list:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT username, password_hash FROM users").fetchall()
    finally:
        conn.close()


def test_sets_the_password_renames_and_ends_sessions(db, capsys):
    assert main(["set-credentials", "--db", db, "--username", "ops", "--password", "a new password"]) == 0
    assert "credentials of 'ops' set" in capsys.readouterr().out
    [(name, digest)] = users(db)
    assert name == "ops" and bcrypt.checkpw(b"a new password", digest.encode())
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 0
    conn.close()


def test_reads_the_password_from_stdin(db, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("from stdin 123\n"))
    assert main(["set-credentials", "--db", db]) == 0
    [(name, digest)] = users(db)
    assert name == "admin" and bcrypt.checkpw(b"from stdin 123", digest.encode())


def test_refusals(db, tmp_path, capsys):
    before = users(db)
    assert main(["set-credentials", "--db", db, "--password", "short"]) == 1
    assert "at least 8 characters" in capsys.readouterr().err
    assert main(["set-credentials", "--db", str(tmp_path / "missing.db"), "--password", "long enough"]) == 1
    assert "no database at" in capsys.readouterr().err
    assert users(db) == before
