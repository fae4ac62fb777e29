"""C{GET /api/logs/stream}: a site's console lines and deploys as Server-Sent Events, live."""

from __future__ import annotations

import json

import pytest
import pytest_twisted
from twisted.internet.defer import ensureDeferred

from fazt.api.livelogs import LiveStream
from fazt.cli.operator import create_key
from fazt.web.livelog import LiveLog
from fazt_testing import assert_error, start_server, stop_server
from sse_testing import open_stream

MAIN_JS = "console.log('hello from ' + req.path); res.send('ok');"


@pytest.fixture
def live(tmp_path):
    server = start_server(str(tmp_path / "data.db"), extra_args=("--js-workers", "1"))
    yield server
    stop_server(server)


@pytest_twisted.ensureDeferred
async def test_console_lines_and_switches_arrive_live(live):
    assert (await live.deploy("app", {"main.js": MAIN_JS})).code == 200
    response, lines = await open_stream(live, "app", live.admin_token)
    try:
        assert response.code == 200
        assert response.headers.getRawHeaders("content-type")[0].startswith("text/event-stream")
        assert response.headers.getRawHeaders("cache-control") == ["no-store"]
        await lines.wait_for(": connected")
        assert (await live.get("/hello", "app.example.test")).code == 200
        data = await lines.wait_for("hello from /hello", timeout=1.0)
        index = lines.lines.index(data)
        assert lines.lines[index - 1] == "event: log"
        event = json.loads(data[len("data: "):])
        assert event["site"] == "app" and event["level"] == "info"
        assert event["message"] == "hello from /hello" and event["created_at"].endswith("Z")

        assert (await live.deploy("app", {"main.js": MAIN_JS + "\n"})).code == 200
        await lines.wait_for("event: switch")
        switch = lines.lines.index("event: switch")
        assert lines.lines[switch + 1] == 'data: {"site":"app"}'
    finally:
        lines.transport.stopProducing()
    await lines.closed
    assert (await live.get("/again", "app.example.test")).code == 200  # the client left: no subscriber


@pytest_twisted.ensureDeferred
async def test_stream_needs_credentials(live):
    response, lines = await open_stream(live, "blog")
    await lines.closed
    assert response.code == 401


@pytest_twisted.ensureDeferred
async def test_a_deploy_key_streams_no_site(live):
    other = create_key(live.db, "other", ["deploy:other"])
    for site in ("blog", "other"):
        assert_error(await live.request("GET", f"/api/logs/stream?site_id={site}",
                                        headers={"Authorization": f"Bearer {other}"}), 403, "FORBIDDEN")


def test_pub_sub_and_a_slow_client_is_dropped():
    live = LiveLog()
    seen = []
    stop = live.subscribe("a", lambda event, data: seen.append((event, data)))
    live.publish("a", "log", {"m": 1})
    live.publish("b", "log", {"m": 2})
    stop()
    live.publish("a", "log", {"m": 3})
    assert seen == [("log", {"m": 1})] and live.subscribers("a") == 0

    from twisted.internet.task import Clock
    from twisted.web.test.requesthelper import DummyRequest

    class Transport:
        aborted = False

        def abortConnection(self):
            self.aborted = True

    clock = Clock()
    request = DummyRequest([b""])
    request.channel = type("C", (), {"transport": Transport()})()
    request.registerProducer = lambda producer, streaming: None
    stream = LiveStream(clock, live, "a", max_queued=3)
    stream.render_GET(request)
    stream.pauseProducing()
    for i in range(3):
        live.publish("a", "log", {"m": i})
    assert live.subscribers("a") == 1 and not request.channel.transport.aborted
    live.publish("a", "log", {"m": 99})
    assert live.subscribers("a") == 0 and request.channel.transport.aborted
    assert not clock.getDelayedCalls()


@pytest_twisted.ensureDeferred
async def test_no_stream_of_a_site_that_does_not_exist(live):
    """It would wait for ever on lines that never come: 404, like the paged log of that site."""
    assert_error(await live.request("GET", "/api/logs/stream?site_id=nosuchsite",
                                    headers={"Authorization": f"Bearer {live.admin_token}"}), 404, "SITE_NOT_FOUND")
