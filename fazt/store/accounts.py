"""SQL for the admin user, API keys and the config table (synchronous, connection first).

API tokens are stored only as SHA-256 digests: a lookup is one indexed query, and a stolen
database does not give working tokens.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Optional

from fazt.store.dialect import DatabaseError
from fazt.store.errors import NotFound, StoreError
from fazt.store.transaction import Connection, transaction

TOKEN_PREFIX = "fazt_"


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    scopes: tuple[str, ...]
    created_at: int
    last_used_at: Optional[int]


def new_token() -> str:
    """A fresh API token: a recognisable prefix and 32 random bytes."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_api_key(conn: Connection, name: str, scopes: list[str], now: int) -> tuple[int, str]:
    """Store a new key; returns its id and the token (the only time the token exists)."""
    token = new_token()
    cursor = conn.execute(
        "INSERT INTO api_keys (name, token_digest, scopes, created_at) VALUES (?, ?, ?, ?) RETURNING id",
        (name, token_digest(token), " ".join(scopes), now),
    )
    return cursor.fetchone()[0], token


def find_api_key(conn: Connection, token: str) -> Optional[ApiKey]:
    """The live key whose token this is, or None."""
    row = conn.execute(
        "SELECT id, name, scopes, created_at, last_used_at FROM api_keys"
        " WHERE token_digest = ? AND revoked_at IS NULL",
        (token_digest(token),),
    ).fetchone()
    if row is None:
        return None
    return ApiKey(row[0], row[1], tuple(row[2].split()), row[3], row[4])


def touch_api_key(conn: Connection, key_id: int, now: int) -> None:
    conn.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (now, key_id))


def list_api_keys(conn: Connection, limit: int, offset: int) -> list[ApiKey]:
    """A page of the live (unrevoked) keys, newest first."""
    rows = conn.execute(
        "SELECT id, name, scopes, created_at, last_used_at FROM api_keys WHERE revoked_at IS NULL"
        " ORDER BY id DESC LIMIT ? OFFSET ?",
        (limit, offset),
    ).fetchall()
    return [ApiKey(r[0], r[1], tuple(r[2].split()), r[3], r[4]) for r in rows]


def count_api_keys(conn: Connection) -> int:
    """How many live keys there are."""
    return conn.execute("SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL").fetchone()[0]


def revoke_api_key(conn: Connection, key_id: int, now: int) -> Optional[str]:
    """Revoke the live key C{key_id} at once; returns its name, or None if there is no such key."""
    row = conn.execute(
        "SELECT name FROM api_keys WHERE id = ? AND revoked_at IS NULL", (key_id,)
    ).fetchone()
    if row is None:
        return None
    conn.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ?", (now, key_id))
    return row[0]


def create_user(conn: Connection, username: str, password_hash: str, now: int) -> int:
    cursor = conn.execute(
        "INSERT INTO users (username, password_hash, created_at) VALUES (?, ?, ?) RETURNING id",
        (username, password_hash, now),
    )
    return cursor.fetchone()[0]


def set_credentials(conn: Connection, password_hash: str, username: Optional[str], now: int) -> str:
    """Give the admin C{password_hash} (and the name C{username}) and end their sessions, in one transaction.

    The admin is the user named C{username}, else the only user (renamed to C{username} if
    given), else a new one (C{username} or C{admin}). Returns the user name. Raises L{NotFound}
    when there are several users and none is named C{username}, L{StoreError} when the file
    cannot be written.
    """
    try:
        with transaction(conn):
            users = conn.execute("SELECT id, username FROM users ORDER BY id").fetchall()
            named = [row for row in users if username is not None and row[1] == username.strip()]
            if named:
                user_id, name = named[0]
            elif len(users) == 1:
                user_id, name = users[0][0], (username or users[0][1]).strip()
            elif not users:
                name = (username or "admin").strip()
                user_id = create_user(conn, name, password_hash, now)
            else:
                raise NotFound("there are several users and none has that name")
            conn.execute("UPDATE users SET username = ?, password_hash = ? WHERE id = ?",
                         (name, password_hash, user_id))
            conn.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
    except DatabaseError as error:
        raise StoreError(str(error)) from error
    return name


def count_users(conn: Connection) -> int:
    return conn.execute("SELECT COUNT(*) FROM users").fetchone()[0]


def get_config(conn: Connection, key: str) -> Optional[str]:
    row = conn.execute("SELECT value FROM config WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def set_config(conn: Connection, key: str, value: str, now: int) -> None:
    conn.execute(
        "INSERT INTO config (key, value, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        (key, value, now),
    )
