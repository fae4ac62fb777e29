"""Every page of the dashboard, on a server with data in it, at desktop and phone widths.

Fails on any console error, uncaught exception, failed request, HTTP error or CSP violation;
on text that leaks "undefined", "NaN" or a traceback; and on a phone page wider than the phone.
Saves screenshots of the overview and a site's page under tests/artifacts/, and checks the
first load's transferred bytes (a size, not a time: timing is for bench/dashboard.py).
"""

from __future__ import annotations

import json
import time

import pytest

APP_JS = """
const n = db.incr("hits:" + req.path, 1);
db.set("last", {path: req.path, at: n});
console.log("hit " + req.path + " #" + n);
if (n > 2) console.warn("busy path " + req.path);
res.send("ok " + n);
"""
PAGES = [
    ("/", "Overview"), ("/sites", "Sites"), ("/sites/blog", "blog"), ("/sites/blog/files", "blog"),
    ("/sites/app/env", "app"), ("/sites/app/kv", "app"), ("/sites/app/logs", "app"), ("/sites/blog/analytics", "blog"),
    ("/keys", "API keys"), ("/redirects", "Redirects"), ("/webhooks", "Webhooks"), ("/audit", "Audit log"),
    ("/certificates", "Certificates"), ("/system", "System"), ("/no/such/page", "Not found"),
]
PHONE = {"width": 390, "height": 844}
FIRST_LOAD_BUDGET = 150 * 1024
LEAKS = ("undefined", "NaN", "[object Object]", "Traceback", "null")


@pytest.fixture(scope="module")
def seeded(server, token, helpers):
    """Two sites (one an app with KV data and logs), an env var, a redirect, a webhook, views."""
    helpers.deploy(server, token, "blog", {"index.html": "<h1>Blog</h1>", "about.html": "<p>About</p>"})
    helpers.deploy(server, token, "blog", {"index.html": "<h1>Blog 2</h1>", "about.html": "<p>About</p>",
                                           "style.css": "h1{color:red}" * 50, "notes/readme.txt": "plain text"})
    helpers.deploy(server, token, "app", {"main.js": APP_JS})
    for path in ("/", "/a", "/a", "/a", "/b/c"):
        helpers.api(server, "GET", path, token, host="app.localhost")
    for path, referrer in (("/", "https://news.example/"), ("/about", None), ("/", None)):
        headers = {"Host": "blog.localhost", **({"Referer": referrer} if referrer else {})}
        server.get(f"http://127.0.0.1:{server.port}{path}", headers)
    for method, path, body in (
        ("PUT", "/api/sites/app/env/API_KEY", {"value": "s3cret"}),
        ("POST", "/api/redirects", {"slug": "gh", "destination": "https://github.com/", "tags": ["social"]}),
        ("POST", "/api/webhooks", {"name": "deploy hook", "endpoint": "deploys", "secret": "x"}),
    ):
        status, answer = helpers.api(server, method, path, token, json.dumps(body).encode())
        assert status in (200, 201), answer
    time.sleep(0.5)  # the analytics buffer flushes every 0.2 s in these tests
    return True


def settled(page) -> None:
    """Wait until the page's sections have loaded (no "Loading…" left, live logs connected)."""
    page.wait_for_function("() => document.querySelector('main h1') &&"
                           " !document.querySelector('main').innerText.includes('Loading…')")
    if page.query_selector("ol.log"):
        page.wait_for_selector("#stream-state:text-is('Live')")


BACKGROUND = {"light": "rgb(255, 255, 255)", "dark": "rgb(13, 17, 23)"}


def visit_all(browser, server, helpers, viewport: dict, label: str) -> list[str]:
    context, page = helpers.new_page(browser, **viewport)
    watch = helpers.PageWatch(page)
    helpers.login(page, server)
    settled(page)  # the overview login lands on: leaving it mid-load aborts its requests (the watch reports them)
    problems = []
    # The theme follows the system's: the phone run asks for dark, the desktop one for light.
    scheme = viewport.get("color_scheme", "light")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == BACKGROUND[scheme]
    for path, heading in PAGES:
        page.goto(server.base + path)
        settled(page)
        assert heading in page.inner_text("main h1"), (path, page.inner_text("main h1"))
        text = page.inner_text("main")
        problems += [f"{label} {path}: shows {leak!r}" for leak in LEAKS if leak in text]
        if viewport["width"] < 500:
            width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
            if width[0] > width[1] + 1:
                problems.append(f"{label} {path}: {width[0]} px wide on a {width[1]} px screen")
        if path in ("/", "/sites/blog"):
            helpers.screenshot(page, f"{'overview' if path == '/' else 'site-detail'}-{label}")
        elif label == "desktop":  # the rest too, for review (tests/artifacts/ is not committed)
            helpers.screenshot(page, "page" + path.replace("/", "-"))
    problems += [f"{label}: {p}" for p in watch.problems]
    context.close()
    return problems


