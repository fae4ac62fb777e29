"""How FaztChannel writes answers (fazt/web/channelio.py), seen by a client over a real socket.

A head whose body is known to follow is held until the body's first write, and writes go straight to
the socket when nothing is queued: a client must still get every answer whole and in order, whether the
body comes later, is larger than the socket takes at once, or never needs to come.
"""

from __future__ import annotations

import hashlib
import socket

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.internet.threads import deferToThread
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from fazt.web.root import FaztSite

BIG = hashlib.sha256(b"seed").digest() * (4 * 1024 * 1024 // 32)  # 4 MiB, more than a socket takes at once


class Answers(Resource):
    isLeaf = True

    def render(self, request):
        if request.path == b"/later":  # head with a length first, the body a moment later
            request.setHeader(b"content-length", b"5")
            request.write(b"")
            reactor.callLater(0.05, lambda: (request.write(b"hello"), request.finish()))
            return NOT_DONE_YET
        if request.path == b"/big":
            return BIG
        request.setHeader(b"content-length", b"0")
        return b""


def serve():
    site = FaztSite(Answers(), deploy_limit=1024, reactor=reactor)
    return reactor.listenTCP(0, site, interface="127.0.0.1")


def read_answer(sock: socket.socket, buffered: bytes = b"") -> tuple[bytes, bytes, bytes]:
    """One answer with a Content-Length from C{sock}: (head, body, bytes read past it)."""
    data = buffered
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":", 1)[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")))
    while len(rest) < length:
        chunk = sock.recv(1 << 20)
        assert chunk, "the connection closed before the body was complete"
        rest += chunk
    return head, rest[:length], rest[length:]


def converse(port: int, paths: list[str], method: str = "GET") -> list[tuple[bytes, bytes]]:
    """Send every request at once (pipelined) on one connection; read the answers in order."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"".join(f"{method} {p} HTTP/1.1\r\nHost: x.test\r\n\r\n".encode() for p in paths))
        answers, extra = [], b""
        for _ in paths:
            if method == "HEAD":
                while b"\r\n\r\n" not in extra:
                    extra += sock.recv(65536)
                head, _, extra = extra.partition(b"\r\n\r\n")
                answers.append((head, b""))
            else:
                head, body, extra = read_answer(sock, extra)
                answers.append((head, body))
        return answers


@pytest_twisted.ensureDeferred
async def test_a_body_written_after_its_head_arrives_whole_and_before_the_next_answer():
    port = serve()
    try:
        answers = await deferToThread(converse, port.getHost().port, ["/later", "/empty", "/later"])
    finally:
        await port.stopListening()
    assert [(head.split(b"\r\n")[0], body) for head, body in answers] == [
        (b"HTTP/1.1 200 OK", b"hello"), (b"HTTP/1.1 200 OK", b""), (b"HTTP/1.1 200 OK", b"hello")]


@pytest_twisted.ensureDeferred
async def test_a_body_larger_than_the_socket_takes_arrives_byte_exact_then_the_next_answer():
    port = serve()
    try:
        answers = await deferToThread(converse, port.getHost().port, ["/big", "/later", "/big"])
    finally:
        await port.stopListening()
    assert [body for _, body in answers] == [BIG, b"hello", BIG]


@pytest_twisted.ensureDeferred
async def test_head_requests_are_answered_without_waiting_for_a_body():
    port = serve()
    try:
        answers = await deferToThread(converse, port.getHost().port, ["/later", "/big"], method="HEAD")
    finally:
        await port.stopListening()
    assert [head.split(b"\r\n")[0] for head, _ in answers] == [b"HTTP/1.1 200 OK", b"HTTP/1.1 200 OK"]
    assert b"Content-Length: 5" in answers[0][0] and b"Content-Length: %d" % len(BIG) in answers[1][0]


def test_the_date_header_follows_the_sites_clock_second_by_second():
    clock = Clock()
    clock.advance(1_000_000_000)
    site = FaztSite(Answers(), deploy_limit=1024, reactor=clock)
    channel = site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40000))
    transport = StringTransport()
    channel.makeConnection(transport)
    dates = []
    for step in (0, 0.5, 0.5):
        clock.advance(step)
        transport.clear()
        channel.dataReceived(b"GET /empty HTTP/1.1\r\nHost: x.test\r\n\r\n")
        dates.append(next(line for line in transport.value().split(b"\r\n") if line.startswith(b"Date: ")))
    assert dates == [b"Date: Sun, 09 Sep 2001 01:46:40 GMT"] * 2 + [b"Date: Sun, 09 Sep 2001 01:46:41 GMT"]


def test_a_shorter_idle_timeout_set_later_takes_effect_at_its_own_time():
    clock = Clock()
    site = FaztSite(Answers(), deploy_limit=1024, reactor=clock, timeout=60)
    channel = site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40000))
    transport = StringTransport()
    channel.makeConnection(transport)   # idle timer armed for 60 s
    clock.advance(1)
    channel.setTimeout(5)               # e.g. a stop that wants idle connections gone sooner
    clock.advance(4.9)
    assert not transport.disconnecting
    clock.advance(0.2)
    assert transport.disconnecting
