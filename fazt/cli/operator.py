"""Operator commands that work on the cartridge file directly (C{fazt init}, C{fazt key create}).

They run beside a live server safely: the database is in WAL mode with a busy timeout, and
they only add rows.
"""

from __future__ import annotations

import os
import time

from fazt.app.bootstrap import create_admin, seed_default_sites
from fazt.base.names import InvalidSiteName, normalise_site_name
from fazt.store.accounts import create_api_key, set_config
from fazt.store.accounts import count_users
from fazt.store.engines import connect, is_postgresql_target, open_cartridge
from fazt.store.errors import StoreError
from fazt.store.migrate import MigrationError
from fazt.store.transaction import transaction


class OperatorError(Exception):
    """A command that cannot be carried out; the message is shown to the user."""


def init_database(db_path: str, domain: str, username: str, password: str) -> None:
    """Create a new cartridge with its admin; refuses an existing file (or a database with users)."""
    postgresql = is_postgresql_target(db_path)
    if not postgresql and os.path.exists(db_path):
        raise OperatorError(f"{db_path} already exists; refusing to overwrite it")
    if not username.strip():
        raise OperatorError("--username must not be empty")
    if len(password) < 8:
        raise OperatorError("--password must be at least 8 characters")
    directory = os.path.dirname(os.path.abspath(db_path))
    if not postgresql and not os.path.isdir(directory):
        raise OperatorError(f"directory {directory} does not exist")
    try:
        open_cartridge(db_path)
        conn = connect(db_path)
        try:
            if postgresql and count_users(conn):
                raise OperatorError("that database has a fazt platform already; refusing to overwrite it")
            create_admin(conn, username.strip(), password)
            with transaction(conn):
                set_config(conn, "domain", domain.strip().lower(), int(time.time()))
            seed_default_sites(conn)
        finally:
            conn.close()
    except (MigrationError, StoreError, OSError) as exc:
        raise OperatorError(f"could not create {db_path}: {exc}") from exc


def _check_scope(scope: str) -> str:
    if scope == "admin":
        return scope
    kind, _, site = scope.partition(":")
    if kind == "deploy" and site:
        try:
            return "deploy:" + normalise_site_name(site, "localhost")
        except InvalidSiteName as exc:
            raise OperatorError(f"scope {scope!r}: {exc}") from None
    raise OperatorError(f"unknown scope {scope!r}: use 'admin' or 'deploy:SITE'")


def create_key(db_path: str, name: str, scopes: list[str]) -> str:
    """Add an API key to an existing cartridge; returns the token (shown only once)."""
    if not is_postgresql_target(db_path) and not os.path.exists(db_path):
        raise OperatorError(f"{db_path} does not exist (create it with 'fazt init' or by starting the server)")
    if not name.strip():
        raise OperatorError("--name must not be empty")
    checked = [_check_scope(s) for s in (scopes or ["admin"])]
    try:
        open_cartridge(db_path)
        conn = connect(db_path)
        try:
            with transaction(conn):
                _, token = create_api_key(conn, name.strip(), checked, int(time.time()))
        finally:
            conn.close()
    except (MigrationError, OSError, Exception) as exc:
        if isinstance(exc, OperatorError):
            raise
        raise OperatorError(f"could not add a key to {db_path}: {exc}") from exc
    return token
