"""What a site with code serves as files (SPEC §14): never its functions, packages or config."""

from __future__ import annotations

import pytest_twisted

HOST = "shop.example.test"


@pytest_twisted.ensureDeferred
async def test_api_and_node_modules_are_never_served_even_on_a_static_site(server):
    files = {"index.html": "<h1>home</h1>", "404.html": "<h1>lost</h1>", "api/data.json": '{"secret": 1}',
             "api/readme.txt": "secret", "node_modules/pkg/index.js": "secret()", "node_modules/pkg/package.json": "{}",
             "apis/data.json": '{"public": 1}', "lib/node_modules.txt": "public"}
    response = await server.deploy("shop", files)
    assert response.code == 200, response.body
    for path in ("/api/data.json", "/api/readme.txt", "/api/readme", "/node_modules/pkg/index.js",
                 "/node_modules/pkg/package.json", "/node_modules/pkg/", "/api/../node_modules/pkg/index.js"):
        page = await server.get(path, HOST)
        assert (page.code, page.body) == (404, b"<h1>lost</h1>"), path
    assert (await server.get("/apis/data.json", HOST)).body == b'{"public": 1}'
    assert (await server.get("/lib/node_modules.txt", HOST)).body == b"public"


@pytest_twisted.ensureDeferred
async def test_a_spa_fallback_never_answers_for_api_paths_nor_shows_function_sources(server):
    files = {"index.html": "<h1>app</h1>", "404.html": "<h1>lost</h1>",
             "_redirects": "/api/old /api/hello 301\n/* /index.html 200\n",
             "api/hello.js": "export default () => new Response('hi');"}
    response = await server.deploy("spa", files)
    assert response.code == 200, response.body
    for path in ("/api/hello.js", "/api/unknown", "/api/"):
        page = await server.get(path, "spa.example.test")
        assert (page.code, page.body) == (404, b"<h1>lost</h1>"), path
    moved = await server.get("/api/old", "spa.example.test")
    assert (moved.code, moved.header("location")) == (301, "/api/hello")
    page = await server.get("/dashboard/settings", "spa.example.test")
    assert (page.code, page.body) == (200, b"<h1>app</h1>")