def test_every_page_desktop(server, browser, helpers, seeded):
    assert visit_all(browser, server, helpers, {"width": 1280, "height": 860, "color_scheme": "light"}, "desktop") == []
    assert (helpers.ARTIFACTS / "overview-desktop.png").stat().st_size > 10_000


def test_every_page_phone(server, browser, helpers, seeded):
    assert visit_all(browser, server, helpers, {**PHONE, "is_mobile": True, "has_touch": True, "color_scheme": "dark"},
                     "phone") == []
    assert (helpers.ARTIFACTS / "site-detail-phone.png").exists()


def test_first_load_is_small(server, browser, helpers, seeded):
    """Everything the overview needs (shell, styles, modules, API answers) in under 150 KB on the wire."""
    context, page = helpers.new_page(browser)
    login = context.request.post(server.base + "/api/login", data={"username": "admin", "password": helpers.PASSWORD})
    assert login.ok
    responses = []
    page.on("requestfinished", lambda request: responses.append(request))
    page.goto(server.base + "/")
    settled(page)
    sizes = [r.sizes() for r in responses]
    total = sum(s["responseBodySize"] + s["responseHeadersSize"] for s in sizes)
    assert any(r.url.endswith("/js/app.js") for r in responses)
    print(f"first load: {len(responses)} requests, {total} bytes on the wire")
    assert 0 < total < FIRST_LOAD_BUDGET, total
    context.close()


def test_keyboard_only(server, browser, helpers, seeded):
    """Focus follows navigation; Tab reaches the skip link and the header; arrow keys move
    between a site's tabs; a file opens from the keyboard."""
    context, page = helpers.new_page(browser)
    helpers.login(page, server)
    page.goto(server.base + "/sites/blog")
    settled(page)
    # After a navigation focus is on the page's content, so Tab goes into it.
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Sites"
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.id") == "logout"  # the header comes before
    page.focus(".skip")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "brand"
    page.focus(".skip")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.focus("button[role=tab][aria-selected=true]")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.textContent") == "Files"
    page.keyboard.press("Enter")
    page.wait_for_url("**/sites/blog/files")
    page.wait_for_selector("button.mono:text-is('notes/')").focus()
    page.keyboard.press("Enter")  # into the folder
    page.wait_for_selector("button.mono:text-is('readme.txt')").focus()
    page.keyboard.press("Enter")
    assert page.wait_for_selector("pre.viewer").inner_text() == "plain text"
    context.close()


def test_kv_browser(server, browser, helpers, seeded, token):
    """Keys listed by prefix, one value viewed whole, one key deleted."""
    context, page = helpers.new_page(browser)
    helpers.login(page, server)
    page.goto(server.base + "/sites/app/kv")
    settled(page)
    assert len(page.query_selector_all("button[data-delete]")) == 4  # hits:/, hits:/a, hits:/b/c, last
    page.fill("input[name=prefix]", "hits:/")
    page.click("button[type=submit]:has-text('List')")
    page.wait_for_function("() => document.querySelectorAll('button[data-delete]').length === 3")
    page.click("button.mono:text-is('hits:/a')")
    assert page.wait_for_selector("pre.viewer").inner_text() == "3"
    page.click("button[data-delete='hits:/a']")
    page.wait_for_selector("button[data-delete='hits:/a']", state="detached")
    status, _ = helpers.api(server, "GET", "/api/sites/app/kv/hits:/a", token)
    assert status == 404
    context.close()


def test_site_analytics(server, browser, helpers, seeded):
    """Views per day as SVG bars (one per day of the period), top paths and referrers."""
    context, page = helpers.new_page(browser)
    helpers.login(page, server)
    page.goto(server.base + "/sites/blog/analytics")
    settled(page)
    assert len(page.query_selector_all("svg.chart rect.views")) == 30
    assert page.inner_text(".card:has(h2:text-is('Views')) .stat") == "3"
    assert "/about" in page.inner_text(".card:has(h2:text-is('Top paths'))")
    assert "https://news.example/" in page.inner_text(".card:has(h2:text-is('Top referrers'))")
    page.select_option("select[name=days]", "7")
    page.wait_for_function("() => document.querySelectorAll('svg.chart rect.views').length === 7")
    context.close()
