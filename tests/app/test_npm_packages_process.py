"""Real npm packages deployed unchanged (SPEC §14, issue 13): hono, zod, dayjs, nanoid and marked,
installed from the registry by `npm install` (tests/npm_testing.py, once per session), copied with
their node_modules/ as npm left them into a site folder whose api/ functions import them by their bare
names, deployed with the real `fazt deploy`, and answering over HTTP on 127.0.0.1."""

from __future__ import annotations

import http.client
import json

import pytest

from npm_testing import npm_packages  # noqa: F401  (session fixture: the real `npm install`)

SITE = "npm"
HOST = f"{SITE}.example.test"

FUNCTIONS = {
    # The catch-all: a Hono app under /api (the files below are more specific routes and win).
    "api/main.js": (
        "import { Hono } from 'hono';\n"
        "const app = new Hono().basePath('/api');\n"
        "app.get('/books/:id/pages/:page', (c) =>\n"
        "  c.json({ id: c.req.param('id'), page: Number(c.req.param('page')), q: c.req.query('q') ?? null }));\n"
        "app.post('/books', async (c) => c.json({ created: await c.req.json() }, 201));\n"
        "export default app;\n"
    ),
    "api/zod.js": (
        "import { z } from 'zod';\n"
        "const Signup = z.object({ email: z.string().email(), age: z.number().int().min(13) });\n"
        "export async function POST(request) {\n"
        "  const parsed = Signup.safeParse(await request.json());\n"
        "  if (!parsed.success) return Response.json({ issues: parsed.error.issues }, { status: 400 });\n"
        "  return Response.json({ welcome: parsed.data.email }, { status: 201 });\n"
        "}\n"
    ),
    "api/dayjs.js": (
        "import dayjs from 'dayjs';\n"
        "export default () => new Response(dayjs('2026-01-31').add(1, 'day').format('YYYY-MM-DD'));\n"
    ),
    "api/nanoid.js": "import { nanoid } from 'nanoid';\nexport default () => Response.json({ id: nanoid() });\n",
    "api/marked.js": (
        "import { marked } from 'marked';\n"
        "export default () => new Response(marked.parse('# hi'), { headers: { 'content-type': 'text/html' } });\n"
    ),
}


def call(server, method: str, path: str, body: object = None):
    """One request over a real socket; (status, lowercase headers, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=15)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Host": HOST, **({"Content-Type": "application/json"} if payload else {})}
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def answer(server, method: str, path: str, body: object = None):
    """(status, the JSON body parsed); the answer must be JSON."""
    status, headers, raw = call(server, method, path, body)
    assert headers.get("content-type", "").startswith("application/json"), (status, headers, raw)
    return status, json.loads(raw)


@pytest.fixture
def npm_site(tmp_path, twistd, cli_env, fz, npm_packages):  # noqa: F811
    """A server with the site deployed by `fazt deploy` from a folder holding npm's node_modules/."""
    server = twistd.start()
    token = fz.create_token(cli_env, server.db)
    folder = npm_packages.copy_to(tmp_path / SITE)
    fz.write_tree(folder, FUNCTIONS)
    assert {p.name for p in (folder / "node_modules").iterdir()} >= {"hono", "zod", "dayjs", "nanoid", "marked"}
    deployed = fz.cli_deploy(cli_env, server, token, folder, site=SITE)
    assert deployed.returncode == 0, deployed.stderr
    return server


def test_real_npm_packages_deployed_unchanged_answer_over_http(npm_site):
    # One test, one deployment: copying and uploading node_modules/ is most of its time.
    # Hono: route params, the query, JSON in and out, and its own 404.
    assert answer(npm_site, "GET", "/api/books/42/pages/7?q=intro") == (200, {"id": "42", "page": 7, "q": "intro"})
    assert answer(npm_site, "GET", "/api/books/a%20b/pages/1") == (200, {"id": "a b", "page": 1, "q": None})
    assert answer(npm_site, "POST", "/api/books", {"title": "Dune"}) == (201, {"created": {"title": "Dune"}})
    assert call(npm_site, "GET", "/api/no/such/route")[0] == 404

    # zod: 201 for a valid body, 400 with zod's own issues for an invalid one.
    assert answer(npm_site, "POST", "/api/zod", {"email": "ada@example.com", "age": 36}) == \
        (201, {"welcome": "ada@example.com"})
    status, refused = answer(npm_site, "POST", "/api/zod", {"email": "not an address", "age": 3})
    assert status == 400
    issues = {tuple(issue["path"]): issue for issue in refused["issues"]}
    assert set(issues) == {("email",), ("age",)}
    assert issues[("age",)]["code"] == "too_small" and all(i["message"] for i in issues.values())
    status, refused = answer(npm_site, "POST", "/api/zod", {"email": "ada@example.com"})
    assert status == 400 and [tuple(i["path"]) for i in refused["issues"]] == [("age",)]

    # dayjs (a CommonJS UMD build), nanoid (its browser build, on crypto.getRandomValues), marked.
    assert call(npm_site, "GET", "/api/dayjs")[::2] == (200, b"2026-02-01")
    ids = [answer(npm_site, "GET", "/api/nanoid")[1]["id"] for _ in range(2)]
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
    assert [len(i) for i in ids] == [21, 21] and all(set(i) <= alphabet for i in ids) and ids[0] != ids[1]
    status, headers, body = call(npm_site, "GET", "/api/marked")
    assert (status, headers["content-type"].split(";")[0], body.strip()) == (200, "text/html", b"<h1>hi</h1>")

    # The packages and the functions' code are never served as files.
    for path in ("/node_modules/hono/package.json", "/node_modules/zod/index.js", "/api/main.js"):
        status, _, body = call(npm_site, "GET", path)
        assert status == 404 and b"export" not in body and b'"version"' not in body, path
