"""`fazt new DIR --template NAME` (SPEC §15): every template shipped in the wheel is created with the
real command, deployed as it is with the real `fazt deploy` to a real `twistd fazt`, and used over
HTTP (and, for chat, a real WebSocket client) the way its README says."""

from __future__ import annotations

import http.client
import json
import os
import subprocess

import pytest
import pytest_twisted

from wsclient import close_all, join

TEMPLATES = ("static", "spa", "api", "chat", "counter", "hono")


@pytest.fixture(scope="module")
def server(fz, tmp_path_factory):
    """One twistd for the module and an admin token."""
    work = tmp_path_factory.mktemp("templates")
    launcher = fz.TwistdLauncher(work, fz.subprocess_env(work / "home"))
    try:
        live = launcher.start()
        live.env = launcher.env
        live.token = fz.create_token(launcher.env, live.db)
        yield live
    finally:
        launcher.cleanup()


def new(fz, env, folder, template: str) -> subprocess.CompletedProcess:
    return fz.run_fazt(env, "new", str(folder), "--template", template)


def created_and_deployed(fz, server, tmp_path, template: str, before_deploy=None):
    """`fazt new` then `fazt deploy --site TEMPLATE`; the folder."""
    folder = tmp_path / template
    result = new(fz, server.env, folder, template)
    assert result.returncode == 0, result.stderr
    assert f"from the '{template}' template" in result.stdout
    assert (folder / "README.md").is_file()
    # Never commit the dev server's scratch cartridge or the secrets in .env.
    assert {".fazt/", ".env"} <= set((folder / ".gitignore").read_text().split())
    if before_deploy is not None:
        before_deploy(folder)
    deployed = fz.cli_deploy(server.env, server, server.token, folder, site=f"my-{template}")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    return folder


