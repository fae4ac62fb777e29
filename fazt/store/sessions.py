"""SQL for admin login sessions (synchronous, connection first).

A session is known only by the SHA-256 digest of its random token: the cookie holds the token,
the database the digest, so a copy of the database does not log anyone in. Sessions live in
the cartridge, so a restart logs no one out.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Optional
from fazt.store.transaction import Connection

DAY = 24 * 3600
SESSION_LIFETIME = DAY              # sliding: every use pushes the expiry this far ahead
REMEMBER_ME_LIFETIME = 7 * DAY


@dataclass(frozen=True)
class Session:
    """A live session and the user it belongs to."""

    digest: str
    user_id: int
    username: str
    created_at: int
    expires_at: int
    remember_me: bool

    @property
    def lifetime(self) -> int:
        """How far ahead each use pushes the expiry."""
        return REMEMBER_ME_LIFETIME if self.remember_me else SESSION_LIFETIME


@dataclass(frozen=True)
class User:
    id: int
    username: str
    password_hash: str


def new_session_token() -> str:
    """A fresh session token: 32 random bytes, URL-safe (a cookie value needs no quoting)."""
    return secrets.token_urlsafe(32)


def session_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def find_user(conn: Connection, username: str) -> Optional[User]:
    """The user called C{username} (exact match), or None."""
    row = conn.execute(
        "SELECT id, username, password_hash FROM users WHERE username = ?", (username,)
    ).fetchone()
    return User(*row) if row else None


def create_session(conn: Connection, token: str, user_id: int, remember_me: bool, now: int) -> int:
    """Store a session for C{token}; returns its expiry. Expired sessions are swept on the way."""
    delete_expired_sessions(conn, now)
    lifetime = REMEMBER_ME_LIFETIME if remember_me else SESSION_LIFETIME
    expires_at = now + lifetime
    conn.execute(
        "INSERT INTO sessions (token_digest, user_id, created_at, expires_at, remember_me)"
        " VALUES (?, ?, ?, ?, ?)",
        (session_digest(token), user_id, now, expires_at, int(remember_me)),
    )
    return expires_at


def find_session(conn: Connection, token: str, now: float) -> Optional[Session]:
    """The unexpired session of C{token}, or None."""
    row = conn.execute(
        "SELECT s.token_digest, s.user_id, u.username, s.created_at, s.expires_at, s.remember_me"
        " FROM sessions s JOIN users u ON u.id = s.user_id"
        " WHERE s.token_digest = ? AND s.expires_at > ?",
        (session_digest(token), now),
    ).fetchone()
    if row is None:
        return None
    return Session(row[0], row[1], row[2], row[3], row[4], bool(row[5]))


def extend_session(conn: Connection, digest: str, expires_at: int) -> None:
    """Push a session's expiry to C{expires_at} (never backwards)."""
    conn.execute(
        "UPDATE sessions SET expires_at = CASE WHEN expires_at < ? THEN ? ELSE expires_at END"
        " WHERE token_digest = ?", (expires_at, expires_at, digest)
    )


def delete_session(conn: Connection, token: str) -> Optional[str]:
    """Forget the session of C{token}; returns its user's name if there was one."""
    digest = session_digest(token)
    row = conn.execute(
        "SELECT u.username FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_digest = ?",
        (digest,),
    ).fetchone()
    conn.execute("DELETE FROM sessions WHERE token_digest = ?", (digest,))
    return row[0] if row else None


def delete_expired_sessions(conn: Connection, now: float) -> int:
    return conn.execute("DELETE FROM sessions WHERE expires_at <= ?", (now,)).rowcount
