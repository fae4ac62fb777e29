"""Listeners bound once (fazt.cluster.sockets.bind_all) and adopted by a serving process (AdoptingReactor)."""

from __future__ import annotations

import socket

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.endpoints import serverFromString
from twisted.internet.error import CannotListenError
from twisted.web.client import Agent, HTTPConnectionPool, readBody
from twisted.web.resource import Resource
from twisted.web.server import Site

from fazt.cluster.sockets import AdoptingReactor, bind_all


class Hello(Resource):
    isLeaf = True

    def render_GET(self, request):
        return b"hello"


def test_bind_all_binds_with_the_backlog_and_accepts_nothing():
    (sock,) = bind_all(["tcp:0:interface=127.0.0.1:backlog=7"])
    try:
        host, port = sock.getsockname()
        assert host == "127.0.0.1" and port > 0
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
        client = socket.create_connection((host, port), timeout=2)  # queued by the kernel, never accepted
        client.close()
    finally:
        sock.close()


def test_a_port_in_use_fails_the_start_and_closes_what_was_bound():
    (taken,) = bind_all(["tcp:0:interface=127.0.0.1"])
    port = taken.getsockname()[1]
    try:
        with pytest.raises(CannotListenError):
            bind_all(["tcp:0:interface=127.0.0.1", f"tcp:{port}:interface=127.0.0.1"])
    finally:
        taken.close()


@pytest_twisted.ensureDeferred
async def test_an_endpoint_string_listens_on_the_adopted_socket():
    (shared,) = bind_all(["tcp:0:interface=127.0.0.1"])
    port = shared.getsockname()[1]
    adopting = AdoptingReactor(reactor, [shared.detach()])
    # Parsed exactly as makeService parses its listeners; the port must match the inherited socket's.
    listening = await serverFromString(adopting, f"tcp:{port}:interface=127.0.0.1").listen(Site(Hello()))
    pool = HTTPConnectionPool(reactor, persistent=False)
    try:
        response = await Agent(reactor, pool=pool).request(b"GET", f"http://127.0.0.1:{port}/".encode())
        assert (response.code, await readBody(response)) == (200, b"hello")
    finally:
        await listening.stopListening()
    with pytest.raises(ConnectionRefusedError):  # the last copy closed: the port refuses
        socket.create_connection(("127.0.0.1", port), timeout=2)


def test_a_listener_that_does_not_match_its_inherited_socket_is_refused():
    (shared,) = bind_all(["tcp:0:interface=127.0.0.1"])
    port = shared.getsockname()[1]
    adopting = AdoptingReactor(reactor, [shared.fileno()])
    try:
        with pytest.raises(CannotListenError):
            adopting.listenTCP(port + 1 if port < 65535 else port - 1, Site(Hello()))
        with pytest.raises(CannotListenError):  # none left
            adopting.listenTCP(0, Site(Hello()))
    finally:
        shared.close()

