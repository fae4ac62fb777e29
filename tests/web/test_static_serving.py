"""Static hosting as a visitor sees it (SPEC §5), against a live server on a real socket."""

from __future__ import annotations

import gzip

import brotli
import pytest_twisted

SITE = {
    "index.html": "<h1>home</h1>",
    "about.html": "<h1>about</h1>",
    "docs/index.html": "<h1>docs</h1>",
    "css/site.css": "body { color: red; }\n" * 200,
    "app.3f9a1c2b.js": "console.log('fingerprinted');\n" * 50,
    "data.bin": bytes(range(256)) * 8,
    "404.html": "<h1>custom missing page</h1>",
}


async def deployed(server, files=SITE, site="blog"):
    response = await server.deploy(site, files)
    assert response.code == 200, response.body
    return response.json()["data"]


@pytest_twisted.ensureDeferred
async def test_index_and_clean_urls(server):
    await deployed(server)
    host = "blog.example.test"
    assert (await server.get("/", host)).body == b"<h1>home</h1>"
    assert (await server.get("/index.html", host)).body == b"<h1>home</h1>"
    assert (await server.get("/about", host)).body == b"<h1>about</h1>"
    assert (await server.get("/docs", host)).body == b"<h1>docs</h1>"
    assert (await server.get("/docs/", host)).body == b"<h1>docs</h1>"
    page = await server.get("/about", host)
    assert page.header("content-type") == "text/html; charset=utf-8"
    assert page.header("x-content-type-options") == "nosniff"
    assert page.header("cache-control") == "no-cache"
    assert page.header("content-security-policy") is None


@pytest_twisted.ensureDeferred
async def test_missing_path_serves_the_sites_404_page_with_404(server):
    await deployed(server)
    missing = await server.get("/no/such/page", "blog.example.test")
    assert missing.code == 404
    assert missing.body == b"<h1>custom missing page</h1>"


@pytest_twisted.ensureDeferred
async def test_site_without_404_page_falls_back_to_the_global_one(server):
    await deployed(server, {"index.html": "hi"}, site="plain")
    missing = await server.get("/nope", "plain.example.test")
    assert missing.code == 404
    assert b"404" in missing.body


@pytest_twisted.ensureDeferred
async def test_unknown_site_and_unknown_host_get_404(server):
    for host in ("ghost.example.test", "elsewhere.org", "a.b.example.test"):
        response = await server.get("/", host)
        assert response.code == 404, host
        assert b"Not Found" in response.body


@pytest_twisted.ensureDeferred
async def test_health_answers_on_every_host(server):
    for host in ("example.test", "admin.example.test", "ghost.example.test", "elsewhere.org"):
        response = await server.get("/health", host)
        assert (response.code, response.body) == (200, b"OK")


@pytest_twisted.ensureDeferred
async def test_root_site_is_served_on_the_bare_domain(server):
    for host in ("example.test", "root.example.test", "EXAMPLE.TEST:443", "root.localhost"):
        response = await server.get("/", host)
        assert response.code == 200, host
        assert b"fazt is running" in response.body


@pytest_twisted.ensureDeferred
async def test_etag_and_if_none_match_give_304(server):
    await deployed(server)
    first = await server.get("/css/site.css", "blog.example.test")
    etag = first.header("etag")
    assert etag and etag.startswith('"')
    again = await server.get("/css/site.css", "blog.example.test", If_None_Match=etag)
    assert again.code == 304
    assert again.body == b""
    assert again.header("content-length") is None
    assert again.header("etag") == etag
    weak = await server.get("/css/site.css", "blog.example.test", If_None_Match=f"W/{etag}, \"other\"")
    assert weak.code == 304
    changed = await server.get("/css/site.css", "blog.example.test", If_None_Match='"something-else"')
    assert changed.code == 200


@pytest_twisted.ensureDeferred
async def test_last_modified_and_if_modified_since(server):
    await deployed(server)
    first = await server.get("/data.bin", "blog.example.test")
    last_modified = first.header("last-modified")
    assert last_modified.endswith("GMT")
    again = await server.get("/data.bin", "blog.example.test", If_Modified_Since=last_modified)
    assert again.code == 304
    old = await server.get("/data.bin", "blog.example.test", If_Modified_Since="Mon, 01 Jan 2001 00:00:00 GMT")
    assert old.code == 200 and len(old.body) == 2048


@pytest_twisted.ensureDeferred
async def test_range_requests(server):
    await deployed(server)
    data = bytes(range(256)) * 8
    part = await server.get("/data.bin", "blog.example.test", Range="bytes=10-19")
    assert part.code == 206
    assert part.body == data[10:20]
    assert part.header("content-range") == "bytes 10-19/2048"
    tail = await server.get("/data.bin", "blog.example.test", Range="bytes=-5")
    assert (tail.code, tail.body) == (206, data[-5:])
    beyond = await server.get("/data.bin", "blog.example.test", Range="bytes=5000-")
    assert beyond.code == 416
    assert beyond.header("content-range") == "bytes */2048"
    several = await server.get("/data.bin", "blog.example.test", Range="bytes=0-1,5-6")
    assert several.code == 200 and several.body == data


