"""The order of a graceful stop, and the drain of open connections, on a Clock with fake channels."""

from __future__ import annotations

from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock

from fazt.app.shutdown import Drain, OrderlyService, channel_state


class FakeTransport:
    def __init__(self) -> None:
        self.disconnected = False
        self.closing = False

    def loseConnection(self) -> None:
        self.closing = True


class FakeChannel:
    def __init__(self, busy: bool = False) -> None:
        self.transport = FakeTransport()
        self.requests = ["r"] if busy else []

    def loseConnection(self) -> None:
        self.transport.loseConnection()


def test_channel_states():
    channel = FakeChannel(busy=True)
    assert channel_state(channel) == "busy"
    channel.requests = []
    assert channel_state(channel) == "idle"
    channel.transport.disconnected = True
    assert channel_state(channel) == "gone"
    channel.transport = None  # a WebSocket took the connection over
    assert channel_state(channel) == "gone"


class FakeRequest:
    def __init__(self, content_type: bytes) -> None:
        from twisted.web.http_headers import Headers

        self.responseHeaders = Headers({b"content-type": [content_type]})


def test_an_event_stream_is_closed_not_waited_for():
    clock = Clock()
    stream = FakeChannel()
    stream.requests = [FakeRequest(b"text/event-stream; charset=utf-8")]
    assert channel_state(stream) == "stream"
    stream.requests.append(FakeRequest(b"text/html"))
    assert channel_state(stream) == "busy"
    stream.requests.pop()
    Drain(clock, [stream], grace=10).run()
    assert stream.transport.closing


def test_drain_closes_idle_connections_and_waits_for_busy_ones():
    clock = Clock()
    idle, busy = FakeChannel(), FakeChannel(busy=True)
    done = Drain(clock, [idle, busy], grace=10).run()
    assert idle.transport.closing and not busy.transport.closing
    idle.transport.disconnected = True
    clock.advance(1)
    assert not done.called
    busy.requests = []  # its response has been written
    clock.advance(0.05)
    assert busy.transport.closing and not done.called
    busy.transport.disconnected = True
    clock.advance(0.05)
    assert done.result == 0


def test_drain_gives_up_after_the_grace_period():
    clock = Clock()
    done = Drain(clock, [FakeChannel(busy=True)], grace=2).run()
    clock.pump([0.05] * 39)
    assert not done.called
    clock.pump([0.05] * 2)
    assert done.result == 1


class Recorder(Service):
    def __init__(self, name: str, log: list, stop_first: bool = False, wait: Deferred | None = None) -> None:
        self.label, self.log, self.stop_first, self.wait = name, log, stop_first, wait

    def stopService(self):
        super().stopService()
        self.log.append(self.label)
        return self.wait


class FakeWriter:
    idle = False


def test_listeners_stop_first_then_connections_drain_then_writes_then_the_rest():
    clock, log = Clock(), []
    top = OrderlyService(clock, grace=10)
    cron_done = Deferred()
    Recorder("store", log).setServiceParent(top)
    Recorder("buffer", log).setServiceParent(top)
    Recorder("cron", log, stop_first=True, wait=cron_done).setServiceParent(top)
    busy = FakeChannel(busy=True)
    top.site = type("Site", (), {"channels": [busy]})()
    top.writer = FakeWriter()
    top.startService()
    stopped = top.stopService()
    assert log == ["cron"]
    cron_done.callback(None)  # the scheduler's last run ended
    clock.advance(1)
    assert log == ["cron"]  # a request is still in flight
    busy.transport = None
    clock.advance(0.05)
    assert log == ["cron"]  # queued writes are still being committed
    top.writer.idle = True
    clock.advance(0.05)
    assert log == ["cron", "buffer", "store"] and stopped.called
