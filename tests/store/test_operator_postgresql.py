"""The operator commands that work on a cartridge directly take a postgresql:// URL as --db too."""

from __future__ import annotations

from fazt.cli.main import main
from fazt.store import engines
from fazt.store.accounts import find_api_key
from fazt.store.sessions import find_user


def test_init_key_create_and_set_credentials_on_postgresql(postgres, pg_dsn, capsys):
    assert main(["init", "--db", pg_dsn, "--domain", "Example.TEST", "--username", "ops",
                 "--password", "long enough"]) == 0
    assert main(["init", "--db", pg_dsn, "--domain", "x.test", "--username", "ops", "--password", "long enough"]) == 1
    assert "has a fazt platform already" in capsys.readouterr().err
    assert main(["key", "create", "--db", pg_dsn, "--name", "ci", "--scope", "deploy:blog"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert main(["set-credentials", "--db", pg_dsn, "--username", "ops", "--password", "another long one"]) == 0
    conn = engines.connect(pg_dsn)
    try:
        key = find_api_key(conn, token)
        assert key is not None and key.scopes == ("deploy:blog",)
        user = find_user(conn, "ops")
        assert user is not None
        sites = [r[0] for r in conn.execute("SELECT name FROM sites ORDER BY name")]
        assert sites == ["404", "root"]  # the built-in sites, seeded as on a new file
    finally:
        conn.close()


def test_an_unreachable_server_is_one_clear_line(tmp_path, capsys):
    url = f"postgresql:///fazt?host={tmp_path}&user=nobody"
    assert main(["key", "create", "--db", url, "--name", "ci"]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "cannot connect to PostgreSQL at" in error
