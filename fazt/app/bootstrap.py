"""First-start work on a cartridge: the default sites and the first admin (synchronous).

Run once at start-up, before the reactor runs, and by C{fazt init}.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from importlib import resources
from typing import Optional

import bcrypt

from fazt.base.mimetypes import content_type_for
from fazt.deploy.pipeline import compress_variants
from fazt.store.accounts import count_users, create_user, get_config, set_config
from fazt.store.sites import NewFile, commit_deployment, site_exists
from fazt.store.transaction import Connection, transaction

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


def seed_default_sites(conn: Connection, now: Optional[float] = None) -> list[str]:
    """Deploy the built-in C{root} and C{404} sites on a cartridge that never had them."""
    now = time.time() if now is None else now
    seeded = []
    with transaction(conn):
        if get_config(conn, "defaults_seeded") is not None:
            return seeded
        for site in DEFAULT_SITES:
            if not site_exists(conn, site):
                commit_deployment(conn, site, _default_files(site), "fazt", now, keep=20)
                seeded.append(site)
        set_config(conn, "defaults_seeded", "1", int(now))
    return seeded


def create_admin(conn: Connection, username: str, password: str) -> None:
    with transaction(conn):
        create_user(conn, username, hash_password(password), int(time.time()))


def ensure_admin(conn: Connection) -> Optional[str]:
    """Create user C{admin} with a random password if there is no user; returns that password."""
    if count_users(conn):
        return None
    password = secrets.token_urlsafe(15)
    hashed = hash_password(password)  # before the write lock: bcrypt takes a while
    with transaction(conn):
        # Nodes sharing a PostgreSQL cartridge may start together: the first one creates the admin.
        if count_users(conn):
            return None
        create_user(conn, "admin", hashed, int(time.time()))
    return password

