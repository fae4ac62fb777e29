"""The public endpoints (/track, /pixel.gif, /r/{slug}, /webhook/{endpoint}) and pageviews,
against a live server: the original's shell flows, as tests (SPEC §10)."""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import time

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.task import Clock, deferLater

from fazt.web.public import TRANSPARENT_GIF, pageview_hook
from fazt_testing import assert_error, start_server, stop_server

FAST = ("--analytics-flush-seconds", "0.05")


@pytest.fixture
def live(tmp_path):
    """A server whose event buffer writes every 50 ms."""
    server = start_server(str(tmp_path / "data.db"), extra_args=FAST)
    yield server
    stop_server(server)


async def api(server, method: str, path: str, body=None):
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    if body is not None:
        headers["Content-Type"] = "application/json"
        body = json.dumps(body).encode()
    return await server.request(method, path, headers=headers, body=body)


async def events_where(server, query: str, count: int = 1, timeout: float = 5.0) -> list[dict]:
    """Poll /api/events?QUERY until C{count} events are there."""
    deadline = time.monotonic() + timeout
    while True:
        response = await api(server, "GET", f"/api/events?{query}")
        assert response.code == 200, response.body
        data = response.json()["data"]
        if len(data) >= count or time.monotonic() > deadline:
            return data
        await deferLater(reactor, 0.05, lambda: None)


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def assert_no_raw_ip(db: str) -> None:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT * FROM events").fetchall()
        assert rows
        for row in rows:
            assert not any("127.0.0.1" in str(value) for value in row), row
        config = conn.execute("SELECT * FROM config").fetchall()
        assert not any("127.0.0.1" in str(value) for row in config for value in row)
    finally:
        conn.close()


# -- /pixel.gif --------------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_pixel_serves_a_gif_and_records_an_event(live):
    response = await live.get("/pixel.gif?domain=news.example&tags=a,b,a&source=newsletter",
                               referer="https://x.example/page", user_agent="Mail/1.0")
    assert response.code == 200 and len(response.body) == 43 and response.body == TRANSPARENT_GIF
    assert response.body.startswith(b"GIF89a")
    assert response.header("content-type") == "image/gif"
    assert response.header("cache-control") == "no-cache, no-store, must-revalidate"
    assert response.header("pragma") == "no-cache" and response.header("expires") == "0"
    [event] = await events_where(live, "source_type=pixel")
    assert event["domain"] == "news.example" and event["event_type"] == "newsletter"
    assert event["tags"] == ["a", "b"] and event["referrer"] == "https://x.example/page"
    assert event["user_agent"] == "Mail/1.0" and len(event["visitor"]) == 16
    assert "ip_address" not in event


@pytest_twisted.ensureDeferred
async def test_pixel_domain_defaults_to_the_referer_then_unknown(live):
    await live.get("/pixel.gif", referer="https://shop.example:8443/x")
    await live.get("/pixel.gif")
    events = await events_where(live, "source_type=pixel", count=2)
    assert sorted(e["domain"] for e in events) == ["shop.example:8443", "unknown"]
    assert {e["event_type"] for e in events} == {"pixel"}


