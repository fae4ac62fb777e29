"""C{fazt backup OUT --server URL}: download, verify, rename; refusals leave nothing behind."""

from __future__ import annotations

import os
import sqlite3

from fazt.cli.main import main
from fazt.store.db import open_cartridge

PATH = "/api/system/backup"


def cartridge_bytes(tmp_path, sites: int = 3, filler: int = 0) -> bytes:
    path = str(tmp_path / "source.db")
    open_cartridge(path)
    conn = sqlite3.connect(path)
    with conn:
        for i in range(sites):
            conn.execute("INSERT INTO sites (name, created_at, updated_at) VALUES (?, 1, 1)", (f"s{i}",))
        if filler:
            conn.execute("INSERT INTO kv (site_name, key, value, updated_at) VALUES ('s0', 'k', ?, 1)",
                         ("x" * filler,))
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    with open(path, "rb") as f:
        return f.read()


def backup(fake_server, out, *extra, token="tok"):
    return main(["backup", str(out), "--server", fake_server.url, "--token", token, *extra])


def test_downloads_verifies_and_renames(fake_server, tmp_path, capsys):
    data = cartridge_bytes(tmp_path, filler=3 * 1024 * 1024)
    fake_server.answer("POST", PATH, raw_body=data, content_type="application/vnd.sqlite3")
    out = tmp_path / "b.db"
    assert backup(fake_server, out) == 0
    assert out.read_bytes() == data and not os.path.exists(str(out) + ".partial")
    request = fake_server.only_request()
    assert request.headers["Authorization"] == "Bearer tok"
    captured = capsys.readouterr()
    assert str(out) in captured.out and "integrity ok" in captured.out
    assert "downloading: 100%" in captured.err  # progress, for a download over 1 MiB


def test_a_corrupt_download_is_refused_and_nothing_is_kept(fake_server, tmp_path, capsys):
    data = bytearray(cartridge_bytes(tmp_path))
    fake_server.answer("POST", PATH, raw_body=bytes(data[: len(data) // 2]), content_type="application/vnd.sqlite3")
    out = tmp_path / "b.db"
    assert backup(fake_server, out) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: the server's backup is not usable")
    assert not out.exists() and not os.path.exists(str(out) + ".partial")


def test_something_else_than_a_cartridge_is_refused(fake_server, tmp_path, capsys):
    fake_server.answer("POST", PATH, raw_body=b"<html>a login page</html>" * 50, content_type="text/html")
    out = tmp_path / "b.db"
    assert backup(fake_server, out) == 1
    assert "not a readable SQLite database" in capsys.readouterr().err
    assert not out.exists()


def test_an_error_envelope_is_reported(fake_server, tmp_path, capsys):
    fake_server.answer("POST", PATH, 403, {"error": {"code": "FORBIDDEN", "message": "not an admin"}})
    out = tmp_path / "b.db"
    assert backup(fake_server, out) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == "error: not an admin (FORBIDDEN)"
    assert not out.exists()


def test_an_existing_file_is_kept_unless_forced(fake_server, tmp_path, capsys):
    data = cartridge_bytes(tmp_path)
    fake_server.answer("POST", PATH, raw_body=data)
    out = tmp_path / "b.db"
    out.write_bytes(b"keep me")
    assert backup(fake_server, out) == 1
    assert "already exists" in capsys.readouterr().err and out.read_bytes() == b"keep me"
    assert fake_server.requests == []
    assert backup(fake_server, out, "--force") == 0
    assert out.read_bytes() == data


def test_db_and_server_together_are_refused(fake_server, tmp_path, capsys):
    assert main(["backup", str(tmp_path / "b.db"), "--db", "x.db", "--server", fake_server.url]) == 1
    assert "either --db" in capsys.readouterr().err


def test_no_token_is_a_clear_error(fake_server, tmp_path, capsys):
    assert main(["backup", str(tmp_path / "b.db"), "--server", fake_server.url]) == 1
    assert capsys.readouterr().err.startswith("error: ")
    assert fake_server.requests == []


def test_the_downloaded_backup_is_private(fake_server, tmp_path, capsys):
    # It holds key and session digests and TLS private keys: 0600 whatever the umask.
    fake_server.answer("POST", PATH, raw_body=cartridge_bytes(tmp_path), content_type="application/vnd.sqlite3")
    out = tmp_path / "b.db"
    old = os.umask(0o022)
    try:
        assert backup(fake_server, out) == 0
    finally:
        os.umask(old)
    assert os.stat(out).st_mode & 0o777 == 0o600


def test_a_planted_partial_symlink_is_not_followed(fake_server, tmp_path, capsys):
    # OUT.partial in a shared directory may be a link another user put there: replaced, not written through.
    fake_server.answer("POST", PATH, raw_body=cartridge_bytes(tmp_path), content_type="application/vnd.sqlite3")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "b.db"
    os.symlink(victim, str(out) + ".partial")
    assert backup(fake_server, out) == 0
    assert victim.read_text() == "precious"
    assert not os.path.islink(out) and os.stat(out).st_mode & 0o777 == 0o600
