"""C{fazt cartridge copy}: SQLite -> PostgreSQL -> SQLite reproduces every table exactly.

The source is filled through the store's own functions (a real deploy of the built-in sites with
their gzip and brotli variants, a binary file of every byte value, KV with expiries, sessions, keys,
events, logs, certificates, cron runs, ...), with gaps in the ids (pruned deployments, a deleted
redirect) so that the id counters must be carried and not recomputed.
"""

from __future__ import annotations

import hashlib
import os

import pytest

from fazt.app.bootstrap import create_admin, seed_default_sites
from fazt.cli.main import main
from fazt.store import engines
from fazt.store.accounts import create_api_key, revoke_api_key, set_config
from fazt.store.audit import record
from fazt.store.certificates import Schedule, StoredCertificate, issued, save_account, save_schedule
from fazt.store.copy import CopyError, copy_cartridge
from fazt.store.cron import claim_run, record_outcome
from fazt.store.envvars import set_env_var
from fazt.store.events import insert_events
from fazt.store.eventrows import PendingEvent
from fazt.store.kv import append_logs, kv_get, kv_incr, kv_set
from fazt.store.redirects import create_redirect, delete_redirect
from fazt.store.rollout import set_split
from fazt.store.sessions import create_session
from fazt.store.domains import add_domain
from fazt.store.sources import GitLink, Source, record_source, set_link
from fazt.store.sites import BlobContent, NewFile, commit_deployment
from fazt.store.transaction import transaction
from fazt.store.variants import Variant, put_variant
from fazt.store.webhooks import create_webhook

NOW = 1_765_000_000.123456
EVERY_BYTE = bytes(range(256)) * 40


def blob_file(path: str, data: bytes) -> NewFile:
    return NewFile(path, hashlib.sha256(data).hexdigest(), len(data), "application/octet-stream",
                   lambda: BlobContent(data, None, None))


