"""ACME HTTP-01 answers in flight, kept where every process can read them (synchronous, connection first).

Only the leader orders certificates (SPEC §19), but the CA may reach any process (any node behind a
load balancer, any process sharing the port): the answer of each challenge is written here before
the CA is told to validate, and any process's responder reads it on a miss. They live in the
C{config} table under C{acme-challenge:TOKEN} (no table of their own: an answer lives for the
seconds of one validation); rows left by a process that died mid-order are pruned after a day.
"""

from __future__ import annotations

import sqlite3
from typing import Optional

PREFIX = "acme-challenge:"
STALE_SECONDS = 24 * 3600


def put_challenge(conn: sqlite3.Connection, token: str, answer: str, now: int) -> None:
    """Keep C{answer} for C{token} (replacing any), and drop answers older than a day."""
    conn.execute("DELETE FROM config WHERE key LIKE ? AND updated_at < ?", (PREFIX + "%", now - STALE_SECONDS))
    conn.execute(
        "INSERT INTO config (key, value, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        (PREFIX + token, answer, now),
    )


def drop_challenge(conn: sqlite3.Connection, token: str) -> None:
    """Forget the answer for C{token} (its validation is over)."""
    conn.execute("DELETE FROM config WHERE key = ?", (PREFIX + token,))


def find_challenge(conn: sqlite3.Connection, token: str) -> Optional[str]:
    """The answer kept for C{token}, or None."""
    row = conn.execute("SELECT value FROM config WHERE key = ?", (PREFIX + token,)).fetchone()
    return row[0] if row else None
