"""HTTP-01 answered by any process (SPEC §19): the leader orders, the CA may reach another process.

Two responders on two L{Store}s of one cartridge stand for two processes: only the ordering one
holds the answer in memory; the other finds it in the store (fazt.acme.responder).
"""

from __future__ import annotations

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.web.server import Site
from twisted.web.client import Agent, readBody

from acme import challenges

from fazt.acme import pem
from fazt.acme.issuer import AcmeIssuer
from fazt.acme.responder import HTTP01Responder
from fazt.store.db import Store

TOKEN = b"evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"


@pytest.fixture
def other_store(cartridge):
    """A second Store on the same cartridge file: another process's."""
    store = Store(cartridge.path, reactor)
    store.startService()
    yield store
    store.stopService()


async def fetch(port: int, path: bytes, method: bytes = b"GET"):
    response = await Agent(reactor).request(method, b"http://127.0.0.1:%d%s" % (port, path))
    return response.code, await readBody(response)


@pytest.fixture
def listening():
    ports = []

    def listen(resource, port=0):
        listener = reactor.listenTCP(port, Site(resource), interface="127.0.0.1")
        ports.append(listener)
        return listener.getHost().port
    yield listen
    for listener in ports:
        pytest_twisted.blockon(listener.stopListening())


@pytest_twisted.ensureDeferred
async def test_an_answer_started_in_one_process_is_served_by_another_until_stopped(cartridge, other_store,
                                                                                 listening):
    leader = HTTP01Responder(cartridge, reactor)
    follower = HTTP01Responder(other_store, reactor)
    port = listening(follower)
    challenge = challenges.HTTP01(token=challenges.HTTP01.TOKEN_SIZE * b"\x01")
    token = challenge.encode("token").encode("ascii")
    path = b"/.well-known/acme-challenge/" + token
    assert await fetch(port, path) == (404, b"no such challenge")
    await leader.start_responding("shop.example.test", challenge, token.decode() + ".thumbprint")
    assert await fetch(port, path) == (200, token + b".thumbprint")
    assert await fetch(port, path, b"HEAD") == (200, b"")
    await leader.stop_responding("shop.example.test", challenge, "")
    assert await fetch(port, path) == (404, b"no such challenge")


@pytest_twisted.ensureDeferred
async def test_paths_that_are_no_token_are_refused_without_a_lookup(cartridge, listening):
    port = listening(HTTP01Responder(cartridge, reactor))
    assert await fetch(port, b"/.well-known/acme-challenge/short") == (404, b"no such challenge")
    assert await fetch(port, b"/.well-known/acme-challenge/" + TOKEN) == (404, b"no such challenge")
    code, _ = await fetch(port, b"/.well-known/acme-challenge/" + TOKEN, b"POST")
    assert code == 405


@pytest_twisted.ensureDeferred
async def test_pebble_validates_at_a_process_that_did_not_order(pebble, cartridge, other_store, acme_pool,
                                                               listening):
    """The ordering process listens nowhere; Pebble's http-01 port is the other process's."""
    listening(HTTP01Responder(other_store, reactor), pebble.http_port)
    issuer = AcmeIssuer(reactor, acme_pool, cartridge, HTTP01Responder(cartridge, reactor), pebble.directory,
                        None, pebble.ca_bundle)
    fullchain, _ = await issuer.issue("elsewhere.example.test")
    assert pem.facts(fullchain).names == ("elsewhere.example.test",)
