"""First-start work on a cartridge: the default sites and the first admin (synchronous).

Run once at start-up, before the reactor runs, and by C{fazt init}.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from importlib import resources
from typing import Optional

import bcrypt

from fazt.store.accounts import count_users, create_user, get_config, set_config
from fazt.deploy.pipeline import compress_variants
from fazt.store.sites import NewFile, commit_deployment
from fazt.web.mimetypes import content_type_for

DEFAULT_SITES = ("root", "404")
BCRYPT_ROUNDS = 12


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(BCRYPT_ROUNDS)).decode("ascii")


def _default_files(site: str) -> list[NewFile]:
    folder = resources.files("fazt").joinpath("defaults", site)
    files = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        data = entry.read_bytes()
        ctype = content_type_for(entry.name)
        files.append(NewFile(entry.name, hashlib.sha256(data).hexdigest(), len(data), ctype,
                             lambda data=data, ctype=ctype: compress_variants(data, ctype)))
    return files


def seed_default_sites(conn: sqlite3.Connection, now: Optional[float] = None) -> list[str]:
    """Deploy the built-in C{root} and C{404} sites on a cartridge that never had them."""
    now = time.time() if now is None else now
    seeded = []
    with _transaction(conn):
        if get_config(conn, "defaults_seeded") is not None:
            return seeded
        for site in DEFAULT_SITES:
            exists = conn.execute("SELECT 1 FROM sites WHERE name = ?", (site,)).fetchone()
            if not exists:
                commit_deployment(conn, site, _default_files(site), "fazt", now, keep=20)
                seeded.append(site)
        set_config(conn, "defaults_seeded", "1", int(now))
    return seeded


def create_admin(conn: sqlite3.Connection, username: str, password: str) -> None:
    with _transaction(conn):
        create_user(conn, username, hash_password(password), int(time.time()))


def ensure_admin(conn: sqlite3.Connection) -> Optional[str]:
    """Create user C{admin} with a random password if there is no user; returns that password."""
    if count_users(conn):
        return None
    password = secrets.token_urlsafe(15)
    create_admin(conn, "admin", password)
    return password


class _transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, value, tb) -> None:
        self.conn.execute("ROLLBACK" if kind else "COMMIT")
