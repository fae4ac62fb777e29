"""The dashboard's files on the admin host: the shell for app routes, site caching rules, a
strict CSP, and nothing inline for that CSP to have to allow."""

from __future__ import annotations

import gzip
import json
import re
from html.parser import HTMLParser

import brotli
import pytest_twisted

from fazt.web.dashboard import load_assets


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


@pytest_twisted.ensureDeferred
async def test_shell_and_deep_links(server):
    for path in ("/", "/sites", "/sites/blog/logs", "/login?next=%2Fkeys"):
        page = await server.get(path)
        assert page.code == 200, path
        assert page.header("content-type") == "text/html; charset=utf-8"
        assert page.header("cache-control") == "no-cache"
        assert b'<script type="module" src="/js/app.js">' in page.body
    for host in ("localhost", "127.0.0.1", "admin.localhost"):
        assert (await server.get("/", host=host)).code == 200


@pytest_twisted.ensureDeferred
async def test_assets_follow_site_caching_rules(server):
    script = await server.get("/js/app.js", accept_encoding="br, gzip")
    assert script.code == 200
    assert script.header("content-type") == "text/javascript; charset=utf-8"
    assert script.header("content-encoding") == "br"
    assert script.header("vary") == "Accept-Encoding"
    assert script.header("cache-control") == "public, max-age=60"
    plain = await server.get("/js/app.js")
    assert brotli.decompress(script.body) == plain.body
    zipped = await server.get("/app.css", accept_encoding="gzip")
    assert gzip.decompress(zipped.body) == (await server.get("/app.css")).body
    again = await server.get("/js/app.js", accept_encoding="br", if_none_match=script.header("etag"))
    assert (again.code, again.body) == (304, b"")
    since = await server.get("/app.css", if_modified_since=plain.header("last-modified"))
    assert since.code == 304
    manifest = await server.get("/manifest.webmanifest")
    assert manifest.header("content-type").startswith("application/manifest+json")


@pytest_twisted.ensureDeferred
async def test_installable_app_manifest(server):
    """The PWA manifest the shell links to: a name, a start URL in scope, standalone, an icon."""
    shell = (await server.get("/")).body.decode()
    assert '<link rel="manifest" href="/manifest.webmanifest">' in shell
    manifest = json.loads((await server.get("/manifest.webmanifest")).body)
    assert manifest["name"] and manifest["short_name"]
    assert (manifest["start_url"], manifest["scope"], manifest["display"]) == ("/", "/", "standalone")
    for icon in manifest["icons"]:
        found = await server.get(icon["src"])
        assert (found.code, found.header("content-type")) == (200, "image/svg+xml; charset=utf-8")


@pytest_twisted.ensureDeferred
async def test_missing_files_and_methods(server):
    assert (await server.get("/js/nope.js")).code == 404
    assert (await server.get("/../../etc/passwd")).code in (400, 404)
    posted = await server.request("POST", "/", body=b"x")
    assert (posted.code, posted.header("allow")) == (405, "GET, HEAD")
    api = await server.get("/api/nope")
    assert api.header("content-type") == "application/json"


@pytest_twisted.ensureDeferred
async def test_strict_csp_on_the_admin_host_only(server):
    page = await server.get("/")
    csp = page.header("content-security-policy")
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in csp
    assert page.header("x-frame-options") == "DENY"
    assert page.header("x-content-type-options") == "nosniff"
    site = await server.get("/", host=f"root.{server.domain}")
    assert site.header("content-security-policy") is None


def test_nothing_inline_and_nothing_third_party():
    """What the CSP forbids is not in the files: inline scripts, styles, handlers, other origins."""
    assets = load_assets()
    parser = _Tags()
    parser.feed(assets["index.html"].bodies[None].decode())
    for tag, attrs in parser.tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        assert "style" not in attrs, tag
        assert tag != "style"
        if tag == "script":
            assert attrs.get("src", "").startswith("/"), attrs
    for path, asset in assets.items():
        text = asset.bodies[None].decode("utf-8")
        urls = re.findall(r"https?://[^\s'\"`)]+", text)
        # Only the SVG namespace name and placeholder text (example.com is reserved for examples).
        assert all(u.startswith(("http://www.w3.org/2000/svg", "https://example.com/")) for u in urls), (path, urls)
        if path.endswith(".js"):
            assert "innerHTML" not in text and "eval(" not in text, path
