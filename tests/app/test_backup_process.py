"""`fazt backup` of a live twistd while it deploys and writes KV; `fazt restore` into a second server."""

from __future__ import annotations

import json
import sqlite3
import threading
import time

import pytest

COUNTER = 'let n = (db.get("c") || 0) + 1; db.set("c", n); res.send(String(n));'
COUNTER_HOST = "counter.example.test"


def deployment_ids(fz, env, server, token, site) -> set[int]:
    listing = fz.run_fazt(env, "deployments", site, "--server", server.url, "--token", token)
    assert listing.returncode == 0, listing.stderr
    return {int(cells[0]) for cells in map(str.split, listing.stdout.splitlines()[1:])
            if cells and cells[0].isdigit()}


def site_names(fz, env, server, token) -> set[str]:
    sites = fz.run_fazt(env, "sites", "--server", server.url, "--token", token)
    assert sites.returncode == 0, sites.stderr
    return {line.split()[0] for line in sites.stdout.splitlines()[1:] if line.strip()}


class Writer(threading.Thread):
    """Keeps deploying a site and counting through the server until stopped."""

    def __init__(self, fz, server, token):
        super().__init__(daemon=True)
        self.fz, self.server, self.token = fz, server, token
        self.stop = threading.Event()
        self.deploys = self.hits = 0
        self.errors: list = []

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                archive = self.fz.make_zip({"index.html": f"<p>busy {self.deploys}</p>".encode()})
                status, body = self.fz.upload_zip(self.server.port, self.token, "busy", archive)
                assert status in (200, 201), body
                self.deploys += 1
                assert self.server.get("/", COUNTER_HOST)[0] == 200
                self.hits += 1
            except Exception as error:  # reported by the test
                self.errors.append(error)
                return


def add_certificate(db: str, name: str) -> tuple:
    """Store a certificate row while the server runs (as the ACME service would)."""
    row = (name, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
           "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n", 1893456000.0, "test CA", 1.0)
    conn = sqlite3.connect(db, timeout=10)
    with conn:
        conn.execute("INSERT INTO certificates (name, cert_pem, key_pem, not_after, issuer, updated_at)"
                     " VALUES (?, ?, ?, ?, ?, ?)", row)
    conn.close()
    return row


