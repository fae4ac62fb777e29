"""The README's "JavaScript apps" examples, taken from README.md itself and run as a reader would: the files
written into a site folder, `npm install zod hono` there (from the registry), `fazt deploy` of the folder
unchanged, and the answers the README promises, over HTTP on 127.0.0.1."""

from __future__ import annotations

import http.client
import json
import re
import shutil
import subprocess

import pytest

DOMAIN = "example.test"


def readme_files(repo) -> dict[str, str]:
    """The README's JavaScript-apps code blocks that begin with a `// api/...js` comment, by path."""
    text = (repo / "README.md").read_text()
    section = text[text.index("### JavaScript apps"):text.index("### WebSockets")]
    files = {}
    for block in re.findall(r"```js\n(.*?)```", section, re.S):
        first = block.splitlines()[0]
        match = re.match(r"// (api/\S+\.js)", first)
        if match:
            files[match.group(1)] = block
    return files


@pytest.fixture(scope="module")
def node_modules(tmp_path_factory):
    """zod and hono installed with npm, once for this module; the folder holding node_modules/."""
    if shutil.which("npm") is None:
        pytest.fail("npm is needed (scripts/system-deps.sh installs it)")
    folder = tmp_path_factory.mktemp("npm")
    done = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--cache", str(folder / ".cache"),
                           "zod", "hono"], cwd=folder, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return folder


def call(port: int, site: str, method: str, path: str, body: object = None):
    """(status, lowercase headers, body bytes) of one request to SITE.example.test."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Host": f"{site}.{DOMAIN}", **({"Content-Type": "application/json"} if payload else {})}
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def answer(port: int, site: str, method: str, path: str, body: object = None):
    """(status, the JSON body parsed, or the raw body when it is not JSON)."""
    status, headers, raw = call(port, site, method, path, body)
    is_json = headers.get("content-type", "").startswith("application/json")
    return status, json.loads(raw) if is_json else raw


def deploy(fz, cli_env, server, token, tmp_path, node_modules, site: str, files: dict[str, str]) -> None:
    folder = fz.write_tree(tmp_path / site, {"index.html": "<h1>my app</h1>", **files})
    for name in ("node_modules", "package.json", "package-lock.json"):
        source = node_modules / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, folder / name)
    deployed = fz.cli_deploy(cli_env, server, token, folder, site=site)
    assert deployed.returncode == 0, deployed.stderr


def test_the_readme_examples_answer_as_the_readme_says(twistd, fz, cli_env, tmp_path, node_modules):
    files = readme_files(fz.REPO)
    assert set(files) == {"api/users/[id].js", "api/_lib/text.js", "api/slug.js", "api/signup.js", "api/main.js"}
    server = twistd.start()
    token = fz.create_token(cli_env, server.db)
    # The Hono app claims every /api/* path, so it gets a site of its own, as in the README.
    deploy(fz, cli_env, server, token, tmp_path, node_modules, "my-app",
           {name: text for name, text in files.items() if name != "api/main.js"})
    deploy(fz, cli_env, server, token, tmp_path, node_modules, "hono", {"api/main.js": files["api/main.js"]})
    port = server.port

    assert call(port, "my-app", "GET", "/")[::2] == (200, b"<h1>my app</h1>")
    assert answer(port, "my-app", "GET", "/api/users/42?fields=name") == (200, {"id": "42", "fields": "name"})
    assert answer(port, "my-app", "POST", "/api/users/42", {"name": "Ada"}) == (201, {"id": "42", "name": "Ada"})
    status, headers, _ = call(port, "my-app", "PUT", "/api/users/42", {})
    assert status == 405 and {m.strip() for m in headers["allow"].split(",")} == {"GET", "HEAD", "POST"}
    assert answer(port, "my-app", "GET", "/api/slug?title=Hello%20World") == (200, {"slug": "hello-world"})
    signup = {"email": "ada@example.com", "name": "Ada"}
    assert answer(port, "my-app", "POST", "/api/signup", signup) == (201, {"welcome": "Ada"})
    status, refused = answer(port, "my-app", "POST", "/api/signup", {"email": "not an address", "name": ""})
    assert status == 400 and {tuple(issue["path"]) for issue in refused["errors"]} == {("email",), ("name",)}
    for code in ("/api/_lib/text.js", "/api/slug.js"):  # code is never served as a file
        assert b"slugify" not in call(port, "my-app", "GET", code)[2], code
    assert call(port, "my-app", "GET", "/node_modules/zod/package.json")[0] == 404

    assert answer(port, "hono", "GET", "/api") == (200, {"hello": "world"})
    assert answer(port, "hono", "GET", "/api/users/7") == (200, {"id": "7"})
    assert answer(port, "hono", "POST", "/api/echo", {"a": [1, 2]}) == (200, {"a": [1, 2]})
    assert call(port, "hono", "GET", "/api/greeting")[::2] == (200, b"hi")
    set_env = fz.run_fazt(cli_env, "env", "set", "hono", "GREETING", "hello", "--server", server.url, "--token", token)
    assert set_env.returncode == 0, set_env.stderr
    assert call(port, "hono", "GET", "/api/greeting")[::2] == (200, b"hello")
