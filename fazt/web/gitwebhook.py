"""The push webhook of a site linked to a Git branch: C{POST /webhook/git/NAME} (SPEC §15).

Signed in GitHub's form: C{X-Hub-Signature-256: sha256=HEX}, the HMAC-SHA256 of the raw body
under the link's secret, compared in constant time. A missing or wrong signature is 401 and
changes nothing; a C{ping} event answers 200; a push to another ref is 202 and ignored; a push to
the linked branch redeploys the branch's head and answers with the new deployment, or, if the
fetch and deploy take longer than L{ANSWER_WITHIN} seconds, answers 202 while the deploy goes on:
GitHub gives up on a delivery after 10 s and would list a slow but good deploy as a failed one.
"""

from __future__ import annotations

import json
from typing import Optional

from klein import Klein
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.resource import IResource, Resource
from twisted.web.server import Request

from fazt.base.errors import ApiError
from fazt.base.names import SITE_NAME
from fazt.store.interfaces import IStore
from fazt.store.sources import get_link
from fazt.web.envelope import add_error_handlers, ok
from fazt.web.public import read_body, signature_valid
from fazt.web.spec import takes

PUSH_LIMIT = 1024 * 1024  # GitHub caps payloads at 25 MB, but only "ref" is read; big pushes list many commits
ANSWER_WITHIN = 8.0  # seconds: under GitHub's 10 s delivery timeout, with room for the network
_STILL_DEPLOYING = object()

_log = Logger()


def within(work: Deferred, clock: IReactorTime, seconds: float) -> Deferred:
    """Fire with C{work}'s result (or failure) if it comes within C{seconds}, else with
    C{_STILL_DEPLOYING}; C{work} goes on either way, and a failure after that is logged."""
    answer: Deferred = Deferred()
    timer = clock.callLater(seconds, lambda: answer.called or answer.callback(_STILL_DEPLOYING))

    def settled(result):
        if timer.active():
            timer.cancel()
        if not answer.called:
            answer.callback(result)
        elif isinstance(result, Failure):
            _log.failure("A deploy from a Git push failed after its webhook was answered", result)
        return None

    work.addBoth(settled)
    return answer


class GitPushWebhook:
    """C{/webhook/git/NAME}: redeploys a linked site on a signed push to its branch."""

    app = Klein()

    def __init__(self, store: IStore, git, clock: IReactorTime, answer_within: Optional[float] = None) -> None:
        self.store = store
        self.git = git  # fazt.deploy.gitdeploy.GitDeployer
        self.clock = clock
        self.answer_within = ANSWER_WITHIN if answer_within is None else answer_within

    @app.route("/webhook/git/<site>", methods=["POST"])
    @takes(body={}, errors=(202, 400, 401, 404, 413, 422, 503),
           summary="A Git push webhook (GitHub's X-Hub-Signature-256): redeploys a linked site.")
    @inlineCallbacks
    def push(self, request: Request, site: str):
        body = read_body(request, PUSH_LIMIT)
        link = (yield self.store.read(get_link, site)) if SITE_NAME.fullmatch(site) else None
        if link is None:
            raise ApiError(404, "WEBHOOK_NOT_FOUND", "no site is linked to a Git repository here")
        header = request.getHeader(b"x-hub-signature-256")
        if not header or not header.strip().lower().startswith(b"sha256=") \
                or not signature_valid(link.secret, body, header):
            raise ApiError(401, "INVALID_SIGNATURE", "missing or wrong X-Hub-Signature-256")
        if (request.getHeader(b"x-github-event") or b"push") == b"ping":
            return ok(request, {"message": "pong", "site": site})
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            raise ApiError(400, "INVALID_JSON", "the push body is not valid JSON") from None
        ref = payload.get("ref") if isinstance(payload, dict) else None
        if ref != link.ref:
            return ok(request, {"ignored": True, "message": f"not a push to {link.ref}"}, status=202)
        outcome = yield within(self.git.push(link), self.clock, self.answer_within)
        if outcome is _STILL_DEPLOYING:
            return ok(request, {"site": site, "deploying": True,
                                "message": f"Deploying {link.ref}: it takes longer than {self.answer_within:g} s; "
                                           "see the site's deployments"}, status=202)
        deployment, _, source = outcome
        return ok(request, {"site": site, "deployment_id": deployment.id, "source_ref": source.ref,
                            "source_commit": source.commit, "message": "Redeployed"})


add_error_handlers(GitPushWebhook.app)


class WebhookSplit(Resource):
    """C{/webhook/...}: C{/webhook/git/...} to the push webhook, everything else to C{other}
    (the inbound receivers, whose endpoints can hold no slash)."""

    isLeaf = True

    def __init__(self, git: IResource, other: IResource) -> None:
        super().__init__()
        self._git, self._other = git, other

    def render(self, request: Request):
        if request.postpath[1:2] == [b"git"]:
            return self._git.render(request)
        return self._other.render(request)
