"""
C{fazt login}, C{fazt keys list} and C{fazt keys revoke}: the real commands
against a real C{twistd fazt} process.
"""

import json
import os
import socket
import sqlite3
import stat
import subprocess
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

from installed import BIN, program_env as clean_env
PASSWORD = "correct horse battery"
DOMAIN = "example.test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]



def fazt(env: dict, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "fazt"), *args], env=env, input=stdin, capture_output=True, text=True,
                          timeout=60, stdin=None if stdin is not None else subprocess.DEVNULL)


def healthy(port: int) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://127.0.0.1:{port}/health", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def live(tmp_path_factory, installed):
    """A C{twistd fazt} process on a database made by C{fazt init} with a known admin password."""
    workdir = tmp_path_factory.mktemp("login-server")
    env = clean_env(workdir / "server-home")
    db = str(workdir / "data.db")
    made = fazt(env, "init", "--db", db, "--domain", DOMAIN, "--username", "admin", "--password", PASSWORD)
    assert made.returncode == 0, made.stderr
    port = free_port()
    log = open(workdir / "twistd.log", "wb")
    proc = subprocess.Popen(
        [str(BIN / "twistd"), "-n", "--pidfile=", "fazt", "--domain", DOMAIN, "--db", db,
         "--http", f"tcp:{port}:interface=127.0.0.1"],
        cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while not healthy(port):
            assert proc.poll() is None and time.monotonic() < deadline, (workdir / "twistd.log").read_text()
            time.sleep(0.05)
        yield SimpleNamespace(url=f"http://127.0.0.1:{port}", db=db)
    finally:
        proc.kill()
        proc.wait(10)
        log.close()


@pytest.fixture
def user(isolated_environment):
    """The environment of one user of the CLI, with their own (empty) HOME."""
    return SimpleNamespace(env=clean_env(isolated_environment),
                           config=isolated_environment / ".config" / "fazt" / "config.json")


def sessions(db: str) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]
    finally:
        conn.close()


def test_login_saves_a_key_that_later_commands_use(live, user):
    result = fazt(user.env, "login", "--server", live.url, "--username", "admin", "--password", PASSWORD)
    assert result.returncode == 0, result.stderr
    assert f"Logged in to {live.url} as admin" in result.stdout
    assert stat.S_IMODE(user.config.stat().st_mode) == 0o600
    saved = json.loads(user.config.read_text())
    assert saved["server"] == live.url and saved["token"].startswith("fazt_")
    assert PASSWORD not in user.config.read_text()
    assert sessions(live.db) == 0  # the login session was only used to make the key

    listed = fazt(user.env, "keys", "list")  # server and token come from the config file
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split() == ["ID", "NAME", "SCOPES", "CREATED", "LAST", "USED"]
    mine = [row for row in rows if "fazt login admin@" in row]
    assert len(mine) == 1 and " admin " in mine[0]
    assert saved["token"] not in listed.stdout
    assert fazt(user.env, "sites").returncode == 0


def test_login_prompts_for_what_is_missing(live, user):
    result = fazt(user.env, "login", "--server", live.url, stdin=f"admin\n{PASSWORD}\n")
    assert result.returncode == 0, result.stderr
    assert json.loads(user.config.read_text())["server"] == live.url


def test_login_keeps_the_rest_of_the_config_file(live, user):
    user.config.parent.mkdir(parents=True)
    user.config.write_text(json.dumps({"server": "http://old.example", "token": "old", "editor": "vi"}))
    result = fazt(user.env, "login", "--server", live.url, "--username", "admin", "--password", PASSWORD)
    assert result.returncode == 0, result.stderr
    saved = json.loads(user.config.read_text())
    assert saved["editor"] == "vi" and saved["server"] == live.url and saved["token"] != "old"
    assert stat.S_IMODE(user.config.stat().st_mode) == 0o600


def test_a_wrong_password_saves_nothing(live, user):
    result = fazt(user.env, "login", "--server", live.url, "--username", "admin", "--password", "nope")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: Invalid username or password (INVALID_CREDENTIALS)"
    assert not user.config.exists()


def test_keys_revoke(live, user):
    login = fazt(user.env, "login", "--server", live.url, "--username", "admin", "--password", PASSWORD)
    assert login.returncode == 0, login.stderr
    made = fazt(user.env, "key", "create", "--db", live.db, "--name", "old-ci", "--scope", "deploy:blog")
    token = made.stdout.strip().splitlines()[-1]
    key_id = next(row.split()[0] for row in fazt(user.env, "keys", "list").stdout.splitlines()
                  if " old-ci " in row)

    revoked = fazt(user.env, "keys", "revoke", key_id)
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.strip() == f"Revoked API key {key_id} (old-ci)"
    assert " old-ci " not in fazt(user.env, "keys", "list").stdout
    refused = fazt(user.env, "sites", "--token", token)
    assert refused.returncode == 1 and "INVALID_API_KEY" in refused.stderr

    again = fazt(user.env, "keys", "revoke", key_id)
    assert again.returncode == 1 and "NOT_FOUND" in again.stderr


def test_keys_list_without_a_token(live, user):
    result = fazt(user.env, "keys", "list", "--server", live.url)
    assert result.returncode == 1 and "no API token" in result.stderr