def rows(db: str, query: str) -> list:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(query).fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("source", ["db", "server"])
def test_backup_while_writing_then_restore_into_a_second_server(tmp_path, twistd, cli_env, fz, source):
    server = twistd.start()
    token = fz.create_token(cli_env, server.db)
    for site, files in (("blog", {"index.html": "<h1>blog</h1>"}), ("counter", {"main.js": COUNTER})):
        deployed = fz.cli_deploy(cli_env, server, token, fz.write_tree(tmp_path / site, files), site=site)
        assert deployed.returncode == 0, deployed.stderr
    assert fz.cli_deploy(cli_env, server, token, fz.write_tree(tmp_path / "blog2", {"index.html": "<h1>v2</h1>"}),
                         site="blog").returncode == 0
    counts = [int(server.get("/", COUNTER_HOST)[1]) for _ in range(3)]
    assert counts == [1, 2, 3]
    blog_deployments = deployment_ids(fz, cli_env, server, token, "blog")
    sites_before = site_names(fz, cli_env, server, token)
    certificate = add_certificate(server.db, "blog.example.test")
    keys_before = rows(server.db, "SELECT id, token_digest, scopes FROM api_keys ORDER BY id")

    writer = Writer(fz, server, token)
    writer.start()
    try:
        deadline = time.monotonic() + 10
        while writer.hits < 1 and not writer.errors and time.monotonic() < deadline:
            time.sleep(0.01)  # the writer is really busy before the backup starts
        hits_before = writer.hits
        busy_before = deployment_ids(fz, cli_env, server, token, "busy")
        out = tmp_path / "backup.db"
        where = ["--db", server.db] if source == "db" else ["--server", server.url, "--token", token]
        backup = fz.run_fazt(cli_env, "backup", str(out), *where)
    finally:
        writer.stop.set()
        writer.join(30)
    assert not writer.errors, writer.errors
    assert backup.returncode == 0, backup.stderr
    assert str(out) in backup.stdout and "integrity ok" in backup.stdout
    assert not (tmp_path / "backup.db.partial").exists()
    assert writer.hits >= 2  # it kept writing while the backup ran
    busy_after = deployment_ids(fz, cli_env, server, token, "busy")
    final_count = int(server.get("/", COUNTER_HOST)[1]) - 1

    # The live database is refused as a restore target, even with --force.
    live = fz.run_fazt(cli_env, "restore", str(out), "--db", server.db, "--force")
    assert live.returncode == 1
    assert live.stderr.startswith("error: ") and "in use by a running server" in live.stderr
    assert server.get("/", "blog.example.test") == (200, b"<h1>v2</h1>")

    new_db = tmp_path / "restored" / "data.db"
    new_db.parent.mkdir()
    restored = fz.run_fazt(cli_env, "restore", str(out), "--db", str(new_db))
    assert restored.returncode == 0, restored.stderr
    assert "integrity ok" in restored.stdout
    # The state of one moment: between what was there before the backup and after it.
    snapshot_count = int(json.loads(rows(str(new_db), "SELECT value FROM kv WHERE key = 'c'")[0][0]))
    assert counts[-1] + hits_before <= snapshot_count <= final_count
    busy_snapshot = {row[0] for row in rows(str(new_db), "SELECT id FROM deployments WHERE site_name = 'busy'")}
    assert max(busy_before) <= max(busy_snapshot) <= max(busy_after)  # old ones are pruned (keep 20)
    assert rows(str(new_db), "SELECT name, cert_pem, key_pem, not_after, issuer, updated_at FROM certificates"
                " WHERE name = 'blog.example.test'") == [certificate]
    assert rows(str(new_db), "SELECT id, token_digest, scopes FROM api_keys ORDER BY id") == keys_before

    second = twistd.start(db=str(new_db))
    assert site_names(fz, cli_env, second, token) >= sites_before | {"blog", "counter", "busy"}
    assert deployment_ids(fz, cli_env, second, token, "blog") == blog_deployments
    assert deployment_ids(fz, cli_env, second, token, "busy") == busy_snapshot
    assert second.get("/", "blog.example.test") == (200, b"<h1>v2</h1>")
    assert int(second.get("/", COUNTER_HOST)[1]) == snapshot_count + 1


def test_corrupted_backup_is_refused(tmp_path, twistd, cli_env, fz):
    server = twistd.start()
    fz.create_token(cli_env, server.db)
    out = tmp_path / "backup.db"
    assert fz.run_fazt(cli_env, "backup", str(out), "--db", server.db).returncode == 0
    again = fz.run_fazt(cli_env, "backup", str(out), "--db", server.db)
    assert again.returncode == 1 and "already exists" in again.stderr

    data = bytearray(out.read_bytes())
    out.write_bytes(bytes(data[: len(data) // 2]))
    target = tmp_path / "new.db"
    refused = fz.run_fazt(cli_env, "restore", str(out), "--db", str(target))
    assert refused.returncode == 1
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "not a readable SQLite database" in lines[0] or "integrity" in lines[0]
    assert not target.exists()


def test_scheduled_backups_start_with_the_server(tmp_path, twistd):
    from fazt.store.backup import verify_cartridge

    directory = tmp_path / "backups"
    server = twistd.start(args=("--backup-dir", str(directory), "--backup-every", "1h", "--backup-keep", "2"))
    deadline = time.monotonic() + 20
    while not list(directory.glob("fazt-backup-*.db")) and time.monotonic() < deadline:
        time.sleep(0.05)  # the first backup is made as the server starts
    made = list(directory.glob("fazt-backup-*.db"))
    assert len(made) == 1, server.log()
    verify_cartridge(str(made[0]))
    assert "backups of" in server.log() and "every 1h" in server.log()
