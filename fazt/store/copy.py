"""C{fazt cartridge copy SRC DST}: a whole platform from one cartridge to another, either engine.

SRC and DST are each a SQLite file or a C{postgresql://} URL (L{fazt.store.engines}). The copy
reads SRC in one read transaction (one snapshot, so a live server may keep writing) and writes DST
in one write transaction: DST gets every row or none. Tables go parents first; ids are copied as
they are, and each table's id counter (AUTOINCREMENT's C{sqlite_sequence}, PostgreSQL's identity
sequence) is set past them, so no id is ever given twice. Before committing, every table of DST is
read back and checked against SRC: the same number of rows and the same digest (SHA-256 over
every value in primary-key order, typed: an int, a float's exact bits, text, bytes). A DST that
holds rows is refused unless C{force}, which replaces them.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional

from fazt.store import catalog, engines
from fazt.store.dialect import DatabaseError
from fazt.store.errors import StoreError
from fazt.store.migrate import MigrationError, schema_version
from fazt.store.transaction import Connection, transaction

BATCH = 200


class CopyError(StoreError):
    """The copy cannot be made or did not verify; DST was left as it was."""


@dataclass(frozen=True)
class TableCopy:
    """One table copied: its name, rows and the digest both sides agreed on."""

    table: str
    rows: int
    digest: str


def copy_cartridge(src: str, dst: str, force: bool = False,
                   report: Optional[Callable[[TableCopy], None]] = None) -> list[TableCopy]:
    """Copy every table of cartridge C{src} into C{dst} and verify it; the tables copied.

    Raises L{CopyError} (with one line saying why) when SRC is missing or at another schema
    version, DST is not empty and not C{force}, or the copy does not verify.
    """
    shown_src, shown_dst = engines.display(src), engines.display(dst)
    if _same(src, dst):
        raise CopyError(f"{shown_src} and {shown_dst} are the same database")
    if not engines.is_postgresql_target(src) and not os.path.isfile(src):
        raise CopyError(f"no database at {src}")
    created = not engines.is_postgresql_target(dst) and not os.path.exists(dst)
    try:
        source = engines.connect(src)
    except (StoreError, *DatabaseError) as error:
        raise CopyError(f"cannot open {shown_src}: {error}") from None
    try:
        try:
            engines.open_cartridge(dst)
            target = engines.connect(dst)
        except (StoreError, MigrationError, OSError, *DatabaseError) as error:
            raise CopyError(f"cannot open {shown_dst}: {error}") from None
        try:
            with transaction(source, write=False), transaction(target):
                return _copy_all(source, target, shown_src, shown_dst, force, report)
        except DatabaseError as error:
            raise CopyError(f"copy from {shown_src} to {shown_dst} failed: {' '.join(str(error).split())}") from None
        finally:
            target.close()
    except BaseException:
        if created:
            for suffix in ("", "-wal", "-shm"):
                _remove(dst + suffix)
        raise
    finally:
        source.close()


def _copy_all(source: Connection, target: Connection, shown_src: str, shown_dst: str, force: bool,
              report: Optional[Callable[[TableCopy], None]]) -> list[TableCopy]:
    versions = schema_version(source), schema_version(target)
    if versions[0] != versions[1]:
        raise CopyError(f"{shown_src} is at schema version {versions[0]} and {shown_dst} at {versions[1]}: "
                        "start this version of fazt on the older one first, so that it is migrated")
    tables = catalog.tables(source)
    if set(tables) != set(catalog.tables(target)):
        raise CopyError(f"{shown_src} and {shown_dst} do not have the same tables")
    held = {table: target.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in tables}
    if any(held.values()):
        if not force:
            raise CopyError(f"{shown_dst} is not empty ({sum(held.values())} rows in "
                            f"{sum(1 for n in held.values() if n)} tables); add --force to replace its contents")
        for table in reversed(tables):
            target.execute(f"DELETE FROM {table}")
    copied = []
    for table in tables:
        names = catalog.columns(source, table)
        if names != catalog.columns(target, table):
            raise CopyError(f"table {table} has other columns in {shown_src} than in {shown_dst}")
        select = f"SELECT {', '.join(names)} FROM {table} ORDER BY {', '.join(catalog.primary_key(source, table))}"
        insert = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        digest, rows = hashlib.sha256(), 0
        for batch in _stream(source, select):
            target.executemany(insert, batch)
            rows += len(batch)
            for row in batch:
                _add_row(digest, row)
        copied.append(TableCopy(table, rows, digest.hexdigest()))
    for table in tables:
        last = catalog.counter(source, table)
        if last is not None and catalog.set_counter(target, table, last) and catalog.counter(target, table) < last:
            raise CopyError(f"table {table}: the id counter of {shown_dst} could not be set past {last}")
    for done in copied:
        _verify(target, done, shown_dst)
        if report is not None:
            report(done)
    return copied


def _verify(target: Connection, done: TableCopy, shown_dst: str) -> None:
    """Read C{done.table} back from the destination; the same rows in the same order, or L{CopyError}."""
    names = catalog.columns(target, done.table)
    select = (f"SELECT {', '.join(names)} FROM {done.table}"
              f" ORDER BY {', '.join(catalog.primary_key(target, done.table))}")
    digest, rows = hashlib.sha256(), 0
    for batch in _stream(target, select):
        rows += len(batch)
        for row in batch:
            _add_row(digest, row)
    if (rows, digest.hexdigest()) != (done.rows, done.digest):
        raise CopyError(f"table {done.table} did not copy exactly ({done.rows} rows read, {rows} in {shown_dst}"
                        f"{'' if rows != done.rows else ', with different values'}); nothing was written")


def _stream(conn: Connection, select: str) -> Iterator[list[tuple]]:
    """The rows of C{select} in batches, never the whole table in memory."""
    if hasattr(conn, "stream"):
        yield from conn.stream(select, batch=BATCH)
        return
    cursor = conn.execute(select)
    while rows := cursor.fetchmany(BATCH):
        yield rows


def _add_row(digest: Any, row: tuple) -> None:
    """Feed one row to C{digest}: each value tagged with its type, so 1, 1.0 and '1' differ."""
    for value in row:
        if value is None:
            digest.update(b"N")
        elif isinstance(value, int):
            digest.update(b"i%d;" % value)
        elif isinstance(value, float):
            digest.update(b"f" + value.hex().encode() + b";")
        elif isinstance(value, str):
            data = value.encode("utf-8", "surrogatepass")
            digest.update(b"s%d:" % len(data) + data)
        else:
            data = bytes(value)
            digest.update(b"b%d:" % len(data) + data)
    digest.update(b"\n")


def _same(src: str, dst: str) -> bool:
    if engines.is_postgresql_target(src) or engines.is_postgresql_target(dst):
        return engines.display(src) == engines.display(dst)
    try:
        return os.path.samefile(src, dst)
    except OSError:
        return os.path.abspath(src) == os.path.abspath(dst)


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
