"""What a cartridge holds, read from either engine's catalog: tables, columns, keys, counters.

For the operations that walk every table (C{fazt cartridge copy}): the order that satisfies the
foreign keys, each table's columns and primary key (rows are read in key order, which sorts the
same on both engines: SQLite's BINARY collation and PostgreSQL's C collation both compare by code
point), and each table's id counter, which SQLite keeps in C{sqlite_sequence} (AUTOINCREMENT) and
PostgreSQL in an identity sequence.
"""

from __future__ import annotations

from typing import Optional

from fazt.store.dialect import POSTGRESQL
from fazt.store.dialect import name as dialect_name
from fazt.store.pgmigrate import VERSION_TABLE
from fazt.store.transaction import Connection


def _postgresql(conn: Connection) -> bool:
    return dialect_name(conn) == POSTGRESQL


def tables(conn: Connection) -> list[str]:
    """The cartridge's tables (not the engine's own), parents before the tables that reference them."""
    if _postgresql(conn):
        names = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            " AND table_type = 'BASE TABLE' AND table_name != ? ORDER BY table_name", (VERSION_TABLE,))]
        edges = conn.execute(
            "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c"
            " WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace").fetchall()
    else:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        edges = [(table, r[2]) for table in names for r in conn.execute(f"PRAGMA foreign_key_list({table})")]
    parents = {table: {parent for child, parent in edges if child == table and parent != table} for table in names}
    ordered: list[str] = []
    while len(ordered) < len(names):
        ready = [t for t in names if t not in ordered and parents[t] <= set(ordered)]
        if not ready:  # a cycle of foreign keys: keep the rest in name order
            ready = [t for t in names if t not in ordered]
        ordered.extend(ready)
    return ordered


def columns(conn: Connection, table: str) -> list[str]:
    """C{table}'s columns in their declared order."""
    if _postgresql(conn):
        return [r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND table_name = ? ORDER BY ordinal_position", (table,))]
    return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


def primary_key(conn: Connection, table: str) -> list[str]:
    """C{table}'s primary key columns in key order (all its columns if it has none)."""
    if _postgresql(conn):
        key = [r[0] for r in conn.execute(
            "SELECT a.attname FROM pg_index i JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(num, pos) ON TRUE"
            " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num"
            " WHERE i.indrelid = CAST(? AS regclass) AND i.indisprimary ORDER BY k.pos", (table,))]
    else:
        info = conn.execute(f"PRAGMA table_info({table})").fetchall()
        key = [r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5])]
    return key or columns(conn, table)


def counter(conn: Connection, table: str) -> Optional[int]:
    """The last id C{table}'s counter gave (AUTOINCREMENT or identity), or None if it has none.

    A table whose rowid key has no AUTOINCREMENT (SQLite) counts from its largest id.
    """
    if _postgresql(conn):
        sequence = conn.execute("SELECT pg_get_serial_sequence(?, 'id')", (table,)).fetchone() \
            if "id" in columns(conn, table) else None
        if not sequence or sequence[0] is None:
            return None
        row = conn.execute(f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {sequence[0]}").fetchone()
        return row[0]
    if not _sqlite_rowid_key(conn, table):
        return None
    has_sequence = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone()
    if has_sequence:
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
        if row is not None:
            return row[0]
    return conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0]


def set_counter(conn: Connection, table: str, value: int) -> bool:
    """Make C{table}'s counter give ids after C{value} (and after every id the table holds).

    Returns whether the table keeps a counter of its own (SQLite keeps none for a rowid key
    without AUTOINCREMENT: its next id is always the largest plus one).
    """
    if _postgresql(conn):
        sequence = conn.execute("SELECT pg_get_serial_sequence(?, 'id')", (table,)).fetchone()[0]
        top = max(value, conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0])
        # setval(.., 0) is out of range: an unused sequence is reset to start afresh instead.
        if top > 0:
            conn.execute("SELECT setval(?, ?, true)", (sequence, top))
        return True
    autoincrement = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    if "AUTOINCREMENT" not in autoincrement.upper():
        return False
    value = max(value, conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0])
    if value > 0:
        conn.execute("DELETE FROM sqlite_sequence WHERE name = ?", (table,))
        conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, value))
    return True


def _sqlite_rowid_key(conn: Connection, table: str) -> bool:
    """Whether C{table} has an C{INTEGER PRIMARY KEY} named id (an alias of the rowid)."""
    return any(r[1] == "id" and r[5] and r[2].upper() == "INTEGER"
               for r in conn.execute(f"PRAGMA table_info({table})"))
