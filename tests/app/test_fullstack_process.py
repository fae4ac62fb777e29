"""Full-stack sites (SPEC §14) as a user makes them: a real folder of static files and api/ functions,
deployed with the real CLI to a real twistd, exercised over HTTP on 127.0.0.1."""

from __future__ import annotations

import hashlib
import http.client
import json
import sqlite3

import pytest
from urllib3 import encode_multipart_formdata

SITE = "shop"
HOST = f"{SITE}.example.test"

STATIC = {
    "index.html": "<h1>home</h1>",
    "about.html": "<h1>about</h1>",
    "404.html": "<h1>lost</h1>",
    "_redirects": "/go/:what /api/echo/:what 200\n/old /about 301\n",
}
FUNCTIONS = {
    "api/hello.js": "export default function (request, ctx) { return new Response('hello ' + request.method); }\n",
    "api/index.js": "export default () => new Response('api index');\n",
    "api/users/[id].js": (
        "export function GET(request, ctx) { return Response.json({ id: ctx.params.id }); }\n"
        "export function DELETE(request, ctx) { return new Response(null, { status: 204 }); }\n"
    ),
    "api/users/me.js": "export function GET() { return new Response('me'); }\n",
    "api/files/[...path].js": "export default (request, ctx) => Response.json({ path: ctx.params.path });\n",
    "api/main.js": "export default (request) => new Response('catch-all ' + new URL(request.url).pathname);\n",
    "api/_shared.js": "export const greeting = 'hi';\n",
    "api/_lib/twice.js": "export function twice(x) { return x * 2; }\n",
    "api/echo/[what].js": (
        "import { greeting } from '../_shared.js';\n"
        "import { twice } from '../_lib/twice.js';\n"
        "export async function GET(request, ctx) {\n"
        "  return Response.json({ greeting, what: ctx.params.what, twice: twice(2), url: request.url });\n"
        "}\n"
    ),
    "api/bytes.js": (
        "export async function POST(request) {\n"
        "  const data = new Uint8Array(await request.arrayBuffer());\n"
        "  return new Response(data, { headers: { 'content-type': 'application/octet-stream' } });\n"
        "}\n"
    ),
    "api/upload.js": (
        "export async function POST(request) {\n"
        "  const form = await request.formData();\n"
        "  const file = form.get('upload');\n"
        "  const bytes = await file.arrayBuffer();\n"
        "  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));\n"
        "  const sha256 = [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');\n"
        "  return Response.json({ sha256, size: file.size, read: bytes.byteLength, name: file.name,\n"
        "                         type: file.type, note: form.get('note'), keys: [...form.keys()] });\n"
        "}\n"
    ),
    "api/env.js": "export default (request, ctx) => Response.json({ greeting: ctx.env.GREETING, site: ctx.site });\n",
    "api/worker.js": "export default { fetch(request, env, ctx) { return Response.json({ form: 'workers', greeting: env.GREETING }); } };\n",
    "api/late.js": (
        "export default (request, ctx) => {\n"
        "  ctx.waitUntil(new Promise((done) => setTimeout(() => { console.log('late line'); done(); }, 50)));\n"
        "  return new Response('early');\n"
        "};\n"
    ),
    "api/pkg.js": "import greet from 'greet';\nexport default () => new Response(greet('npm'));\n",
    "node_modules/greet/package.json": json.dumps({"name": "greet", "version": "1.0.0", "main": "lib/index.js"}),
    "node_modules/greet/lib/index.js": "module.exports = function greet(name) { return 'hello ' + name; };\n",
}