@pytest_twisted.ensureDeferred
async def test_gzip_and_brotli_negotiated_with_vary(server):
    await deployed(server)
    css = SITE["css/site.css"].encode()
    plain = await server.get("/css/site.css", "blog.example.test")
    assert plain.body == css
    assert plain.header("content-encoding") is None
    assert plain.header("vary") == "Accept-Encoding"
    assert plain.header("content-type") == "text/css; charset=utf-8"
    gz = await server.get("/css/site.css", "blog.example.test", Accept_Encoding="gzip")
    assert gz.header("content-encoding") == "gzip"
    assert gzip.decompress(gz.body) == css
    assert gz.header("etag") != plain.header("etag")
    br = await server.get("/css/site.css", "blog.example.test", Accept_Encoding="gzip, br")
    assert br.header("content-encoding") == "br"
    assert brotli.decompress(br.body) == css
    binary = await server.get("/data.bin", "blog.example.test", Accept_Encoding="gzip")
    assert binary.header("content-encoding") is None
    assert binary.header("vary") is None


@pytest_twisted.ensureDeferred
async def test_cache_control_for_fingerprinted_assets(server):
    await deployed(server)
    asset = await server.get("/app.3f9a1c2b.js", "blog.example.test")
    assert asset.header("cache-control") == "public, max-age=31536000, immutable"
    css = await server.get("/css/site.css", "blog.example.test")
    assert "max-age" in css.header("cache-control") and "immutable" not in css.header("cache-control")


@pytest_twisted.ensureDeferred
async def test_head_has_headers_and_no_body(server):
    await deployed(server)
    head = await server.request("HEAD", "/data.bin", "blog.example.test")
    assert head.code == 200
    assert head.body == b""
    assert head.header("content-length") == "2048"
    assert head.header("etag")


@pytest_twisted.ensureDeferred
async def test_other_methods_get_405_with_allow(server):
    await deployed(server)
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        response = await server.request(method, "/", "blog.example.test", body=b"x")
        assert response.code == 405, method
        assert response.header("allow") == "GET, HEAD"


@pytest_twisted.ensureDeferred
async def test_redirects_file_with_splat_and_301(server):
    await deployed(server, {
        "index.html": "home",
        "articles/hello.html": "hello article",
        "_redirects": "# moved things\n/blog/* /articles/:splat 301\n/old /index.html 302\n"
                      "/news/:year/:slug /articles/:slug 308\n/shadowed /nowhere 301\n",
        "shadowed.html": "still here",
    })
    host = "blog.example.test"
    moved = await server.get("/blog/hello?x=1", host)
    assert moved.code == 301
    assert moved.header("location") == "/articles/hello?x=1"
    assert (await server.get("/old", host)).code == 302
    news = await server.get("/news/2024/hello", host)
    assert (news.code, news.header("location")) == (308, "/articles/hello")
    followed = await server.get("/articles/hello", host)
    assert followed.body == b"hello article"
    # A rule without '!' does not shadow an existing file (Netlify's rule).
    shadowed = await server.get("/shadowed", host)
    assert (shadowed.code, shadowed.body) == (200, b"still here")
    # The rules file itself is never served.
    assert (await server.get("/_redirects", host)).code == 404


@pytest_twisted.ensureDeferred
async def test_forced_rule_and_rewrite(server):
    await deployed(server, {
        "index.html": "home",
        "shadowed.html": "old content",
        "real.html": "the real page",
        "_redirects": "/shadowed /real 200!\n/alias /real 200\n",
    })
    assert (await server.get("/shadowed", "blog.example.test")).body == b"the real page"
    alias = await server.get("/alias", "blog.example.test")
    assert (alias.code, alias.body) == (200, b"the real page")


@pytest_twisted.ensureDeferred
async def test_spa_fallback(server):
    await deployed(server, {
        "index.html": "<div id=app></div>",
        "assets/app.js": "app()",
        "_redirects": "/* /index.html 200\n",
    })
    host = "blog.example.test"
    route = await server.get("/users/42/settings", host)
    assert (route.code, route.body) == (200, b"<div id=app></div>")
    asset = await server.get("/assets/app.js", host)
    assert asset.body == b"app()"


@pytest_twisted.ensureDeferred
async def test_headers_file(server):
    await deployed(server, {
        "index.html": "home",
        "secret/page.html": "x",
        "_headers": "/*\n  X-Site: blog\n/secret/*\n  X-Robots-Tag: noindex\n  Cache-Control: private\n",
    })
    home = await server.get("/", "blog.example.test")
    assert home.header("x-site") == "blog"
    assert home.header("x-robots-tag") is None
    page = await server.get("/secret/page", "blog.example.test")
    assert page.header("x-robots-tag") == "noindex"
    assert page.header("cache-control") == "private"
    assert (await server.get("/_headers", "blog.example.test")).code == 404


@pytest_twisted.ensureDeferred
async def test_path_traversal_stays_inside_the_site(server):
    await deployed(server)
    for path in ("/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/docs/../about", "/%00"):
        response = await server.get(path, "blog.example.test")
        assert response.code in (200, 404), path
        assert b"root:" not in response.body
    assert (await server.get("/docs/../about", "blog.example.test")).body == b"<h1>about</h1>"


@pytest_twisted.ensureDeferred
async def test_health_refuses_other_methods_with_405(server):
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        response = await server.request(method, "/health", "example.test", body=b"")
        assert (response.code, response.header("allow")) == (405, "GET, HEAD"), method
