"""FaztChannel's timers on a driven clock (SPEC §18): the head deadline and the keep-alive idle timeout.

The connection is real (FaztSite's own channel over an in-memory transport); only time is
simulated, so that "10 s" and "60 s" are checked exactly and instantly.
"""

from __future__ import annotations

import pytest
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.usage import UsageError
from twisted.web.resource import Resource

from fazt.app.envconfig import options_from_environment
from fazt.app.options import Options
from fazt.web.framing import ChannelLimits
from fazt.web.options import channel_limits
from fazt.web.root import FaztSite

REQUEST = b"GET / HTTP/1.1\r\nHost: example.test\r\n\r\n"


class Hello(Resource):
    isLeaf = True

    def render(self, request):
        return b"hello"


def connect(limits: ChannelLimits = ChannelLimits()):
    clock = Clock()
    site = FaztSite(Hello(), deploy_limit=1024, limits=limits, reactor=clock)
    channel = site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40000))
    transport = StringTransport()
    channel.makeConnection(transport)
    return clock, channel, transport


def trickle(clock: Clock, channel, data: bytes, gap: float) -> None:
    for byte in data:
        channel.dataReceived(bytes([byte]))
        clock.advance(gap)


def test_headers_sent_one_byte_every_3_seconds_are_cut_off_at_10_seconds_with_408():
    clock, channel, transport = connect()
    trickle(clock, channel, b"GET / HTTP/1.1\r\n", 0)  # the request line at once, at t=0
    trickle(clock, channel, b"Hos", 3)                 # then a byte every 3 s: t=9
    assert not transport.disconnecting and transport.value() == b""
    clock.advance(1)                                   # t=10
    assert transport.value().startswith(b"HTTP/1.1 408 ")
    assert transport.disconnecting


def test_a_new_connection_has_10_seconds_to_send_its_headers_and_is_closed_silently():
    clock, channel, transport = connect()
    clock.advance(9.9)
    assert not transport.disconnecting
    clock.advance(0.1)
    assert transport.disconnecting and transport.value() == b""


def test_kept_alive_connection_idles_60_seconds_then_its_next_request_has_10():
    clock, channel, transport = connect()
    channel.dataReceived(REQUEST)
    assert b"hello" in transport.value()
    transport.clear()
    clock.advance(50)             # idle on keep-alive: the head deadline does not run
    assert not transport.disconnecting
    channel.dataReceived(b"G")    # the next request begins at t=50
    clock.advance(9.9)
    assert not transport.disconnecting
    clock.advance(0.1)
    assert transport.value().startswith(b"HTTP/1.1 408 ") and transport.disconnecting


def test_idle_kept_alive_connection_closes_after_60_seconds():
    clock, channel, transport = connect()
    channel.dataReceived(REQUEST)
    transport.clear()
    clock.advance(59.9)
    assert not transport.disconnecting
    clock.advance(0.1)
    assert transport.disconnecting and transport.value() == b""


def test_timeouts_follow_the_limits():
    clock, channel, transport = connect(ChannelLimits(header_timeout=2, idle_timeout=5))
    channel.dataReceived(REQUEST)
    transport.clear()
    clock.advance(4.9)
    assert not transport.disconnecting
    clock.advance(0.1)
    assert transport.disconnecting


def refused_upload():
    """A connection whose 5 MB upload was just refused (413); it drains for 3 s or 100 bytes at most."""
    clock, channel, transport = connect(ChannelLimits(drain_seconds=3, drain_bytes=100))
    channel.dataReceived(b"POST / HTTP/1.1\r\nHost: example.test\r\nContent-Length: 5000000\r\n\r\n")
    assert transport.value().startswith(b"HTTP/1.1 413 ")
    channel.dataReceived(b"x" * 60)
    assert not transport.disconnecting       # still reading (and dropping) what the client sends
    return clock, channel, transport


def test_a_refused_body_is_drained_for_drain_seconds_then_closed():
    clock, channel, transport = refused_upload()
    clock.advance(2.9)
    assert not transport.disconnecting
    clock.advance(0.1)
    assert transport.disconnecting


def test_a_refused_body_is_drained_up_to_drain_bytes():
    clock, channel, transport = refused_upload()
    channel.dataReceived(b"x" * 60)
    assert transport.disconnecting


def test_the_limits_come_from_twistd_options_and_fazt_variables():
    assert channel_limits(options_from_environment({})) == ChannelLimits()
    options = Options()
    options.parseOptions(["--header-timeout", "2.5", "--keepalive-timeout", "30", "--max-request-line-kb", "4",
                          "--max-headers-kb", "32", "--max-header-lines", "50", "--drain-seconds", "1",
                          "--drain-mb", "0"])
    assert channel_limits(options) == ChannelLimits(2.5, 30, 4096, 32768, 50, 1, 0)
    from_env = options_from_environment({"FAZT_HEADER_TIMEOUT": "3", "FAZT_DRAIN_MB": "8"})
    assert channel_limits(from_env) == ChannelLimits(header_timeout=3, drain_bytes=8 * 1024 * 1024)


def test_bad_limit_options_are_refused():
    for argv in (["--header-timeout", "soon"], ["--header-timeout", "0"], ["--max-header-lines", "0"]):
        with pytest.raises(UsageError):
            Options().parseOptions(argv)
