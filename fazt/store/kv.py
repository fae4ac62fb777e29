"""SQL for the per-site key-value store (synchronous, connection first).

Values are text: strings are stored as they are and everything else as JSON, as in the original
fazt; reading parses JSON where it can. Expired keys read as missing and are deleted lazily.
"""

from __future__ import annotations

import json
from typing import Any, Optional

from fazt.store.dialect import POSTGRESQL, SQLITE, fragment
from fazt.store.dialect import name as dialect_name
from fazt.store.text import NUL, NUL_REFUSED, visible_nul
from fazt.store.transaction import Connection

MAX_KEY_BYTES = 512
MAX_VALUE_BYTES = 1024 * 1024
MAX_LIST = 1000


class KVError(ValueError):
    """A KV operation a script asked for that cannot be done (the message reaches the script)."""


def encode_value(value: Any) -> str:
    """The stored text of C{value}. A string holding U+0000 is stored as its JSON literal, which
    L{decode_value} reads back as the same string: PostgreSQL's text cannot hold NUL, and both
    engines store the same text."""
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    if len(text.encode("utf-8")) > MAX_VALUE_BYTES:
        raise KVError(f"value is larger than {MAX_VALUE_BYTES} bytes")
    if NUL in text:  # only a string can hold a raw NUL here: json.dumps escapes it
        text = json.dumps(text, ensure_ascii=False)
    return text


def decode_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _check_key(key: Any) -> str:
    if not isinstance(key, str) or not key:
        raise KVError("key must be a non-empty string")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise KVError(f"key is longer than {MAX_KEY_BYTES} bytes")
    if NUL in key:
        raise KVError(NUL_REFUSED.format(what="key"))
    return key


def kv_get(conn: Connection, site: str, key: str, now: float) -> Any:
    row = conn.execute(
        "SELECT value, expires_at FROM kv WHERE site_name = ? AND key = ?", (site, _check_key(key))
    ).fetchone()
    if row is None or (row[1] is not None and row[1] <= now):
        return None
    return decode_value(row[0])


def kv_set(conn: Connection, site: str, key: str, value: Any, ttl: Optional[float], now: float) -> None:
    if ttl is not None and (not isinstance(ttl, (int, float)) or isinstance(ttl, bool) or ttl <= 0):
        raise KVError("ttl must be a positive number of seconds")
    expires = now + ttl if ttl is not None else None
    conn.execute(
        "INSERT INTO kv (site_name, key, value, expires_at, updated_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT(site_name, key) DO UPDATE SET value = excluded.value,"
        " expires_at = excluded.expires_at, updated_at = excluded.updated_at",
        (site, _check_key(key), encode_value(value), expires, now),
    )


def kv_delete(conn: Connection, site: str, key: str, now: float) -> bool:
    """Remove a key; True if a live (unexpired) value was there."""
    _check_key(key)
    existed = kv_get(conn, site, key, now) is not None
    conn.execute("DELETE FROM kv WHERE site_name = ? AND key = ?", (site, key))
    return existed


def kv_list(conn: Connection, site: str, prefix: str, now: float) -> list[dict]:
    if not isinstance(prefix, str):
        raise KVError("prefix must be a string")
    if NUL in prefix:  # no key holds one
        raise KVError(NUL_REFUSED.format(what="prefix"))
    # A range instead of LIKE: no wildcard characters to escape, and it uses the primary key.
    rows = conn.execute(
        "SELECT key, value FROM kv WHERE site_name = ? AND key >= ? AND key < ?"
        " AND (expires_at IS NULL OR expires_at > ?) ORDER BY key LIMIT ?",
        (site, prefix, prefix + "\U0010ffff", now, MAX_LIST),
    ).fetchall()
    return [{"key": k, "value": decode_value(v)} for k, v in rows]


# The whole of an integer increment in one statement: insert the key, or add to a live value
# that is an integer as written by JSON (canonical text, so "007" or "1e3" never qualify), or
# restart an expired one. Anything else leaves the row alone and returns no row, and the caller
# takes the general path. Both terms under 2**62 in size keep the sum inside 64 bits. SQLite's
# CAST of any text to INTEGER never fails; PostgreSQL's does, so there a pattern checks the text
# first (inside a CASE, the one order of evaluation PostgreSQL promises).
_INCR_INTEGER = (
    "INSERT INTO kv (site_name, key, value, expires_at, updated_at) VALUES (?1, ?2, ?3, NULL, ?4)"
    " ON CONFLICT(site_name, key) DO UPDATE SET"
    " value = CASE WHEN kv.expires_at <= ?4 THEN ?3 ELSE CAST(CAST(kv.value AS {int}) + ?5 AS TEXT) END,"
    " expires_at = CASE WHEN kv.expires_at <= ?4 THEN NULL ELSE kv.expires_at END,"
    " updated_at = ?4"
    " WHERE kv.expires_at <= ?4 OR {integral}"
    " RETURNING value"
)
_INCR_SQL = {
    SQLITE: _INCR_INTEGER.format(int="INTEGER", integral="(kv.value = CAST(CAST(kv.value AS INTEGER) AS TEXT)"
                                 " AND CAST(kv.value AS INTEGER) BETWEEN -?6 AND ?6)"),
    POSTGRESQL: _INCR_INTEGER.format(int="BIGINT", integral="CASE WHEN kv.value ~ '^(0|-?[1-9][0-9]{0,18})$'"
                                     " THEN CAST(kv.value AS NUMERIC) BETWEEN -?6 AND ?6 ELSE FALSE END"),
}
_INCR_BOUND = 2 ** 62 - 1