@pytest_twisted.ensureDeferred
async def test_pixel_methods(live):
    head = await live.request("HEAD", "/pixel.gif")
    assert head.code == 200 and head.header("content-type") == "image/gif" and head.body == b""
    post = await live.request("POST", "/pixel.gif", body=b"")
    assert_error(post, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in post.header("allow")


# -- /track ------------------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_track_records_the_beacon(live):
    beacon = {"h": "blog.example.test", "p": "/post/1", "e": "click", "t": ["cta", "hero"],
              "q": {"duration": "12"}, "ref": "https://search.example/?q=x"}
    response = await live.request("POST", "/track", headers={"Content-Type": "text/plain"},
                                  body=json.dumps(beacon).encode())
    assert response.code == 204 and response.body == b""
    assert response.header("access-control-allow-origin") == "*"
    [event] = await events_where(live, "source_type=web")
    assert event["domain"] == "blog.example.test" and event["path"] == "/post/1"
    assert event["event_type"] == "click" and event["tags"] == ["cta", "hero"]
    assert event["query_params"] == {"duration": "12"}
    assert event["referrer"] == "https://search.example/?q=x"


@pytest_twisted.ensureDeferred
async def test_track_domain_priority_and_defaults(live):
    for beacon, referer in (({"d": "override", "h": "host"}, None), ({"h": "host"}, None),
                            ({}, "https://from-referer.example/a"), ({}, None)):
        headers = {"Referer": referer} if referer else {}
        response = await live.request("POST", "/track", headers=headers, body=json.dumps(beacon).encode())
        assert response.code == 204
    events = await events_where(live, "source_type=web", count=4)
    assert sorted(e["domain"] for e in events) == ["from-referer.example", "host", "override", "unknown"]
    assert {e["event_type"] for e in events} == {"pageview"}


@pytest_twisted.ensureDeferred
async def test_track_cuts_long_fields(live):
    response = await live.request("POST", "/track", body=json.dumps({"d": " " + "d" * 900, "p": "p" * 900}).encode())
    assert response.code == 204
    [event] = await events_where(live, "source_type=web")
    assert event["domain"] == "d" * 500 and event["path"] == "p" * 500


@pytest_twisted.ensureDeferred
async def test_track_errors(live):
    assert_error(await live.request("POST", "/track", body=b"{not json"), 400, "INVALID_JSON")
    assert_error(await live.request("POST", "/track", body=b"[1, 2]"), 400, "INVALID_JSON")
    assert_error(await live.request("POST", "/track", body=b"\xff\xfe"), 400, "INVALID_JSON")
    assert_error(await live.request("POST", "/track", body=b"[" * 5000 + b"]" * 5000), 400, "INVALID_JSON")
    too_big = json.dumps({"p": "x" * 11000}).encode()
    assert_error(await live.request("POST", "/track", body=too_big), 413, "PAYLOAD_TOO_LARGE")
    for field, value in (("h", 5), ("d", ["x"]), ("p", {}), ("e", True), ("ref", 1.5), ("t", "tag"),
                         ("t", [1]), ("t", ["a,b"]), ("q", [1]), ("q", {"a": 1})):
        response = await live.request("POST", "/track", body=json.dumps({field: value}).encode())
        assert_error(response, 400, "VALIDATION_FAILED", field)
    wrong = await live.get("/track")
    assert_error(wrong, 405, "METHOD_NOT_ALLOWED")
    assert "POST" in wrong.header("allow")
    preflight = await live.request("OPTIONS", "/track")
    assert preflight.code == 204 and preflight.header("access-control-allow-methods") == "POST"
    assert (await api(live, "GET", "/api/events?source_type=web")).json()["meta"]["total"] == 0


# -- /r/{slug} ---------------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_redirect_flow_create_click_stats(live):
    created = await api(live, "POST", "/api/redirects",
                        {"slug": "docs", "destination": "https://example.org/docs?x=1", "tags": ["launch"]})
    assert created.code == 201, created.body
    click = await live.get("/r/docs?tags=mail", referer="https://mail.example/")
    assert click.code == 302 and click.header("location") == "https://example.org/docs?x=1"
    listing = (await api(live, "GET", "/api/redirects")).json()["data"]
    assert listing[0]["slug"] == "docs" and listing[0]["click_count"] == 1
    stats = (await api(live, "GET", "/api/stats")).json()["data"]
    assert stats["total_redirect_clicks"] == 1
    [event] = await events_where(live, "source_type=redirect")
    assert event["domain"] == "docs" and event["event_type"] == "click" and event["path"] == "/r/docs"
    assert event["tags"] == ["launch", "mail"]
    stats = (await api(live, "GET", "/api/stats")).json()["data"]
    assert stats["events_by_source_type"] == {"redirect": 1}
    assert stats["top_domains"] == [{"domain": "docs", "count": 1}]
    # HEAD (a link preview) is answered but not counted.
    head = await live.request("HEAD", "/r/docs")
    assert head.code == 302 and head.header("location") == "https://example.org/docs?x=1"
    assert (await api(live, "GET", "/api/redirects")).json()["data"][0]["click_count"] == 1


@pytest_twisted.ensureDeferred
async def test_unknown_redirects(live):
    for path in ("/r/nope", "/r/", "/r", "/r/a/b", "/r/%2e%2e", "/r/" + "x" * 65):
        assert_error(await live.get(path), 404, "REDIRECT_NOT_FOUND")
    assert_error(await live.request("POST", "/r/nope", body=b""), 405, "METHOD_NOT_ALLOWED")


# -- /webhook/{endpoint} -----------------------------------------------------------------------


async def make_webhook(server, **fields) -> dict:
    response = await api(server, "POST", "/api/webhooks", {"name": "GitHub", "endpoint": "gh", **fields})
    assert response.code == 201, response.body
    return response.json()["data"]


@pytest_twisted.ensureDeferred
async def test_webhook_without_a_secret(live):
    await make_webhook(live)
    body = json.dumps({"event": "push", "ref": "main"}).encode()
    response = await live.request("POST", "/webhook/gh", headers={"Content-Type": "application/json"}, body=body)
    assert response.code == 200
    assert response.json() == {"data": {"message": "Webhook received", "webhook": "GitHub"}}
    await live.request("POST", "/webhook/gh", body=json.dumps({"type": "ping"}).encode())
    await live.request("POST", "/webhook/gh", body=b"plain text, not JSON")
    events = await events_where(live, "source_type=webhook", count=3)
    by_type = {e["event_type"]: e for e in events}
    assert set(by_type) == {"push", "ping", "webhook"}
    assert by_type["push"]["query_params"] == {"event": "push", "ref": "main"}
    assert by_type["webhook"]["query_params"] == {"raw": "plain text, not JSON"}
    assert by_type["push"]["domain"] == "gh" and by_type["push"]["path"] == "/webhook/gh"


@pytest_twisted.ensureDeferred
async def test_webhook_signatures(live):
    await make_webhook(live, secret="s3cret")
    body = b'{"event":"deploy"}'
    good = sign("s3cret", body)
    cases = [
        ({}, 401, "Missing signature"),
        ({"X-Webhook-Signature": "0" * 64}, 401, "Invalid signature"),
        ({"X-Webhook-Signature": sign("other", body)}, 401, "Invalid signature"),
        ({"X-Webhook-Signature": good[:-1]}, 401, "Invalid signature"),
        ({"X-Webhook-Signature": "sha256=" + sign("s3cret", body + b" ")}, 401, "Invalid signature"),
        ({"X-Webhook-Signature": "é\u00ff"}, 401, "Invalid signature"),
        ({"X-Webhook-Signature": good}, 200, None),
        ({"X-Webhook-Signature": "sha256=" + good}, 200, None),
        ({"X-Webhook-Signature": good.upper()}, 200, None),
    ]
    for headers, status, message in cases:
        response = await live.request("POST", "/webhook/gh", headers=headers, body=body)
        if status == 200:
            assert response.code == 200, (headers, response.body)
        else:
            assert assert_error(response, 401, "UNAUTHORIZED")["message"] == message, headers
    events = await events_where(live, "source_type=webhook", count=3)
    assert len(events) == 3


@pytest_twisted.ensureDeferred
async def test_webhook_errors(live):
    hook = await make_webhook(live)
    assert_error(await live.request("POST", "/webhook/unknown", body=b"{}"), 404, "WEBHOOK_NOT_FOUND")
    assert_error(await live.request("POST", "/webhook/", body=b"{}"), 404, "WEBHOOK_NOT_FOUND")
    assert_error(await live.request("POST", "/webhook/a%2Fb", body=b"{}"), 404, "WEBHOOK_NOT_FOUND")
    wrong = await live.get("/webhook/gh")
    assert_error(wrong, 405, "METHOD_NOT_ALLOWED")
    assert wrong.header("allow") == "POST"
    # 64 KiB is the limit: refused with 413, never silently cut.
    assert (await live.request("POST", "/webhook/gh", body=b"x" * 65536)).code == 200
    assert_error(await live.request("POST", "/webhook/gh", body=b"x" * 65537), 413, "PAYLOAD_TOO_LARGE")
    assert_error(await live.request("POST", "/webhook/gh", body=b"x" * (2 * 1024 * 1024)), 413, "PAYLOAD_TOO_LARGE")
    # Deeply nested JSON is kept raw, not a crash.
    assert (await live.request("POST", "/webhook/gh", body=b"[" * 20000)).code == 200
    await api(live, "PUT", f"/api/webhooks/{hook['id']}", {"is_active": False})
    disabled = await live.request("POST", "/webhook/gh", body=b"{}")
    assert assert_error(disabled, 401, "UNAUTHORIZED")["message"] == "Webhook is disabled"
    events = await events_where(live, "source_type=webhook", count=2)
    assert len(events) == 2 and len(events[-1]["query_params"]["raw"]) == 65536


# -- pageviews of hosted sites -----------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_pageviews_of_pages_only(live):
    deployed = await live.deploy("blog", {"index.html": "<h1>hi</h1>", "about.html": "<p>about</p>",
                                          "style.css": "p{}", "logo.png": b"\x89PNG"})
    assert deployed.code == 200, deployed.body
    host = "blog.example.test"
    for path in ("/", "/about", "/about.html", "/style.css", "/logo.png"):
        assert (await live.get(path, host, referer="https://ref.example/", user_agent="Browser/2")).code == 200
    await live.request("HEAD", "/", host)
    await live.request("POST", "/", host, body=b"")
    events = await events_where(live, "source_type=hosting", count=3)
    assert sorted(e["path"] for e in events) == ["/", "/about", "/about.html"]
    assert {e["domain"] for e in events} == {"blog"} and {e["event_type"] for e in events} == {"pageview"}
    assert {e["referrer"] for e in events} == {"https://ref.example/"}
    assert len({e["visitor"] for e in events}) == 1       # one browser, one visitor
    stats = (await api(live, "GET", "/api/stats")).json()["data"]
    assert stats["unique_visitors"] == {"today": 1, "week": 1, "month": 1}
    assert_no_raw_ip(live.db)


def test_pageview_hook_counts_pages_and_skips_assets():
    """The hook runs on the static fast path: it only hands an event to the buffer, for pages only.

    Its cost is measured by bench/static.sh (timings do not belong in tests).
    """

    class Request:
        method = b"GET"
        path = b"/posts/hello"

        def __init__(self):
            from twisted.internet.address import IPv4Address
            from twisted.web.http_headers import Headers

            self.requestHeaders = Headers({b"referer": [b"https://x/"], b"user-agent": [b"UA/1"]})
            self._address = IPv4Address("TCP", "127.0.0.1", 5000)

        def getClientAddress(self):
            return self._address

    class Sink:
        def __init__(self):
            self.events = []
            self.add = self.events.append

    sink = Sink()
    hook = pageview_hook(sink, Clock())
    request, asset = Request(), Request()
    asset.path = b"/app.js"
    for _ in range(3):
        hook(request, "blog")
        hook(asset, "blog")
    assert len(sink.events) == 3 and sink.events[0].ip == "127.0.0.1"


# -- the end of a clean stop -------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_clean_stop_writes_every_buffered_event(tmp_path):
    """With an hour between flushes, only the stop can have written the events: none is lost."""
    db = str(tmp_path / "data.db")
    server = start_server(db, extra_args=("--analytics-flush-seconds", "3600"))
    try:
        for n in range(25):
            response = await server.request("POST", "/track", body=json.dumps({"p": f"/{n}"}).encode())
            assert response.code == 204
        await server.get("/pixel.gif?domain=d")
        conn = sqlite3.connect(db)
        assert conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 0   # all still buffered
        conn.close()
    finally:
        # stop_server, from inside the reactor's greenlet (no blockon here)
        await server.listener.stopListening()
        await server.pool.closeCachedConnections()
        await server.services.stopService()
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 26
    conn.close()
    assert_no_raw_ip(db)
