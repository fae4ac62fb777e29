"""What the file-level operations mean for a PostgreSQL cartridge.

A backup (C{fazt backup --db URL}, the admin API's download, the scheduled ones) is a SQLite
cartridge holding the whole platform, verified; restoring and vacuuming are PostgreSQL's own
business and are refused with one line saying what to do; the system figures come from the server.
"""

from __future__ import annotations

import pytest

from fazt.cli.main import main
from fazt.store import engines
from fazt.store.backup import BackupError, backup_database, restore_database, snapshot_file, verify_cartridge
from fazt.store.facts import database_facts, metrics_figures
from fazt.store.migrate import schema_version
from fazt.store.sites import commit_deployment
from fazt.store.transaction import transaction
from fazt.store.vacuum import vacuum_in_place, vacuum_into
from test_copy import blob_file, everything, fill


@pytest.fixture
def platform(tmp_path, postgres, pg_dsn):
    """A PostgreSQL cartridge with a row in every table, and the SQLite file it was copied from."""
    source = str(tmp_path / "source.db")
    fill(source)
    engines.open_cartridge(pg_dsn)
    assert main(["cartridge", "copy", source, pg_dsn]) == 0
    return pg_dsn, source


def test_a_backup_of_postgresql_is_a_verified_sqlite_cartridge_of_everything(platform, tmp_path, capsys):
    dsn, source = platform
    out = str(tmp_path / "backup.db")
    size = backup_database(dsn, out)
    verify_cartridge(out)
    assert everything(out) == everything(source)
    with pytest.raises(BackupError, match="already exists"):
        backup_database(dsn, out)
    snapshot, snapshot_size = snapshot_file(dsn)
    with snapshot:
        assert snapshot.read(16) == b"SQLite format 3\x00" and snapshot_size == size
    assert main(["backup", "--db", dsn, "--force", out]) == 0
    assert "integrity ok" in capsys.readouterr().out


def test_restore_and_vacuum_on_postgresql_say_what_to_do_instead(platform, tmp_path, capsys):
    dsn, source = platform
    with pytest.raises(BackupError, match="fazt cartridge copy"):
        restore_database(source, dsn, force=True)
    with pytest.raises(BackupError, match="PostgreSQL reclaims space itself"):
        vacuum_in_place(dsn)
    with pytest.raises(BackupError, match="PostgreSQL reclaims space itself"):
        vacuum_into(dsn, str(tmp_path / "out.db"))
    assert main(["vacuum", "--db", dsn]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1 and "autovacuum" in error


def test_system_figures_of_postgresql_come_from_the_server(platform):
    dsn, _ = platform
    conn = engines.connect(dsn)
    try:
        with transaction(conn, write=False):
            facts = database_facts(conn, engines.display(dsn))
            before = metrics_figures(conn, engines.display(dsn))
        with transaction(conn):
            commit_deployment(conn, "blobs", [blob_file("x.bin", b"x")], "test", 1.0, keep=2)
        with transaction(conn, write=False):
            after = metrics_figures(conn, engines.display(dsn))
        version = schema_version(conn)
    finally:
        conn.close()
    assert facts["path"] == engines.display(dsn) and facts["schema_version"] == version > 0
    assert facts["size_bytes"] > 0 and facts["page_size"] > 0 and facts["page_count"] > 0
    assert facts["sites"] == 3  # root, 404, blobs
    # Deploys count every deployment ever made, pruned ones too: the identity sequence, carried by the copy.
    assert after["deploys"] == before["deploys"] + 1 > after["deployments"]
    assert after["db_size"] > 0 and after["certificates"][0][0] == "blobs.example.test"
