"""Every file that holds a copy of the cartridge is created 0600, whatever the umask.

The database holds API key and session digests, TLS private keys and the ACME account key:
the file, its snapshots, scheduled and downloaded backups, restores and compacted copies must
not be readable by other users, even for the moment before a rename.
"""

from __future__ import annotations

import os
import stat

import pytest

from fazt.store.backup import backup_database, restore_database, snapshot_file
from fazt.store.db import open_cartridge
from fazt.store.snapshots import scheduled_backup
from fazt.store.vacuum import vacuum_into


@pytest.fixture(autouse=True)
def permissive_umask():
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def db(tmp_path) -> str:
    path = str(tmp_path / "data.db")
    open_cartridge(path)
    return path


def test_a_new_cartridge_is_private(db):
    assert mode(db) == 0o600
    for suffix in ("-wal", "-shm"):
        if os.path.exists(db + suffix):
            assert mode(db + suffix) == 0o600


def test_a_backup_is_private(db, tmp_path):
    out = tmp_path / "backup.db"
    backup_database(db, str(out))
    assert mode(out) == 0o600


def test_a_scheduled_backup_is_private(db, tmp_path):
    outcome = scheduled_backup(db, str(tmp_path / "backups"), 86400, 7, 1_700_000_000)
    assert mode(outcome.path) == 0o600


def test_a_snapshot_for_download_is_private(db):
    snapshot, _ = snapshot_file(db)
    try:
        assert stat.S_IMODE(os.fstat(snapshot.fileno()).st_mode) == 0o600
    finally:
        snapshot.close()


def test_a_restored_database_is_private(db, tmp_path):
    out = tmp_path / "backup.db"
    backup_database(db, str(out))
    os.chmod(out, 0o644)  # e.g. copied over by hand
    restored = tmp_path / "restored.db"
    restore_database(str(out), str(restored))
    assert mode(restored) == 0o600


def test_a_compacted_copy_is_private(db, tmp_path):
    out = tmp_path / "compact.db"
    vacuum_into(db, str(out))
    assert mode(out) == 0o600
