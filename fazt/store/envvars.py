"""SQL and rules for a site's environment variables (synchronous, connection first).

Values are written and handed to the site's scripts, but never read back out through the admin
API: the functions that list variables return names and times only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional

from fazt.store.text import NUL, NUL_REFUSED
from fazt.store.transaction import Connection

MAX_NAME_CHARS = 128
MAX_VALUE_BYTES = 4096
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
# Names that change how a process behaves; the original fazt refused them, and so do we.
BLOCKED_NAMES = frozenset(
    "PATH LD_PRELOAD LD_LIBRARY_PATH HOME USER SHELL PWD TERM LANG LC_ALL HTTP_PROXY HTTPS_PROXY "
    "NO_PROXY NODE_OPTIONS NODE_PATH".split()
)


class EnvVarError(ValueError):
    """A variable name or value that may not be stored; C{field} says which."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class EnvVar:
    """A variable as the admin API shows it: everything but the value."""

    id: int
    site_name: str
    name: str
    created_at: int
    updated_at: int


def check_env_name(raw: Any) -> str:
    """The variable name C{raw} means (trimmed), or L{EnvVarError} saying what is wrong."""
    if not isinstance(raw, str):
        raise EnvVarError("name", "name must be a string")
    name = raw.strip()
    if not name:
        raise EnvVarError("name", "name must not be empty")
    if len(name) > MAX_NAME_CHARS:
        raise EnvVarError("name", f"name must be at most {MAX_NAME_CHARS} characters")
    if not ENV_NAME.fullmatch(name):
        raise EnvVarError("name", "name must match ^[A-Z][A-Z0-9_]*$ (upper case, digits, underscores)")
    if name in BLOCKED_NAMES:
        raise EnvVarError("name", f"name {name} is reserved by the system")
    return name


def check_env_value(raw: Any) -> str:
    """C{raw} if it is a storable value: a string of at most L{MAX_VALUE_BYTES} UTF-8 bytes."""
    if not isinstance(raw, str):
        raise EnvVarError("value", "value must be a string")
    try:
        size = len(raw.encode("utf-8"))
    except UnicodeEncodeError:
        raise EnvVarError("value", "value must be valid Unicode text") from None
    if size > MAX_VALUE_BYTES:
        raise EnvVarError("value", f"value must be at most {MAX_VALUE_BYTES} bytes")
    if NUL in raw:  # a process's environment cannot hold it, nor PostgreSQL's text
        raise EnvVarError("value", NUL_REFUSED.format(what="value"))
    return raw


_COLUMNS = "id, site_name, name, created_at, updated_at"


def list_env_vars(conn: Connection, site: str, limit: int = 100, offset: int = 0) -> list[EnvVar]:
    """A site's variables (without values), by name."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM env_vars WHERE site_name = ? ORDER BY name LIMIT ? OFFSET ?",
        (site, limit, offset),
    ).fetchall()
    return [EnvVar(*r) for r in rows]


def count_env_vars(conn: Connection, site: str) -> int:
    return conn.execute("SELECT COUNT(*) FROM env_vars WHERE site_name = ?", (site,)).fetchone()[0]


def get_env_var(conn: Connection, site: str, name: str) -> Optional[EnvVar]:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM env_vars WHERE site_name = ? AND name = ?", (site, name)
    ).fetchone()
    return EnvVar(*row) if row else None


def get_env_var_by_id(conn: Connection, var_id: int) -> Optional[EnvVar]:
    row = conn.execute(f"SELECT {_COLUMNS} FROM env_vars WHERE id = ?", (var_id,)).fetchone()
    return EnvVar(*row) if row else None


def set_env_var(conn: Connection, site: str, name: str, value: str, now: int) -> tuple[EnvVar, bool]:
    """Create or replace a variable; returns it and whether it is new."""
    existed = get_env_var(conn, site, name) is not None
    conn.execute(
        "INSERT INTO env_vars (site_name, name, value, created_at, updated_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT(site_name, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        (site, name, value, now, now),
    )
    return get_env_var(conn, site, name), not existed


def replace_env_vars(conn: Connection, site: str, values: dict[str, str], now: int) -> int:
    """Make C{values} the site's whole environment; returns how many variables were removed."""
    names = sorted(values)
    marks = ",".join("?" * len(names))
    keep = f" AND name NOT IN ({marks})" if names else ""
    removed = conn.execute(f"DELETE FROM env_vars WHERE site_name = ?{keep}", (site, *names)).rowcount
    for name in names:
        set_env_var(conn, site, name, values[name], now)
    return removed


def delete_env_var(conn: Connection, site: str, name: str) -> bool:
    """Remove one variable; True if it existed."""
    return conn.execute("DELETE FROM env_vars WHERE site_name = ? AND name = ?", (site, name)).rowcount > 0


def delete_all_env_vars(conn: Connection, site: str) -> int:
    """Remove every variable of a site; returns how many there were."""
    return conn.execute("DELETE FROM env_vars WHERE site_name = ?", (site,)).rowcount