def fill(path: str) -> None:
    """A cartridge with a row in every table, written by the functions that write them in production."""
    engines.open_cartridge(path)
    conn = engines.connect(path)
    try:
        create_admin(conn, "admin", "correct horse battery")
        seed_default_sites(conn, now=NOW)
        with transaction(conn):
            kept = []
            for version in range(4):  # keep=2 prunes the oldest: ids with a gap
                kept.append(commit_deployment(conn, "blobs", [blob_file("all.bin", EVERY_BYTE + bytes([version])),
                                                  blob_file("same.bin", EVERY_BYTE)],
                                  "test", NOW + version, keep=2)[0].id)
            set_config(conn, "domain", "example.test", int(NOW))
            set_split(conn, "blobs", [(kept[-2], 90), (kept[-1], 10)])
            record_source(conn, kept[-1], Source("https://git.example/r.git", "refs/heads/main", "ab" * 20))
            set_link(conn, GitLink("blobs", "https://git.example/r.git", "refs/heads/main", "site", "s3cret", int(NOW)))
            add_domain(conn, "blobs", "blobs.example.org", "redirect", int(NOW))
            put_variant(conn, hashlib.sha256(EVERY_BYTE).hexdigest(), "w=320&fm=webp",
                        Variant("variant-hash", "image/webp", bytes(range(255, -1, -1))), NOW)
            key_id, _ = create_api_key(conn, "ci", ["deploy:blobs"], int(NOW))
            revoke_api_key(conn, key_id, int(NOW) + 5)
            create_api_key(conn, "admin key", ["admin"], int(NOW))
            create_session(conn, "session-token", 1, True, int(NOW))
            kv_set(conn, "blobs", "plain", {"a": [1, 2.5, "é\u2028"], "n": None}, None, NOW)
            kv_set(conn, "blobs", "ttl", "soon", 30.25, NOW)
            kv_incr(conn, "blobs", "count", 2 ** 62, NOW)
            kv_incr(conn, "blobs", "float", 0.1, NOW)
            set_env_var(conn, "blobs", "API_URL", "https://api.example/?q=%s&x='1'", int(NOW))
            create_redirect(conn, "gone", "https://a.example/", ["x"], int(NOW))
            create_redirect(conn, "go", "https://b.example/", ["tag one", "two"], int(NOW))
            delete_redirect(conn, 1)
            create_webhook(conn, "hook", "deploys", "s3cret", True, int(NOW))
            insert_events(conn, [PendingEvent(NOW + i / 7, "blobs.example.test", "hosting", "pageview",
                                              f"/p{i}", "https://ref.example/", "agent/1.0", "10.0.0.1",
                                              "Promo,50%_off" if i % 2 else "")
                                 for i in range(5)])
            append_logs(conn, [("blobs", "info", "hello\nworld \x01", NOW + 0.5), ("blobs", "error", "boom", NOW + 1)])
            record(conn, "admin", "deploy", "blobs", "ok", "{\"files\": 2}", NOW)
            issued(conn, StoredCertificate("blobs.example.test", "CERT PEM", "KEY PEM", NOW + 90 * 86400, "Pebble"),
                   Schedule("blobs.example.test", 0, NOW + 60 * 86400, None, NOW, None), NOW)
            save_schedule(conn, Schedule("new.example.test", 2, NOW + 3600, None, NOW, "rate limited"))
            save_account(conn, "https://acme.example/dir", "ACCOUNT KEY", "{\"status\": \"valid\"}", NOW)
            claim_run(conn, "blobs", "* * * * * /cron", int(NOW) // 60)
            record_outcome(conn, "blobs", "* * * * * /cron", int(NOW) // 60, "ok 200", NOW + 0.25)
    finally:
        conn.close()


def everything(path: str) -> dict:
    """Every row of every table of a SQLite cartridge, values with their types, and its id counters."""
    conn = engines.connect(path)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {name: [tuple((type(v).__name__, v) for v in row)
                       for row in conn.execute(f"SELECT * FROM {name} ORDER BY 1, 2")]
                for name in names}
    finally:
        conn.close()


def test_sqlite_to_postgresql_to_sqlite_reproduces_every_table(tmp_path, postgres, pg_dsn):
    first, last = str(tmp_path / "first.db"), str(tmp_path / "last.db")
    fill(first)
    before = everything(first)
    assert all(before[table] for table in before if table != "sqlite_sequence"), \
        [table for table in before if not before[table]]  # a row in every table
    there = copy_cartridge(first, pg_dsn)
    back = copy_cartridge(pg_dsn, last)
    assert [(t.table, t.rows, t.digest) for t in there] == [(t.table, t.rows, t.digest) for t in back]
    assert everything(last) == before  # sqlite_sequence included: the counters came back too

    # On PostgreSQL the counters were set past the copied ids: the next redirect is 3, not 1 or 2.
    conn = engines.connect(pg_dsn)
    try:
        with transaction(conn):
            assert create_redirect(conn, "next", "https://c.example/", [], int(NOW))["id"] == 3
    finally:
        conn.close()


def test_a_destination_with_rows_is_refused_unless_forced(tmp_path, postgres, pg_dsn, capsys):
    source = str(tmp_path / "data.db")
    fill(source)
    assert main(["cartridge", "copy", source, pg_dsn]) == 0
    out = capsys.readouterr().out
    assert "blobs: " in out and "verified" in out
    assert main(["cartridge", "copy", source, pg_dsn]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "is not empty" in error and "--force" in error
    assert main(["cartridge", "copy", "--force", source, pg_dsn]) == 0
    capsys.readouterr()
    # And back over a SQLite file that holds other rows: replaced by the copy, not merged.
    other = str(tmp_path / "other.db")
    fill(other)
    with pytest.raises(CopyError, match="is not empty"):
        copy_cartridge(pg_dsn, other)
    copy_cartridge(pg_dsn, other, force=True)
    assert everything(other) == everything(source)


def test_bad_sources_and_destinations_get_one_clear_line(tmp_path, postgres, pg_dsn, capsys):
    source = str(tmp_path / "data.db")
    fill(source)
    cases = [
        ([str(tmp_path / "missing.db"), pg_dsn], "no database at"),
        ([source, source], "are the same database"),
        ([source, f"postgresql:///nowhere?host={tmp_path}&user=x"], "cannot open postgresql:///nowhere"),
        ([source, str(tmp_path / "no" / "such" / "dir.db")], "cannot open"),
    ]
    for argv, message in cases:
        assert main(["cartridge", "copy", *argv]) == 1, argv
        error = capsys.readouterr().err
        assert error.startswith("error: ") and message in error and error.count("\n") == 1, error
    assert not os.path.exists(str(tmp_path / "no"))


def test_text_postgresql_cannot_hold_stops_the_copy_with_its_reason(tmp_path, postgres, pg_dsn, capsys):
    # SQLite text may hold NUL characters (a script's db.set("k", "a\0b") stored them raw before
    # fazt.store.text); PostgreSQL's cannot.
    source = str(tmp_path / "data.db")
    engines.open_cartridge(source)
    conn = engines.connect(source)
    try:
        with transaction(conn):
            conn.execute("INSERT INTO kv (site_name, key, value, expires_at, updated_at) VALUES (?, ?, ?, NULL, ?)",
                         ("blobs", "k", "a\x00b", NOW))
    finally:
        conn.close()
    assert main(["cartridge", "copy", source, pg_dsn]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "NUL" in error, error
    conn = engines.connect(pg_dsn)
    try:
        assert conn.execute("SELECT COUNT(*) FROM kv").fetchone()[0] == 0  # nothing was written
    finally:
        conn.close()


def test_a_kv_string_with_nul_set_today_copies_to_postgresql_and_reads_back(tmp_path, postgres, pg_dsn):
    source = str(tmp_path / "data.db")
    engines.open_cartridge(source)
    conn = engines.connect(source)
    try:
        with transaction(conn):
            kv_set(conn, "blobs", "k", "a\x00b", None, NOW)
    finally:
        conn.close()
    assert main(["cartridge", "copy", source, pg_dsn]) == 0
    conn = engines.connect(pg_dsn)
    try:
        assert kv_get(conn, "blobs", "k", NOW) == "a\x00b"
    finally:
        conn.close()
