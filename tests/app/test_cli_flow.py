"""A user's flow with the real commands against a real C{twistd fazt}: key, deploy, redeploy,
list, rollback, and the error paths a user meets first."""

from __future__ import annotations

import re

import pytest

BLOG = "blog.example.test"


def site_v1() -> dict:
    return {
        "index.html": "<h1>blog v1</h1>",
        "about.html": "<p>about v1</p>",
        ".secret": "do not serve me",
        "posts/first.html": "<p>first post v1</p>",
        "posts/index.html": "<p>posts v1</p>",
    }


def site_v2() -> dict:
    return {
        "index.html": "<h1>blog v2</h1>",
        "about.html": "<p>about v2</p>",
        ".secret": "do not serve me either",
        "posts/first.html": "<p>first post v2</p>",
        "posts/second.html": "<p>second post v2</p>",
    }


@pytest.fixture
def flow(twistd, cli_env, tmp_path, fz):
    """A running server on a fresh db and an admin token made with C{fazt key create}."""
    db = str(tmp_path / "data.db")
    server = twistd.start(db)
    result = fz.run_fazt(cli_env, "key", "create", "--db", db, "--name", "t")
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"\S{20,}", token), result.stdout
    return server, token, db


def field(stdout: str, name: str) -> str:
    match = re.search(rf"^{name}:\s*(.+)$", stdout, re.M)
    assert match, f"no {name!r} line in:\n{stdout}"
    return match.group(1).strip()


def assert_serves_v1(server) -> None:
    assert server.get("/", BLOG) == (200, b"<h1>blog v1</h1>")
    assert server.get("/about.html", BLOG) == (200, b"<p>about v1</p>")
    assert server.get("/about", BLOG) == (200, b"<p>about v1</p>")
    assert server.get("/posts/first.html", BLOG) == (200, b"<p>first post v1</p>")
    assert server.get("/posts/", BLOG) == (200, b"<p>posts v1</p>")
    assert server.get("/posts/second.html", BLOG)[0] == 404


def assert_serves_v2(server) -> None:
    assert server.get("/", BLOG) == (200, b"<h1>blog v2</h1>")
    assert server.get("/about", BLOG) == (200, b"<p>about v2</p>")
    assert server.get("/posts/first.html", BLOG) == (200, b"<p>first post v2</p>")
    assert server.get("/posts/second.html", BLOG) == (200, b"<p>second post v2</p>")
    assert server.get("/posts/index.html", BLOG)[0] == 404


def test_deploy_redeploy_list_rollback(flow, cli_env, tmp_path, fz):
    server, token, _ = flow
    v1 = fz.write_tree(tmp_path / "v1", site_v1())
    v2 = fz.write_tree(tmp_path / "v2", site_v2())

    first = fz.cli_deploy(cli_env, server, token, v1)
    assert first.returncode == 0, first.stderr
    assert "blog" in field(first.stdout, "url")
    first_id = int(field(first.stdout, "deployment id"))
    assert field(first.stdout, "files") == "4"  # .secret is not packed
    assert "Traceback" not in first.stderr
    assert_serves_v1(server)
    for path in ("/.secret", "/secret"):
        status, body = server.get(path, BLOG)
        assert status == 404 and b"do not serve me" not in body

    second = fz.cli_deploy(cli_env, server, token, v2)
    assert second.returncode == 0, second.stderr
    second_id = int(field(second.stdout, "deployment id"))
    assert second_id != first_id
    assert field(second.stdout, "files") == "4"
    assert_serves_v2(server)

    listing = fz.run_fazt(cli_env, "deployments", "blog", "--server", server.url, "--token", token)
    assert listing.returncode == 0, listing.stderr
    rows = {int(cells[0]): cells[-1] for cells in map(str.split, listing.stdout.splitlines()[1:])
            if cells and cells[0].isdigit()}
    assert rows == {first_id: "no", second_id: "yes"}, listing.stdout  # ID ... ACTIVE

    back = fz.run_fazt(cli_env, "rollback", "blog", "--server", server.url, "--token", token)
    assert back.returncode == 0, back.stderr
    assert int(field(back.stdout, "deployment id")) == first_id
    assert_serves_v1(server)

    sites = fz.run_fazt(cli_env, "sites", "--server", server.url, "--token", token)
    assert sites.returncode == 0, sites.stderr
    names = [line.split()[0] for line in sites.stdout.splitlines()[1:] if line.strip()]
    assert "blog" in names, sites.stdout
    assert "root" in names

    status = fz.run_fazt(cli_env, "status", "--server", server.url, "--token", token)
    assert status.returncode == 0, status.stderr
    assert field(status.stdout, "status") in ("ok", "healthy"), status.stdout
    assert field(status.stdout, "sites") == "3", status.stdout  # root, 404, blog


def test_status_without_token_and_env_defaults(flow, cli_env, tmp_path, fz):
    server, token, _ = flow
    status = fz.run_fazt(cli_env, "status", "--server", server.url)
    assert status.returncode == 0, status.stderr
    assert field(status.stdout, "status") == "ok"
    env = {**cli_env, "FAZT_SERVER": server.url, "FAZT_TOKEN": token}
    deployed = fz.run_fazt(env, "deploy", str(fz.write_tree(tmp_path / "site", site_v1())), "--site", "blog")
    assert deployed.returncode == 0, deployed.stderr
    assert server.get("/", BLOG) == (200, b"<h1>blog v1</h1>")


def test_wrong_token_is_one_line_on_stderr(flow, cli_env, tmp_path, fz):
    server, _, _ = flow
    site = fz.write_tree(tmp_path / "site", site_v1())
    result = fz.cli_deploy(cli_env, server, "not-a-real-token", site)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    # Progress notes may precede it; the failure itself is one "error:" line, and the last.
    assert lines and lines[-1].startswith("error:"), result.stderr
    assert sum(line.startswith("error:") for line in lines) == 1
    assert "INVALID_API_KEY" in lines[-1] or "invalid" in lines[-1].lower()
    assert result.stdout == ""
    assert server.get("/", BLOG)[0] == 404


def test_unreachable_server_is_one_line_on_stderr(cli_env, tmp_path, fz):
    site = fz.write_tree(tmp_path / "site", site_v1())
    result = fz.run_fazt(cli_env, "deploy", str(site), "--site", "blog",
                         "--server", f"http://127.0.0.1:{fz.free_port()}", "--token", "x")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error:")


def test_init_refuses_an_existing_database(flow, cli_env, fz):
    _, _, db = flow
    result = fz.run_fazt(cli_env, "init", "--db", db, "--domain", "example.test",
                         "--username", "someone", "--password", "long enough password")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("error:") and "exists" in result.stderr


def test_init_then_start_prints_no_generated_password(twistd, cli_env, tmp_path, fz):
    db = str(tmp_path / "init.db")
    result = fz.run_fazt(cli_env, "init", "--db", db, "--domain", "example.test",
                         "--username", "me", "--password", "correct horse battery")
    assert result.returncode == 0, result.stderr
    server = twistd.start(db)
    assert server.get("/", "example.test")[0] == 200
    assert fz.ADMIN_PASSWORD_LINE not in server.log()
