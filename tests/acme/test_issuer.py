"""The ACME issuer against a real Pebble, in process: HTTP-01 answered on 127.0.0.1 (fazt.acme.issuer).

Covers what the end-to-end test does not: the account reused from the cartridge, an account the
server forgot registered again, and an unreachable ACME server failing with one clear line.
"""

from __future__ import annotations

import json

import pytest
import pytest_twisted
from cryptography import x509
from twisted.internet import reactor
from twisted.web.server import Site

from fazt.acme import pem
from fazt.acme.client import ValidationFailed
from fazt.acme.policy import describe
from fazt.acme.issuer import AcmeIssuer
from fazt.acme.responder import HTTP01Responder
from fazt.store.certificates import load_account


@pytest.fixture
def responder(pebble):
    """The HTTP-01 responder listening where Pebble validates (127.0.0.1, Pebble's http-01 port)."""
    responder = HTTP01Responder()
    port = reactor.listenTCP(pebble.http_port, Site(responder), interface="127.0.0.1")
    yield responder
    pytest_twisted.blockon(port.stopListening())


def verify_chain(fullchain: str, root_pem: str, name: str) -> None:
    """The leaf names C{name} and chains through the intermediate to C{root_pem}."""
    leaf, intermediate = (x509.load_pem_x509_certificate(b.encode()) for b in pem.split_chain(fullchain))
    root = x509.load_pem_x509_certificate(root_pem.encode())
    leaf.verify_directly_issued_by(intermediate)
    intermediate.verify_directly_issued_by(root)
    assert pem.facts(fullchain).names == (name,)


@pytest_twisted.ensureDeferred
async def test_issues_with_one_account_kept_in_the_cartridge(pebble, cartridge, acme_pool, responder):
    issuer = AcmeIssuer(reactor, acme_pool, cartridge, responder, pebble.directory, "ops@example.test",
                        pebble.ca_bundle)
    fullchain, key_pem = await issuer.issue("one.example.test")
    verify_chain(fullchain, pebble.root_pem(), "one.example.test")
    pem.tls_options(fullchain, key_pem).getContext()  # the key is the certificate's
    account = await cartridge.read(load_account, pebble.directory)
    assert account is not None and "one.example.test" not in account[1]

    # A new issuer on the same cartridge (a restart) uses the stored account.
    again = AcmeIssuer(reactor, acme_pool, cartridge, responder, pebble.directory, None, pebble.ca_bundle)
    fullchain, _ = await again.issue("two.example.test")
    verify_chain(fullchain, pebble.root_pem(), "two.example.test")
    assert await cartridge.read(load_account, pebble.directory) == account
    assert responder._answers == {}   # every challenge was withdrawn


@pytest_twisted.ensureDeferred
async def test_an_account_the_server_forgot_is_registered_again(pebble, cartridge, acme_pool, responder):
    issuer = AcmeIssuer(reactor, acme_pool, cartridge, responder, pebble.directory, None, pebble.ca_bundle)
    await issuer.issue("three.example.test")
    key_pem, registration = await cartridge.read(load_account, pebble.directory)
    forgotten = json.loads(registration)
    forgotten["uri"] = forgotten["uri"].rsplit("/", 1)[0] + "/no-such-account"
    cartridge_row = (pebble.directory, key_pem, json.dumps(forgotten))
    await cartridge.write(lambda conn: conn.execute(
        "UPDATE acme_account SET registration = ? WHERE directory_url = ?", (cartridge_row[2], cartridge_row[0])))

    restarted = AcmeIssuer(reactor, acme_pool, cartridge, responder, pebble.directory, None, pebble.ca_bundle)
    fullchain, _ = await restarted.issue("four.example.test")
    verify_chain(fullchain, pebble.root_pem(), "four.example.test")
    renewed = await cartridge.read(load_account, pebble.directory)
    assert json.loads(renewed[1])["uri"] != forgotten["uri"]


@pytest_twisted.ensureDeferred
async def test_an_unreachable_acme_server_fails_with_one_line(cartridge, acme_pool):
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    issuer = AcmeIssuer(reactor, acme_pool, cartridge, HTTP01Responder(), f"https://127.0.0.1:{port}/dir")
    with pytest.raises(Exception) as failure:
        await issuer.issue("five.example.test")
    line = describe(failure.value)
    assert "\n" not in line and str(port) in line
    assert await cartridge.read(load_account, f"https://127.0.0.1:{port}/dir") is None


@pytest_twisted.ensureDeferred
async def test_a_failed_validation_says_why(pebble, cartridge, acme_pool):
    # Nothing answers on Pebble's http-01 port, so validation fails.
    issuer = AcmeIssuer(reactor, acme_pool, cartridge, HTTP01Responder(), pebble.directory, None, pebble.ca_bundle)
    with pytest.raises(ValidationFailed) as failure:
        await issuer.issue("six.example.test")
    message = describe(failure.value)
    assert message.startswith("validation failed: six.example.test: ") and "\n" not in message


class RefusedNonces(AcmeIssuer):
    """An issuer whose first C{refusals} orders meet a refused nonce, as ACME servers do at random."""

    def __init__(self, refusals: int) -> None:
        super().__init__(reactor, None, None, HTTP01Responder(), "https://acme.invalid/dir")
        self.refusals = refusals
        self.orders = 0

    def _issue(self, name):
        from acme import messages
        from twisted.internet.defer import fail, succeed

        self.orders += 1
        if self.orders <= self.refusals:
            return fail(messages.Error.with_code("badNonce", detail="JWS has an invalid anti-replay nonce"))
        return succeed(("chain", "key"))


@pytest_twisted.ensureDeferred
async def test_a_refused_nonce_orders_again_at_once():
    issuer = RefusedNonces(refusals=2)
    assert await issuer.issue("six.example.test") == ("chain", "key")
    assert issuer.orders == 3


@pytest_twisted.ensureDeferred
async def test_nonces_refused_again_and_again_fail_the_issuance():
    from acme import messages

    issuer = RefusedNonces(refusals=10)
    with pytest.raises(messages.Error, match="nonce"):
        await issuer.issue("seven.example.test")
    assert issuer.orders == 3
