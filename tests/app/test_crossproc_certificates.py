"""Certificates across processes (SPEC §19): the leader orders, any process answers the CA, all serve.

Two whole stacks on one cartridge and a bus network (tests/xproc_testing.py), with a real Pebble:
the leader (a) listens nowhere Pebble looks; the follower (b) answers on Pebble's http-01 port and
serves TLS. A deploy through a makes it order the site's name; Pebble validates at b, which finds the
answer in the store; b then serves the certificate a stored, chained to Pebble's root.
"""

from __future__ import annotations

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.ssl import Certificate

from fazt.acme.wiring import https_factory
from fazt_testing import fresh_cartridge
from tls_testing import https_request
from xproc_testing import BusNetwork, Leadership, eventually, start_stack, stop_stack


@pytest_twisted.ensureDeferred
async def test_a_certificate_ordered_by_the_leader_is_validated_at_and_served_by_a_follower(pebble, tmp_path):
    db = str(tmp_path / "data.db")
    fresh_cartridge(db)
    network = BusNetwork()
    args = ("--js-workers", "1", "--https", "tcp:0", "--acme-directory", pebble.directory,
            "--acme-ca-bundle", pebble.ca_bundle)
    a = start_stack(db, network.bus(), Leadership(True), extra_args=args)
    b = start_stack(db, network.bus(), Leadership(False), extra_args=args)
    listeners = [reactor.listenTCP(pebble.http_port, b.listener.factory, interface="127.0.0.1"),
                 reactor.listenTCP(0, https_factory(b.services, "tcp:0", b.listener.factory),
                                   interface="127.0.0.1")]
    b.tls_port = listeners[1].getHost().port
    b.trust = Certificate.loadPEM(pebble.root_pem().encode("ascii"))
    try:
        assert (await a.deploy("shop", {"index.html": "served over TLS"})).code == 200
        served = b.services.getServiceNamed("certificates").certificates
        await eventually(lambda: "shop.example.test" in served, "b serving shop's certificate", wait=60.0)
        response = await https_request(b, "shop.example.test", "GET", "/")
        assert (response.code, response.body) == (200, b"served over TLS")
        # b ordered nothing: its manager's orders are the leader's duty.
        assert not b.services.getServiceNamed("leader-duties").active
    finally:
        for listener in listeners:
            await listener.stopListening()
        await stop_stack(a)
        await stop_stack(b)
