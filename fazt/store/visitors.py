"""Counting unique visitors without storing who they are (pure functions).

A visitor is C{sha256(daily_salt, ip, user_agent)} cut to 16 hex characters. The salt is random
and replaced every UTC day, and the old one is forgotten: the same person gets a new hash each
day, and nobody (the operator included) can go from a stored hash back to an address. Unique
visitors over a week are therefore the sum of each day's unique visitors.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Callable, Optional

HASH_LENGTH = 16
SALT_BYTES = 16


def utc_day(timestamp: float) -> str:
    """The UTC calendar day of C{timestamp}, as C{YYYY-MM-DD}."""
    return time.strftime("%Y-%m-%d", time.gmtime(timestamp))


def new_salt() -> str:
    """A fresh random salt (hex)."""
    return secrets.token_hex(SALT_BYTES)


def visitor_hash(salt: str, ip: str, user_agent: str) -> str:
    """The anonymous visitor id of (C{ip}, C{user_agent}) under C{salt}."""
    digest = hashlib.sha256()
    for part in (salt, ip, user_agent):
        # The separator keeps ("1.2.3.4", "5 x") and ("1.2.3.45", " x") apart.
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()[:HASH_LENGTH]


def encode_salt(day: str, salt: str) -> str:
    """How a day's salt is kept (one string: the day, a space, the salt)."""
    return f"{day} {salt}"


def rotate_salt(stored: Optional[str], day: str,
                make: Callable[[], str] = new_salt) -> tuple[str, Optional[str]]:
    """The salt to use for an event of C{day}, given the C{stored} one.

    Returns C{(salt, to_store)}: C{to_store} is the new encoded value when the salt was
    replaced, else None. A salt is replaced when none is stored, when it is malformed, or when
    C{day} is later than its day. An event of an earlier day (a batch written just after
    midnight) uses the current salt: the earlier salt is gone on purpose.
    """
    if stored:
        stored_day, _, salt = stored.partition(" ")
        if len(stored_day) == 10 and salt and stored_day >= day:
            return salt, None
    salt = make()
    return salt, encode_salt(day, salt)
