"""
C{fazt set-credentials --db PATH [--username NAME] [--password PW]}: the admin's login, on the file.

For the operator who lost the password printed at install time: it works on the cartridge
directly (safe beside a running server: one short write transaction in WAL mode), sets the
password of the admin (renaming it with C{--username}), and ends that user's sessions. The
password is asked for on a terminal when not given, or read from the first line of stdin.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from typing import Optional

from fazt.cli.errors import CliError

MIN_PASSWORD = 8


def add_credentials_command(subcommands) -> None:
    """Add the C{set-credentials} subcommand."""
    command = subcommands.add_parser(
        "set-credentials", help="set the admin's user name and password in a database file",
        description="Set the admin's password (and with --username its name) directly in the database; "
        "works while the server runs and logs that user out everywhere.")
    command.add_argument("--db", required=True, metavar="PATH", help="the database file")
    command.add_argument("--username", metavar="NAME", help="the admin's (new) user name")
    command.add_argument("--password", metavar="PW",
                         help="the new password (default: asked for, or the first line of stdin)")
    command.set_defaults(run=run_set_credentials)


def set_credentials(db_path: str, password: str, username: Optional[str] = None) -> str:
    """Give the admin C{password} (and the name C{username}); return the user name. Raises L{CliError}."""
    from fazt.app.bootstrap import hash_password
    from fazt.store.accounts import set_credentials as store_credentials
    from fazt.store.engines import connect, is_postgresql_target
    from fazt.store.errors import NotFound, StoreError

    if not is_postgresql_target(db_path) and not os.path.isfile(db_path):
        raise CliError(f"no database at {db_path}")
    if len(password) < MIN_PASSWORD:
        raise CliError(f"the password must be at least {MIN_PASSWORD} characters")
    if username is not None and not username.strip():
        raise CliError("--username must not be empty")
    digest = hash_password(password)  # slow (bcrypt): before the transaction, not inside it
    try:
        conn = connect(db_path)
    except StoreError as error:
        raise CliError(f"cannot open {db_path}: {error}") from error
    try:
        name = store_credentials(conn, digest, username, int(time.time()))
    except NotFound:
        raise CliError("there are several users: say whose password this is with --username") from None
    except StoreError as error:
        raise CliError(f"cannot update {db_path}: {error}") from error
    finally:
        conn.close()
    return name


def run_set_credentials(args: argparse.Namespace) -> int:
    """C{fazt set-credentials}: set, and say for whom."""
    password = args.password if args.password is not None else _ask_password()
    name = set_credentials(args.db, password, args.username)
    print(f"credentials of {name!r} set in {args.db}; their sessions have ended")
    return 0


def _ask_password() -> str:
    """Ask twice on a terminal; otherwise read the first line of stdin."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("new password: ")
    if getpass.getpass("again: ") != first:
        raise CliError("the two passwords differ")
    return first
