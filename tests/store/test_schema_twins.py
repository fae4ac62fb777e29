"""Every SQLite migration has a PostgreSQL twin, and the two engines end with the same schema.

A migration added for SQLite alone (fazt/store/schema/NNNN_*.sql) fails these tests with the file to
write; the comparison names each table, column, type, NOT NULL or index that differs.
"""

from __future__ import annotations

from importlib import resources

from fazt.store import engines
from fazt.store.pgmigrate import VERSION_TABLE

# The PostgreSQL type each SQLite declared type becomes (fazt/store/schema/postgresql/0001_initial.sql).
TYPES = {"INTEGER": "bigint", "REAL": "double precision", "TEXT": "text", "BLOB": "bytea"}


def migration_names(*folder: str) -> set[str]:
    entries = resources.files("fazt.store").joinpath("schema", *folder).iterdir()
    return {entry.name for entry in entries if entry.name.endswith(".sql")}


def test_every_sqlite_migration_has_its_postgresql_twin():
    sqlite, postgresql = migration_names(), migration_names("postgresql")
    missing = sorted(sqlite - postgresql)
    assert not missing, "".join(
        f"\nfazt/store/schema/{name} has no PostgreSQL twin: write fazt/store/schema/postgresql/{name}"
        " (the same tables, columns and indexes with PostgreSQL types: see postgresql/0001_initial.sql)"
        for name in missing)
    extra = sorted(postgresql - sqlite)
    assert not extra, f"PostgreSQL migrations without a SQLite original: {extra}"


def sqlite_schema(path: str) -> tuple[dict, set]:
    conn = engines.connect(path)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        columns = {table: {name: (TYPES.get(kind.upper(), kind), bool(notnull or pk))
                           for _, name, kind, notnull, _, pk in conn.execute(f"PRAGMA table_info({table})")}
                   for table in tables}
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}
        return columns, indexes
    finally:
        conn.close()


def postgresql_schema(dsn: str) -> tuple[dict, set]:
    conn = engines.connect(dsn)
    try:
        columns: dict = {}
        for table, name, kind, nullable in conn.execute(
                "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns"
                " WHERE table_schema = 'public' AND table_name != ?", (VERSION_TABLE,)):
            columns.setdefault(table, {})[name] = (kind, nullable == "NO")
        # Indexes written in the migrations, not those PostgreSQL makes for keys and UNIQUE.
        indexes = {r[0] for r in conn.execute(
            "SELECT indexname FROM pg_indexes i WHERE schemaname = 'public' AND NOT EXISTS"
            " (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)")}
        return columns, indexes
    finally:
        conn.close()


def test_both_engines_end_with_the_same_tables_columns_and_indexes(tmp_path, postgres, pg_dsn):
    engines.open_cartridge(str(tmp_path / "data.db"))
    engines.open_cartridge(pg_dsn)
    lite, lite_indexes = sqlite_schema(str(tmp_path / "data.db"))
    pg, pg_indexes = postgresql_schema(pg_dsn)
    problems = []
    for table in sorted(set(lite) | set(pg)):
        if table not in pg:
            problems.append(f"table {table} is missing in PostgreSQL")
        elif table not in lite:
            problems.append(f"table {table} exists only in PostgreSQL")
        else:
            for column in sorted(set(lite[table]) | set(pg[table])):
                want, got = lite[table].get(column), pg[table].get(column)
                if want != got:
                    problems.append(f"{table}.{column}: SQLite (type, not null) {want}, PostgreSQL {got}")
    for index in sorted(lite_indexes ^ pg_indexes):
        problems.append(f"index {index} exists only in {'SQLite' if index in lite_indexes else 'PostgreSQL'}")
    assert not problems, "the two schemas differ:\n" + "\n".join(problems)