def kv_incr(conn: Connection, site: str, key: str, by: Any, now: float) -> float | int:
    """Add C{by} to a numeric value (missing counts as 0) atomically; returns the new value.

    A live value keeps its expiry; an expired one counts as missing and loses it.
    """
    if isinstance(by, bool) or not isinstance(by, (int, float)):
        raise KVError("incr amount must be a number")
    _check_key(key)
    if isinstance(by, int) and -_INCR_BOUND <= by <= _INCR_BOUND:
        rows = conn.execute(_INCR_SQL[dialect_name(conn)], (site, key, str(by), now, by, _INCR_BOUND)).fetchall()
        if rows:
            return int(rows[0][0])
    # Floats, very large integers and values that are not plain integers.
    row = conn.execute("SELECT value, expires_at FROM kv WHERE site_name = ? AND key = ?", (site, key)).fetchone()
    live = row is not None and (row[1] is None or row[1] > now)
    current = decode_value(row[0]) if live else None
    if current is None:
        current = 0
    if isinstance(current, bool) or not isinstance(current, (int, float)):
        raise KVError(f"value of {key!r} is not a number")
    total = current + by
    conn.execute(
        "INSERT INTO kv (site_name, key, value, expires_at, updated_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT(site_name, key) DO UPDATE SET value = excluded.value,"
        " expires_at = excluded.expires_at, updated_at = excluded.updated_at",
        (site, key, json.dumps(total), row[1] if live else None, now),
    )
    return total


def env_for_site(conn: Connection, site: str) -> dict[str, str]:
    """A site's environment variables (the only ones its scripts ever see)."""
    return dict(conn.execute("SELECT name, value FROM env_vars WHERE site_name = ? ORDER BY name", (site,)))


def append_logs(conn: Connection, entries: list[tuple[str, str, str, float]]) -> None:
    """Write console lines: (site, level, message, created_at); a NUL in a message is stored as
    U+2400 (the symbol for NUL), on both engines, since PostgreSQL's text cannot hold NUL."""
    conn.executemany(
        "INSERT INTO site_logs (site_name, level, message, created_at) VALUES (?, ?, ?, ?)",
        [(site, level, visible_nul(message), created_at) for site, level, message, created_at in entries],
    )


# The admin's view of a site's KV data (the dashboard's KV browser): times as stored, the API formats them.
_LIVE = "(expires_at IS NULL OR expires_at > ?)"


def browse_keys(conn: Connection, site: str, prefix: str, limit: int, offset: int, now: float,
                preview_chars: int) -> tuple[list[dict], int]:
    """A page of live keys starting with C{prefix}, in key order, each with a preview of its value; and their total."""
    # A key range rather than LIKE: no wildcards to escape, and it walks the primary key.
    where = f"site_name = ? AND key >= ? AND key < ? AND {_LIVE}"
    args = (site, prefix, prefix + "\U0010ffff", now)
    rows = conn.execute(
        f"SELECT key, substr(value, 1, {preview_chars + 1}), {fragment(conn, 'bytes_of_value')}, expires_at, updated_at"
        f" FROM kv WHERE {where} ORDER BY key LIMIT ? OFFSET ?", (*args, limit, offset)).fetchall()
    total = conn.execute(f"SELECT COUNT(*) FROM kv WHERE {where}", args).fetchone()[0]
    return [{"key": key, "preview": preview[:preview_chars], "truncated": len(preview) > preview_chars,
             "size": size, "expires_at": expires, "updated_at": updated}
            for key, preview, size, expires, updated in rows], total


def live_entry(conn: Connection, site: str, key: str, now: float) -> Optional[dict]:
    """One live key's whole value (parsed as scripts see it), size and times; None if missing or expired."""
    row = conn.execute(f"SELECT value, expires_at, updated_at FROM kv WHERE site_name = ? AND key = ? AND {_LIVE}",
                       (site, key, now)).fetchone()
    if row is None:
        return None
    value, expires, updated = row
    return {"key": key, "value": decode_value(value), "size": len(value.encode("utf-8", "surrogatepass")),
            "expires_at": expires, "updated_at": updated}


def remove_key(conn: Connection, site: str, key: str, now: float) -> bool:
    """Remove a key; True if a live value was there (an expired one is removed all the same)."""
    live = conn.execute(f"SELECT 1 FROM kv WHERE site_name = ? AND key = ? AND {_LIVE}", (site, key, now)).fetchone()
    conn.execute("DELETE FROM kv WHERE site_name = ? AND key = ?", (site, key))
    return live is not None
