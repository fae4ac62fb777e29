"""The HTTP-01 responder: C{/.well-known/acme-challenge/TOKEN} on every host, ahead of host routing."""

from __future__ import annotations

from twisted.web.resource import Resource
from twisted.web.server import Request
from zope.interface import implementer

from fazt.acme.interfaces import IResponder
from fazt.base.responses import METHOD_NOT_ALLOWED, plain_text_get

PREFIX = b"/.well-known/acme-challenge/"


@implementer(IResponder)
class HTTP01Responder(Resource):
    """Answers the tokens of orders in flight with their key authorizations; 404 otherwise."""

    isLeaf = True
    challenge_type = "http-01"

    def __init__(self) -> None:
        super().__init__()
        self._answers: dict[bytes, bytes] = {}

    def start_responding(self, server_name: str, challenge, response: str) -> None:
        self._answers[challenge.encode("token").encode("ascii")] = response.encode("ascii")

    def stop_responding(self, server_name: str, challenge, response: str) -> None:
        self._answers.pop(challenge.encode("token").encode("ascii"), None)

    def render(self, request: Request) -> bytes:
        if not plain_text_get(request):
            return METHOD_NOT_ALLOWED
        token = request.path[len(PREFIX):] if request.path.startswith(PREFIX) else b""
        answer = self._answers.get(token)
        if answer is None:
            request.setResponseCode(404)
            return b"no such challenge"
        return answer
