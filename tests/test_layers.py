"""The package's imports point down the layers, and SQL lives only in the store.

Read with C{ast} from the source files: nothing of fazt is imported, so a module that would fail
to import (or do work when imported) is still checked. The layers, lowest first, are described in
docs/ARCHITECTURE.md:

    base      fazt/base/ (and the package root, fazt/__init__.py)
    store     fazt/store/
    domain    fazt/deploy, runtime, ws, acme, analytics, cron, ops
    web       fazt/web/ (sites, host router, the HTTP helpers the admin API shares)
    api       fazt/api/ (the admin API)
    app       fazt/app/ (wiring)
    cli       fazt/cli/ (and fazt/__main__.py)

A module may import from its own folder and from any lower layer. Between two folders of the same
layer only the edges in L{SIDEWAYS} are allowed, and no chain of imports may lead from a folder back
to itself. No module outside fazt/store/ holds SQL text or imports a database driver (C{sqlite3},
C{psycopg}, C{psycopg_pool}).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Iterator

PACKAGE = Path(__file__).resolve().parent.parent / "fazt"

LAYERS = {"base": 0, "store": 1, "domain": 2, "web": 3, "api": 4, "app": 5, "cli": 6}
DOMAINS = {"deploy", "runtime", "ws", "acme", "analytics", "cron", "ops"}

# Allowed imports between two folders of the same layer (importer, imported), and why.
SIDEWAYS = {
    # A deploy is refused when its fazt.json has a bad cron entry: deploy checks it with cron's pure
    # parser (fazt/cron/config.py). cron never imports deploy.
    ("deploy", "cron"),
    # A cron run is a request to the site's script: cron builds the script's C{req} with runtime's
    # pure builder (fazt/runtime/scriptrequest.py). runtime never imports cron.
    ("cron", "runtime"),
    # A deploy whose code does not compile is refused (SPEC §14): deploy hands the upload to the JS
    # pool's check as a runtime CodeBundle (fazt/runtime/code.py). runtime never imports deploy.
    ("deploy", "runtime"),
}

def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_files() -> Iterator[Path]:
    return iter(sorted(PACKAGE.rglob("*.py")))


MODULES = {module_name(path) for path in source_files()}


def folder(module: str) -> str:
    """The folder (unit of layering) a module belongs to: C{store}, C{api}, C{web}, C{base}, ..."""
    parts = module.split(".")
    if len(parts) == 1:
        return "base"
    if module == "fazt.__main__":
        return "cli"
    return parts[1]


def layer(unit: str) -> int:
    if unit in DOMAINS:
        return LAYERS["domain"]
    return LAYERS[unit]


def imports(path: Path) -> Iterator[str]:
    """The fazt modules C{path} imports (anywhere in it: lazy imports count)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.split(".")[0] == "fazt")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module_name(path).split(".")
                if path.name != "__init__.py":
                    package = package[:-1]
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            if base.split(".")[0] != "fazt":
                continue
            for alias in node.names:
                child = f"{base}.{alias.name}"
                yield child if child in MODULES else base


def all_edges() -> Iterator[tuple[str, str]]:
    """(importer file, imported module) for every import of one fazt folder by another."""
    for path in source_files():
        importer = folder(module_name(path))
        for target in imports(path):
            if folder(target) != importer:
                yield str(path.relative_to(PACKAGE.parent)), target


def breaks_layers(importer_file: str, target: str) -> bool:
    importer = folder(module_name(PACKAGE.parent / importer_file))
    imported = folder(target)
    if layer(imported) < layer(importer):
        return False
    return (importer, imported) not in SIDEWAYS


def test_every_import_points_down_the_layers():
    wrong = sorted({edge for edge in all_edges() if breaks_layers(*edge)})
    assert wrong == [], "imports that point up the layers (or sideways without a SIDEWAYS entry)"


def test_no_loop_between_folders():
    graph: dict[str, set[str]] = {}
    for importer_file, target in set(all_edges()):
        graph.setdefault(folder(module_name(PACKAGE.parent / importer_file)), set()).add(folder(target))
    loops = []
    for start in graph:
        seen, stack = set(), [(start, [start])]
        while stack:
            unit, trail = stack.pop()
            for nxt in graph.get(unit, ()):
                if nxt == start:
                    loops.append(" -> ".join(trail + [start]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, trail + [nxt]))
    assert loops == []


# SQL statements as they are written in string literals: a keyword in capitals, then what makes
# it a statement (so that an HTTP method such as "DELETE", or prose, does not count).
SQL = re.compile(
    r"\b(SELECT\s.+?\sFROM\s|SELECT\s+(1|COUNT|EXISTS)|INSERT\s+(OR\s+[A-Z]+\s+)?INTO\s|UPDATE\s+\w+\s+SET\s"
    r"|DELETE\s+FROM\s|CREATE\s+(TABLE|INDEX|UNIQUE|VIEW|TRIGGER)\s|PRAGMA\s+\w)"
    r"|^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|VACUUM)\b",
    re.DOTALL,
)


def files_outside_the_store(matches) -> set[str]:
    """The files outside fazt/store/ with a syntax node for which C{matches(node)} holds."""
    found = set()
    for path in source_files():
        relative = path.relative_to(PACKAGE.parent)
        if relative.parts[1] != "store" and any(map(matches, ast.walk(ast.parse(path.read_text(), str(path))))):
            found.add(str(relative))
    return found


def string_text(node: ast.AST) -> str:
    """The text of a string literal; an f-string's replacement fields read as C{?}."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(string_text(part) if isinstance(part, ast.Constant) else "?" for part in node.values)
    return ""


DRIVERS = {"sqlite3", "psycopg", "psycopg_pool", "psycopg2"}


def imports_a_driver(node: ast.AST) -> bool:
    names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
             else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
    return any(name.split(".")[0] in DRIVERS for name in names)


def sql_files() -> set[str]:
    return files_outside_the_store(lambda node: bool(SQL.search(string_text(node))))


def driver_files() -> set[str]:
    return files_outside_the_store(imports_a_driver)


def test_the_sql_pattern_finds_statements_and_not_prose():
    for statement in ("SELECT name FROM sites WHERE id = ?", "INSERT OR REPLACE INTO t (a) VALUES (?)",
                      "UPDATE users SET a = ?", "DELETE FROM sessions", "BEGIN IMMEDIATE", "COMMIT",
                      "PRAGMA user_version", "SELECT COUNT(*) FROM t", "CREATE TABLE t (a)"):
        assert SQL.search(statement), statement
    for prose in ("DELETE", "GET, PUT, DELETE", "Select a site", "begin the deploy", "update the schedule"):
        assert not SQL.search(prose), prose


def test_no_sql_outside_the_store():
    assert sorted(sql_files()) == []


def test_no_database_driver_import_outside_the_store():
    assert sorted(driver_files()) == []


def test_the_driver_check_sees_every_driver():
    for source in ("import sqlite3", "import psycopg", "from psycopg import sql", "from psycopg.errors import X",
                   "import psycopg_pool"):
        assert any(map(imports_a_driver, ast.walk(ast.parse(source)))), source
    assert not any(map(imports_a_driver, ast.walk(ast.parse("import psycopgish, json"))))
