"""The HTTP-01 responder: C{/.well-known/acme-challenge/TOKEN} on every host, ahead of host routing.

With several processes (SPEC §19) the leader orders, but the CA's validation request may reach
any process: given a store, the responder writes each answer there before the issuer tells the CA
to validate (L{start_responding} returns the write's Deferred), and a process that does not hold
a token in memory looks it up in the store. Only tokens shaped like ACME's (base64url) are looked
up, so stray requests for other paths cost no store read.
"""

from __future__ import annotations

import re
from typing import Optional

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import Request
from zope.interface import implementer

from fazt.acme.interfaces import IResponder
from fazt.base.responses import METHOD_NOT_ALLOWED, finish_later, plain_text_get
from fazt.store.challenges import drop_challenge, find_challenge, put_challenge

_log = Logger()
PREFIX = b"/.well-known/acme-challenge/"
# RFC 8555 §8.3: a token is base64url without padding, with at least 128 bits of entropy.
TOKEN = re.compile(rb"[A-Za-z0-9_-]{22,256}")


@implementer(IResponder)
class HTTP01Responder(Resource):
    """Answers the tokens of orders in flight with their key authorizations; 404 otherwise.

    C{store} and C{clock}, when given, share the answers with every process of the platform.
    """

    isLeaf = True
    challenge_type = "http-01"

    def __init__(self, store=None, clock: Optional[IReactorTime] = None) -> None:
        super().__init__()
        self._answers: dict[bytes, bytes] = {}
        self._store = store
        self._clock = clock

    def start_responding(self, server_name: str, challenge, response: str) -> Deferred:
        """Answer C{challenge}; fires once every process can (the store has the answer)."""
        token = challenge.encode("token")
        self._answers[token.encode("ascii")] = response.encode("ascii")
        if self._store is None:
            return succeed(None)
        return self._store.write(put_challenge, token, response, int(self._clock.seconds()))

    def stop_responding(self, server_name: str, challenge, response: str) -> Deferred:
        token = challenge.encode("token")
        self._answers.pop(token.encode("ascii"), None)
        if self._store is None:
            return succeed(None)
        dropping = self._store.write(drop_challenge, token)
        dropping.addErrback(lambda f: _log.failure("Could not drop the ACME challenge answer {token}", f, token=token))
        return dropping

    def render(self, request: Request) -> bytes | int:
        if not plain_text_get(request):
            return METHOD_NOT_ALLOWED
        token = request.path[len(PREFIX):] if request.path.startswith(PREFIX) else b""
        answer = self._answers.get(token)
        if answer is not None:
            return answer
        if self._store is None or not TOKEN.fullmatch(token):
            return _missing(request)
        reading = self._store.read(find_challenge, token.decode("ascii"))
        return finish_later(request, reading.addCallback(lambda found: found.encode("ascii") if found
                                                         else _missing(request)), _unavailable)


def _missing(request: Request) -> bytes:
    request.setResponseCode(404)
    return b"no such challenge"


def _unavailable(request: Request) -> bytes:
    request.setResponseCode(503)
    return b"try again"
