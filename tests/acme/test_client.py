"""Waiting for validation (fazt.acme.client): polling, failures named, and abandoning at shutdown.

The ACME server here is a stand-in answering C{poll}; the real exchange is in test_issuer.py.
"""

from __future__ import annotations

import datetime
import threading

import pytest
from acme import challenges, messages

from fazt.acme.client import Stopped, ValidationFailed, wait_for_validation

NAME = messages.Identifier(typ=messages.IDENTIFIER_FQDN, value="blog.example.com")


def authz(status, error=None) -> messages.AuthorizationResource:
    challenge = messages.ChallengeBody(chall=challenges.HTTP01(token=b"t" * 32), uri="https://ca.test/chall/1",
                                       status=status, error=error)
    body = messages.Authorization(identifier=NAME, challenges=[challenge], status=status)
    return messages.AuthorizationResource(body=body, uri="https://ca.test/authz/1")


class Server:
    """Answers polls with the given authorizations, in turn (the last one for ever)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.polls = 0

    def poll(self, authzr):
        self.polls += 1
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return answer, None


def order_of(*authzrs) -> messages.OrderResource:
    return messages.OrderResource(body=messages.Order(), authorizations=list(authzrs))


def later(seconds=60):
    return datetime.datetime.now() + datetime.timedelta(seconds=seconds)


def test_pending_is_polled_until_valid():
    server = Server(authz(messages.STATUS_PENDING), authz(messages.STATUS_PENDING), authz(messages.STATUS_VALID))
    order = wait_for_validation(server, order_of(authz(messages.STATUS_PENDING)), later(), threading.Event())
    assert server.polls == 3
    assert [a.body.status for a in order.authorizations] == [messages.STATUS_VALID]


def test_an_invalid_authorization_is_reported_with_the_servers_reason():
    error = messages.Error(typ="urn:ietf:params:acme:error:connection", detail="connection refused")
    server = Server(authz(messages.STATUS_INVALID, error))
    with pytest.raises(ValidationFailed, match="blog.example.com: connection :: connection refused"):
        wait_for_validation(server, order_of(authz(messages.STATUS_PENDING)), later(), threading.Event())


def test_shutdown_abandons_the_wait():
    stopping = threading.Event()
    stopping.set()
    server = Server(authz(messages.STATUS_PENDING))
    with pytest.raises(Stopped):
        wait_for_validation(server, order_of(authz(messages.STATUS_PENDING)), later(), stopping)
    assert server.polls == 1


def test_the_deadline_ends_the_wait():
    from acme import errors

    server = Server(authz(messages.STATUS_PENDING))
    with pytest.raises(errors.TimeoutError):
        wait_for_validation(server, order_of(authz(messages.STATUS_PENDING)), later(-1), threading.Event())
