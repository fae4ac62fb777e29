"""Strings that come back from the API are shown as text on every page, never parsed as HTML.

Hostile markup goes into everything a user or a visitor controls (a file name, a KV key and
value, a console line, a redirect's destination and tags, a referrer, a webhook's name, an API
key's name, an env var's value); each page must show it as text and create no element from it.
The CSP would stop an inline handler anyway; this checks the layer beneath it.
"""

from __future__ import annotations

import json
import time
from urllib.parse import quote

import pytest

MARK = "xss-probe"
PAYLOAD = f'<img src=x class="{MARK}" onerror="window.__xss=1"><b class="{MARK}">b</b>'
APP_JS = f"""
db.set({json.dumps(PAYLOAD)}, {json.dumps(PAYLOAD)});
console.log({json.dumps(PAYLOAD)});
res.send("ok");
"""
PAGES = ["/", "/sites", "/sites/app", "/sites/app/files", "/sites/app/env", "/sites/app/kv", "/sites/app/logs",
         "/sites/app/analytics", "/sites/app/deploys", "/keys", "/redirects", "/webhooks", "/audit"]


@pytest.fixture(scope="module")
def hostile(server, token, helpers):
    helpers.deploy(server, token, "app", {"main.js": APP_JS, f"{PAYLOAD}.txt": "x"})
    helpers.api(server, "GET", "/", token, host="app.localhost")
    server.get(f"http://127.0.0.1:{server.port}/{quote(PAYLOAD)}",
               {"Host": "app.localhost", "Referer": f"https://ref.example/{PAYLOAD}", "User-Agent": PAYLOAD})
    for method, path, body in (
        ("PUT", "/api/sites/app/env/HOSTILE", {"value": PAYLOAD}),
        ("POST", "/api/redirects", {"slug": "x1", "destination": f"https://dest.example/{PAYLOAD}", "tags": [PAYLOAD[:60]]}),
        ("POST", "/api/webhooks", {"name": PAYLOAD, "endpoint": "hostile"}),
        ("POST", "/api/keys", {"name": PAYLOAD}),
    ):
        status, answer = helpers.api(server, method, path, token, json.dumps(body).encode())
        assert status in (200, 201), answer
    time.sleep(0.5)  # the analytics buffer flushes every 0.2 s in these tests
    return True


def test_api_strings_are_never_html(server, browser, helpers, hostile):
    context, page = helpers.new_page(browser)
    helpers.login(page, server)
    created, shown = [], []
    for path in PAGES:
        page.goto(server.base + path)
        page.wait_for_function("() => document.querySelector('main h1') &&"
                               " !document.querySelector('main').innerText.includes('Loading…')")
        page.wait_for_timeout(300)  # sections that load after the heading
        if page.evaluate(f"() => document.querySelectorAll('.{MARK}').length || window.__xss || 0"):
            created.append(path)
        if MARK in page.inner_text("main"):
            shown.append(path)
    context.close()
    assert created == []
    # ... and it was on the pages, as text
    assert {"/sites/app/files", "/sites/app/kv", "/sites/app/analytics", "/sites/app/logs", "/keys", "/redirects",
            "/webhooks"} <= set(shown), shown
