"""
Tests for the C{fazt} dispatcher: the operator commands, C{--version},
usage errors, and how failures reach the user.
"""

import os
import subprocess
import sys
import types

import pytest

import fazt
from fazt.cli import commands
from fazt.cli.main import main

from installed import PYTHON, clean_env


class FakeOperatorError(Exception):
    """Stands in for C{fazt.cli.operator.OperatorError}."""


@pytest.fixture
def operator_calls(monkeypatch):
    """
    Replace C{fazt.cli.operator} with a fake that records its calls; a
    database path containing C{exists} makes it fail as a real one would.
    """
    calls = []

    def init_database(db_path, domain, username, password):
        calls.append(("init_database", db_path, domain, username, password))
        if "exists" in db_path:
            raise FakeOperatorError(f"{db_path} already exists")

    def create_key(db_path, name, scopes):
        calls.append(("create_key", db_path, name, scopes))
        if "exists" not in db_path:
            raise FakeOperatorError(f"{db_path}: no such database")
        return "fzt_0123456789abcdef"

    fake = types.ModuleType("fazt.cli.operator")
    fake.OperatorError = FakeOperatorError
    fake.init_database = init_database
    fake.create_key = create_key
    monkeypatch.setitem(sys.modules, "fazt.cli.operator", fake)
    return calls


def test_init_creates_a_database(operator_calls, capsys):
    argv = ["init", "--db", "new.db", "--domain", "example.com",
            "--username", "admin", "--password", "s3cret"]
    assert main(argv) == 0
    assert operator_calls == [("init_database", "new.db", "example.com", "admin", "s3cret")]
    assert "Created database new.db" in capsys.readouterr().out


def test_init_reads_the_password_from_stdin_when_it_is_a_dash(operator_calls, capsys, monkeypatch):
    # install.sh passes the generated password this way: never in an argv that `ps` shows.
    import io
    monkeypatch.setattr(sys, "stdin", io.StringIO("from stdin\nignored\n"))
    argv = ["init", "--db", "new.db", "--domain", "example.com", "--username", "admin", "--password", "-"]
    assert main(argv) == 0
    assert operator_calls == [("init_database", "new.db", "example.com", "admin", "from stdin")]


def test_init_refuses_an_existing_database(operator_calls, capsys):
    argv = ["init", "--db", "exists.db", "--domain", "d", "--username", "u", "--password", "p"]
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "error: exists.db already exists\n"


def test_init_requires_every_flag(operator_calls, capsys):
    assert main(["init", "--db", "x.db", "--domain", "d"]) == 2
    assert "--username" in capsys.readouterr().err
    assert operator_calls == []


def test_key_create_prints_the_token_last_with_admin_scope_by_default(operator_calls, capsys):
    assert main(["key", "create", "--db", "exists.db", "--name", "laptop"]) == 0
    assert operator_calls == [("create_key", "exists.db", "laptop", ["admin"])]
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert "laptop" in lines[0]
    assert lines[-1] == "fzt_0123456789abcdef"


def test_key_create_with_several_scopes(operator_calls, capsys):
    argv = ["key", "create", "--db", "exists.db", "--name", "ci",
            "--scope", "deploy:blog", "--scope", "deploy:docs"]
    assert main(argv) == 0
    assert operator_calls[0][3] == ["deploy:blog", "deploy:docs"]


def test_key_create_failure(operator_calls, capsys):
    assert main(["key", "create", "--db", "missing.db", "--name", "x"]) == 1
    assert capsys.readouterr().err == "error: missing.db: no such database\n"


def test_key_needs_an_action(capsys):
    assert main(["key"]) == 2
    assert "ACTION" in capsys.readouterr().err


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"fazt {fazt.__version__}\n"


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2
    assert "usage: fazt" in capsys.readouterr().err


def test_every_client_command_takes_server_and_token(capsys):
    for command in (["deploy", "d", "--site", "s"], ["sites"], ["deployments", "s"],
                    ["rollback", "s"], ["status"]):
        assert main([*command[:1], "--help"]) == 0
        help_text = capsys.readouterr().out
        assert "--server" in help_text and "--token" in help_text, command


def test_ctrl_c_exits_130(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(commands, "list_sites", interrupted)
    assert main(["sites"]) == 130
    assert capsys.readouterr().err == "error: interrupted\n"


def test_unexpected_failure_is_one_line_without_traceback(monkeypatch, capsys):
    def broken(args):
        raise RuntimeError("something\nodd")

    monkeypatch.setattr(commands, "list_sites", broken)
    assert main(["sites"]) == 1
    err = capsys.readouterr().err
    assert err == "error: unexpected RuntimeError: something odd (set FAZT_DEBUG=1 for details)\n"


def run_module(*argv, home):
    """Run C{python -m fazt ARGV} in a fresh interpreter."""
    environment = {key: value for key, value in clean_env().items() if not key.startswith("FAZT_")}
    environment["HOME"] = str(home)
    return subprocess.run(
        [PYTHON, "-m", "fazt", *argv],
        cwd=home, env=environment, capture_output=True, text=True, timeout=60,
    )


def test_python_dash_m_fazt(isolated_environment, tmp_path, installed):
    version = run_module("--version", home=isolated_environment)
    assert (version.returncode, version.stdout) == (0, f"fazt {fazt.__version__}\n")

    failed = run_module("deploy", str(tmp_path / "nope"), "--site", "x", "--token", "t",
                        home=isolated_environment)
    assert failed.returncode == 1
    assert failed.stderr == f"error: directory not found: {tmp_path / 'nope'}\n"
