"""A real PostgreSQL server for the tests: Debian's binaries, a scratch folder, a Unix socket.

The session fixture C{postgres} runs C{initdb} and C{pg_ctl start} once (about a second), listening on
a Unix socket only (no TCP port to collide with), and stops the server by its PID at the end. The
function fixture C{pg_dsn} gives each test a database of its own, created from C{template0} and
dropped afterwards, so tests never see each other's rows.

PostgreSQL refuses to run as root (CI runs as root): the server then runs as the C{postgres} user that
Debian's package creates, and the scratch folder is handed to it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass

import pytest

__all__ = ["PostgresServer", "find_pg_bin", "new_database", "postgres", "pg_dsn", "start_postgres", "stop_postgres"]


def find_pg_bin() -> str:
    """The folder of C{initdb}/C{pg_ctl}: Debian keeps them off PATH, under /usr/lib/postgresql/N/bin."""
    found = shutil.which("initdb")
    if found:
        return os.path.dirname(os.path.realpath(found))
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if not candidates:
        raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql (scripts/system-deps.sh)")
    return os.path.dirname(candidates[0])


@dataclass
class PostgresServer:
    """A started server: where its socket is and how to reach its maintenance database."""

    folder: str
    socket_dir: str
    user: str
    pid: int

    def dsn(self, dbname: str = "postgres") -> str:
        """A libpq connection URI for C{dbname} over the Unix socket."""
        return f"postgresql:///{dbname}?host={self.socket_dir}&user={self.user}"


def _demote():
    """preexec_fn for the server's commands when the tests run as root."""
    entry = pwd.getpwnam("postgres")
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)


def start_postgres() -> PostgresServer:
    """initdb a scratch cluster and start it on a Unix socket; returns once it accepts connections."""
    bin_dir = find_pg_bin()
    folder = tempfile.mkdtemp(prefix="fazt-pg-")
    data, sockets = os.path.join(folder, "data"), os.path.join(folder, "run")
    os.mkdir(sockets)
    preexec = None
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        for path in (folder, sockets):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        preexec = _demote
    user = "fazt"
    subprocess.run(
        [os.path.join(bin_dir, "initdb"), "-D", data, "-U", user, "--auth=trust", "-E", "UTF8",
         "--locale=C", "--no-sync"],
        check=True, capture_output=True, preexec_fn=preexec)
    subprocess.run(
        [os.path.join(bin_dir, "pg_ctl"), "-D", data, "-l", os.path.join(folder, "server.log"), "-w",
         "-t", "60", "-o", f"-k {sockets} -c listen_addresses='' -c fsync=off -c max_connections=200",
         "start"],
        check=True, capture_output=True, preexec_fn=preexec)
    with open(os.path.join(data, "postmaster.pid")) as handle:
        pid = int(handle.readline())
    return PostgresServer(folder=folder, socket_dir=sockets, user=user, pid=pid)


def stop_postgres(server: PostgresServer) -> None:
    """Stop the server by its PID (a fast shutdown) and remove its folder."""
    try:
        os.kill(server.pid, signal.SIGINT)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(server.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.kill(server.pid, signal.SIGKILL)
    shutil.rmtree(server.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server for the whole session (started on first use)."""
    server = start_postgres()
    yield server
    stop_postgres(server)


@contextlib.contextmanager
def new_database(server: PostgresServer):
    """The DSN of a new, empty database on C{server}, dropped when the block ends."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(server.dsn(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    try:
        yield server.dsn(name)
    finally:
        with psycopg.connect(server.dsn(), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_dsn(postgres):
    """The DSN of a new, empty database of this test's own (dropped afterwards)."""
    with new_database(postgres) as dsn:
        yield dsn