def call(server, site: str, method: str, path: str, body: bytes | None = None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
    try:
        conn.request(method, path, body=body, headers={"Host": f"my-{site}.example.test", **(headers or {})})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def test_static(fz, server, tmp_path):
    created_and_deployed(fz, server, tmp_path, "static")
    status, headers, body = call(server, "static", "GET", "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b"<h1>Hello from fazt</h1>" in body
    assert call(server, "static", "GET", "/about")[2].count(b"<h1>About</h1>") == 1  # clean URL
    assert call(server, "static", "GET", "/style.css")[0] == 200
    status, _, body = call(server, "static", "GET", "/no/such/page")
    assert status == 404 and b"<h1>Not found</h1>" in body


def test_spa_routes_every_page_path_to_the_app(fz, server, tmp_path):
    created_and_deployed(fz, server, tmp_path, "spa")
    index = call(server, "spa", "GET", "/")[2]
    assert b'data-app="spa"' in index
    for path in ("/about", "/users/42", "/deep/link/anywhere"):
        status, headers, body = call(server, "spa", "GET", path)
        assert (status, body) == (200, index), path   # the _redirects 200 rewrite
        assert headers["content-type"].startswith("text/html")
    status, headers, body = call(server, "spa", "GET", "/app.js")
    assert status == 200 and b"history.pushState" in body and "javascript" in headers["content-type"]


def test_api_functions_with_params_and_methods(fz, server, tmp_path):
    created_and_deployed(fz, server, tmp_path, "api")
    assert b'<form id="form">' in call(server, "api", "GET", "/")[2]
    status, _, body = call(server, "api", "GET", "/api/hello?name=Ada")
    assert (status, json.loads(body)) == (200, {"message": "Hello, Ada!"})
    assert json.loads(call(server, "api", "GET", "/api/hello")[2]) == {"message": "Hello, world!"}
    assert call(server, "api", "GET", "/api/users/42")[0] == 404
    status, _, body = call(server, "api", "PUT", "/api/users/42", json.dumps({"name": "Ada"}).encode(),
                           {"Content-Type": "application/json"})
    assert (status, json.loads(body)) == (201, {"id": "42", "name": "Ada"})
    assert json.loads(call(server, "api", "GET", "/api/users/42")[2]) == {"id": "42", "name": "Ada"}
    status, headers, _ = call(server, "api", "DELETE", "/api/users/42")
    assert status == 405 and set(headers["allow"].replace(" ", "").split(",")) >= {"GET", "PUT"}
    # Shared code under api/_lib is never a route, nor served as a file.
    assert call(server, "api", "GET", "/api/_lib/greet")[0] == 404
    assert call(server, "api", "GET", "/api/_lib/greet.js")[0] == 404


@pytest_twisted.ensureDeferred
async def test_chat_relays_between_clients_and_from_the_server(fz, server, tmp_path):
    created_and_deployed(fz, server, tmp_path, "chat")
    assert b"/chat.js" in call(server, "chat", "GET", "/")[2]
    assert b"new WebSocket" in call(server, "chat", "GET", "/chat.js")[2]
    host = f"my-chat.example.test:{server.port}"
    alice = await join(server.port, host, origin=f"http://{host}")
    bob = await join(server.port, host, origin=f"http://{host}")
    try:
        alice.sendMessage(b"hi bob")
        assert await bob.messages(1) == ["hi bob"]
        assert await alice.messages(1) == ["hi bob"]   # the sender too
        status, _, body = call(server, "chat", "GET", "/api/announce")
        assert (status, json.loads(body)) == (200, {"online": 2})
        status, _, body = call(server, "chat", "POST", "/api/announce", b"Server says hi")
        assert (status, json.loads(body)) == (200, {"sent": 2})
        assert (await bob.messages(2))[1] == "Server says hi"
        assert (await alice.messages(2))[1] == "Server says hi"
        assert call(server, "chat", "POST", "/api/announce", b"  ")[0] == 400
    finally:
        await close_all([alice, bob])


def test_counter_counts_in_kv(fz, server, tmp_path):
    created_and_deployed(fz, server, tmp_path, "counter")
    first = call(server, "counter", "GET", "/")
    second = call(server, "counter", "GET", "/")
    assert first[0] == second[0] == 200 and first[1]["content-type"].startswith("text/html")
    assert b'<span id="count">1</span>' in first[2] and b'<span id="count">2</span>' in second[2]
    assert json.loads(call(server, "counter", "GET", "/count")[2]) == {"count": 2}
    assert json.loads(call(server, "counter", "POST", "/reset")[2]) == {"count": 0}
    assert b'<span id="count">1</span>' in call(server, "counter", "GET", "/")[2]


def npm_install(folder) -> None:
    """The README's first step, against the real registry (a failure fails the test)."""
    result = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=folder,
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "NO_UPDATE_NOTIFIER": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert (folder / "node_modules" / "hono" / "package.json").is_file()


def test_hono_after_npm_install(fz, server, tmp_path):
    folder = created_and_deployed(fz, server, tmp_path, "hono", before_deploy=npm_install)
    assert "npm install" in (folder / "README.md").read_text()
    status, _, body = call(server, "hono", "GET", "/api/hello")
    assert (status, json.loads(body)) == (200, {"hello": "world"})
    assert json.loads(call(server, "hono", "GET", "/api/users/7")[2]) == {"id": "7"}
    status, _, body = call(server, "hono", "POST", "/api/echo", b'{"a": [1, 2]}', {"Content-Type": "application/json"})
    assert (status, json.loads(body)) == (200, {"a": [1, 2]})
    assert call(server, "hono", "GET", "/api/greeting")[2] == b"hi"
    assert b"fetch(\"/api/hello\")" in call(server, "hono", "GET", "/")[2]
    assert call(server, "hono", "GET", "/node_modules/hono/package.json")[0] == 404


def test_hono_without_npm_install_is_refused_with_the_missing_import(fz, server, tmp_path):
    """The README says to install first; forgetting it gives the deploy check's answer, not a broken site."""
    folder = tmp_path / "forgot"
    assert new(fz, server.env, folder, "hono").returncode == 0
    deployed = fz.cli_deploy(server.env, server, server.token, folder, site="forgot")
    assert deployed.returncode == 1
    assert "cannot find module 'hono' imported from api/main.js" in deployed.stderr


def test_new_refuses_a_folder_with_files(fz, server, tmp_path):
    folder = tmp_path / "taken"
    folder.mkdir()
    (folder / "mine.txt").write_text("keep me")
    result = new(fz, server.env, folder, "static")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"error: {folder} is not empty: choose a new folder"]
    assert sorted(os.listdir(folder)) == ["mine.txt"]
    # An empty folder is fine, and --template defaults to static.
    empty = tmp_path / "empty"
    empty.mkdir()
    result = fz.run_fazt(server.env, "new", str(empty))
    assert result.returncode == 0, result.stderr
    assert (empty / "index.html").is_file() and (empty / ".gitignore").is_file()
    assert not (empty / "gitignore").exists()
    # So is a folder that only holds a fresh `git init`.
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    assert fz.run_fazt(server.env, "new", str(repo), "--template", "spa").returncode == 0
    assert (repo / "_redirects").is_file()


def test_new_help_and_bad_template(fz, server, tmp_path):
    result = fz.run_fazt(server.env, "new", "--help")
    assert result.returncode == 0
    for template in TEMPLATES:
        assert template in result.stdout
    result = fz.run_fazt(server.env, "new", str(tmp_path / "x"), "--template", "rails")
    assert result.returncode == 2 and "invalid choice: 'rails'" in result.stderr
    assert not (tmp_path / "x").exists()
