"""
Give the space freed inside a cartridge back to the file system (synchronous, for the CLI).

Deleted rows (old deployments, pruned logs and events) leave free pages that SQLite reuses but
never returns. Two ways to compact, chosen by whether a server has the file open:

- offline, L{vacuum_in_place} runs C{VACUUM}: it rewrites the file under an exclusive lock and
  needs free disk space about the size of the database. While a server uses the file it is
  refused: it would block every write of the server until done, and time out on a busy one.
- online, L{vacuum_into} runs C{VACUUM INTO}: a compacted, verified copy is written from one
  read transaction, which a live server never notices; restore it when convenient.

C{PRAGMA incremental_vacuum} was not chosen: it needs C{auto_vacuum=INCREMENTAL}, which an existing
file only gets through a full C{VACUUM}, and it does not defragment.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass

from fazt.store.backup import (BackupError, check_copy, database_in_use, open_readonly, partial_file,
                               verify_cartridge)
from fazt.store.dialect import is_postgresql_target
from fazt.store.engines import display
from fazt.store.migrate import connect


@dataclass(frozen=True)
class Compaction:
    """Sizes before and after, in bytes, and the free space the database had inside it."""

    before: int
    after: int
    free_before: int


def free_bytes(path: str) -> int:
    """How many bytes of C{path} are free pages (what a vacuum would give back)."""
    conn = open_readonly(path)
    try:
        pages = conn.execute("PRAGMA freelist_count").fetchone()[0]
        return pages * conn.execute("PRAGMA page_size").fetchone()[0]
    finally:
        conn.close()


def _size(path: str) -> int:
    """The database file plus its write-ahead log."""
    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))


def vacuum_in_place(db_path: str) -> Compaction:
    """C{VACUUM} the cartridge C{db_path}; refused while a server has it open."""
    _refuse_postgresql(db_path)
    if not os.path.isfile(db_path):
        raise BackupError(f"no database at {db_path}")
    verify_cartridge(db_path, check_integrity=False)
    if database_in_use(db_path):
        raise BackupError(
            f"{db_path} is in use by a running server: an in-place VACUUM needs the database to itself. "
            "Stop the server first, or write a compacted copy with --into OUT")
    before, free = _size(db_path), free_bytes(db_path)
    conn = connect(db_path)
    try:
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error as error:
        raise BackupError(f"could not vacuum {db_path}: {error}") from error
    finally:
        conn.close()
    verify_cartridge(db_path)
    return Compaction(before, _size(db_path), free)


def vacuum_into(db_path: str, out_path: str, force: bool = False) -> Compaction:
    """Write a compacted copy of C{db_path} to C{out_path} (safe while a server runs), verified."""
    _refuse_postgresql(db_path)
    check_copy(db_path, out_path, force,
               "the copy must differ from the database (leave out --into to vacuum in place)")
    before, free = _size(db_path), free_bytes(db_path)
    source = open_readonly(db_path)
    try:
        with partial_file(out_path) as partial:  # VACUUM INTO takes an empty file, and keeps its mode
            source.execute("VACUUM INTO ?", (partial,))
            verify_cartridge(partial)
            os.replace(partial, out_path)
    finally:
        source.close()
    return Compaction(before, os.path.getsize(out_path), free)



def _refuse_postgresql(db_path: str) -> None:
    """PostgreSQL gives space back itself (autovacuum); there is no file of fazt's to compact."""
    if is_postgresql_target(db_path):
        raise BackupError(f"{display(db_path)} is a PostgreSQL database: PostgreSQL reclaims space itself "
                          "(autovacuum; VACUUM FULL as its owner). fazt vacuum compacts SQLite files")