def call(server, method: str, path: str, body: bytes = b"", headers: dict | None = None, host: str = HOST):
    """One request over a real socket; (status, headers as a lowercase dict, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=15)
    try:
        conn.request(method, path, body=body or None, headers={"Host": host, **(headers or {})})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def shop(module_twistd, fz):
    """A server (trusting 127.0.0.1 as a proxy) with the full-stack site deployed by `fazt deploy`.

    One for the module: its tests only read the site (the refused deploys leave it as it was, which
    they check), so one start and deploy serves them all.
    """
    cli_env = module_twistd.env
    server = module_twistd.start(args=("--trusted-proxy", "127.0.0.1/32"))
    token = fz.create_token(cli_env, server.db)
    folder = fz.write_tree(module_twistd.workdir / "shop", {**STATIC, **FUNCTIONS})
    deployed = fz.cli_deploy(cli_env, server, token, folder, site=SITE)
    assert deployed.returncode == 0, deployed.stderr
    set_env = fz.run_fazt(cli_env, "env", "set", SITE, "GREETING", "bonjour", "--server", server.url,
                          "--token", token)
    assert set_env.returncode == 0, set_env.stderr
    server.token = token
    return server


def test_static_files_and_functions_share_the_site(shop):
    assert call(shop, "GET", "/")[::2] == (200, b"<h1>home</h1>")
    assert call(shop, "GET", "/about")[::2] == (200, b"<h1>about</h1>")
    assert call(shop, "GET", "/missing")[::2] == (404, b"<h1>lost</h1>")
    status, headers, _ = call(shop, "GET", "/old")
    assert (status, headers["location"]) == (301, "/about")
    assert call(shop, "GET", "/api/hello")[::2] == (200, b"hello GET")
    assert call(shop, "POST", "/api/hello", b"x")[::2] == (200, b"hello POST")
    assert call(shop, "GET", "/api")[::2] == (200, b"api index")


def test_routes_params_rest_and_the_main_js_catch_all(shop):
    assert json.loads(call(shop, "GET", "/api/users/42")[2]) == {"id": "42"}
    assert json.loads(call(shop, "GET", "/api/users/a%20b")[2]) == {"id": "a b"}
    assert call(shop, "GET", "/api/users/me")[::2] == (200, b"me")  # a static segment beats [id]
    assert json.loads(call(shop, "GET", "/api/files/a/b.png")[2]) == {"path": "a/b.png"}
    assert call(shop, "GET", "/api/nothing/here")[::2] == (200, b"catch-all /api/nothing/here")
    # `_` files and folders are shared code, not routes: the catch-all answers for them.
    assert call(shop, "GET", "/api/_shared")[::2] == (200, b"catch-all /api/_shared")
    assert call(shop, "GET", "/api/_lib/twice")[::2] == (200, b"catch-all /api/_lib/twice")


def test_code_and_packages_are_never_served_as_files(shop):
    for path in ("/api/hello.js", "/api/_shared.js", "/node_modules/greet/lib/index.js",
                 "/node_modules/greet/package.json"):
        status, _, body = call(shop, "GET", path)
        assert b"export" not in body and b"module.exports" not in body and b'"main"' not in body, path
    assert call(shop, "GET", "/node_modules/greet/package.json")[::2] == (404, b"<h1>lost</h1>")


def test_methods_head_and_405_with_allow(shop):
    status, headers, body = call(shop, "PUT", "/api/users/42", b"{}")
    assert status == 405
    assert {m.strip() for m in headers["allow"].split(",")} == {"GET", "HEAD", "DELETE"}
    assert json.loads(body)["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert call(shop, "DELETE", "/api/users/42")[0] == 204
    status, headers, body = call(shop, "HEAD", "/api/users/42")
    assert (status, body) == (200, b"")
    assert headers["content-type"].startswith("application/json")


def test_a_rewrite_runs_the_function_it_targets_with_imports(shop):
    status, _, body = call(shop, "GET", "/go/shoes")
    assert status == 200
    answer = json.loads(body)
    assert answer["greeting"] == "hi" and answer["what"] == "shoes" and answer["twice"] == 4
    assert answer["url"] == f"http://{HOST}/go/shoes"


def test_the_url_has_the_scheme_a_trusted_proxy_reports(shop):
    _, _, body = call(shop, "GET", "/api/echo/x", headers={"X-Forwarded-Proto": "https"})
    assert json.loads(body)["url"] == f"https://{HOST}/api/echo/x"


def test_binary_bodies_arrive_and_leave_byte_exact(shop):
    data = bytes(range(256)) * 4
    status, headers, body = call(shop, "POST", "/api/bytes", data, {"Content-Type": "application/octet-stream"})
    assert (status, headers["content-type"], body) == (200, "application/octet-stream", data)


def test_ctx_env_the_workers_form_and_an_npm_package(shop):
    assert json.loads(call(shop, "GET", "/api/env")[2]) == {"greeting": "bonjour", "site": SITE}
    assert json.loads(call(shop, "GET", "/api/worker")[2]) == {"form": "workers", "greeting": "bonjour"}
    assert call(shop, "GET", "/api/pkg")[::2] == (200, b"hello npm")


def test_lines_logged_after_the_response_reach_the_sites_log(shop, fz):
    assert call(shop, "GET", "/api/late")[::2] == (200, b"early")

    def logged():
        conn = sqlite3.connect(shop.db)
        try:
            return conn.execute("SELECT level FROM site_logs WHERE site_name = ? AND message = 'late line'",
                                (SITE,)).fetchall()
        finally:
            conn.close()

    assert fz.wait_for(logged, "the late log line", shop, timeout=15) == [("info",)]


@pytest.mark.parametrize("broken, where", [
    ({"api/broken.js": "export default function () {\n  return new Response('x');\n  let = ;\n}\n"},
     "api/broken.js:3"),
    ({"api/lost.js": "import { nothing } from './_missing.js';\nexport default () => new Response(nothing);\n"},
     "api/lost.js"),
    ({"api/lost.js": "import zod from 'zod';\nexport default () => new Response('x');\n"}, "api/lost.js"),
])
def test_a_deploy_whose_code_does_not_compile_is_refused_and_nothing_switches(shop, tmp_path, cli_env, fz,
                                                                                broken, where):
    folder = fz.write_tree(tmp_path / "broken", {**STATIC, **FUNCTIONS, **broken, "index.html": "<h1>new</h1>"})
    refused = fz.cli_deploy(cli_env, shop, shop.token, folder, site=SITE)
    assert refused.returncode == 1
    assert where in refused.stderr and "does not compile" in refused.stderr
    status, body = fz.upload_zip(shop.port, shop.token, SITE, fz.make_zip(
        {name: text.encode() for name, text in {**FUNCTIONS, **broken}.items()}))
    error = json.loads(body)["error"]
    assert (status, error["code"], error["details"]["file"]) == (400, "INVALID_SCRIPT", where.split(":")[0])
    if ":" in where:
        assert error["details"]["line"] == int(where.split(":")[1])
    # The previous deployment still serves, files and functions alike.
    assert call(shop, "GET", "/")[::2] == (200, b"<h1>home</h1>")
    assert call(shop, "GET", "/api/hello")[::2] == (200, b"hello GET")


def test_a_root_main_js_still_takes_every_path_and_is_checked_at_deploy(tmp_path, twistd, cli_env, fz):
    server = twistd.start()
    token = fz.create_token(cli_env, server.db)
    app = {"index.html": "<h1>static</h1>", "api/hello.js": "export default () => new Response('fn');",
           "main.js": 'res.send("script " + req.method + " " + req.path)'}
    deployed = fz.cli_deploy(cli_env, server, token, fz.write_tree(tmp_path / "app", app), site="app")
    assert deployed.returncode == 0, deployed.stderr
    host = "app.example.test"
    assert call(server, "GET", "/", host=host)[::2] == (200, b"script GET /")
    assert call(server, "GET", "/api/hello", host=host)[::2] == (200, b"script GET /api/hello")
    assert call(server, "POST", "/index.html", b"x", host=host)[::2] == (200, b"script POST /index.html")
    broken = {**app, "main.js": 'res.send("a");\nlet x = ;\n'}
    refused = fz.cli_deploy(cli_env, server, token, fz.write_tree(tmp_path / "broken", broken), site="app")
    assert refused.returncode == 1 and "main.js:2" in refused.stderr, refused.stderr
    assert call(server, "GET", "/", host=host)[::2] == (200, b"script GET /")


def test_a_multipart_upload_reaches_form_data_byte_exact(shop):
    boundary = "fazt7MA4YWxkTrZu0gW"
    # Every byte value, CR/LF runs, and lines that look like the boundary without being a delimiter
    # (which only CRLF "--" and the whole boundary make: an encoder never puts one in a part).
    data = (bytes(range(256)) * 16 + b"\r\n\r\n\r\r\n\n--\r\n" + f"\r\n--{boundary[:-1]}\r\n".encode()
            + f" --{boundary}--\r\n--{boundary[:-1]}--\r\n".encode() + b"\x00\r\n" + bytes(range(255, -1, -1)) * 16)
    body, content_type = encode_multipart_formdata(
        [("note", "Zo\u00eb & co\r\nline 2"), ("upload", ("d\u00e9mo.bin", data, "application/x-fazt-test"))],
        boundary=boundary)
    status, headers, raw = call(shop, "POST", "/api/upload", body, {"Content-Type": content_type})
    assert (status, headers["content-type"].split(";")[0]) == (200, "application/json"), raw
    assert json.loads(raw) == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "read": len(data),
                               "name": "d\u00e9mo.bin", "type": "application/x-fazt-test",
                               "note": "Zo\u00eb & co\r\nline 2", "keys": ["note", "upload"]}
