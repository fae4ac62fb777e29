"""Promoting a deployment and splitting traffic between deployments (SPEC §15).

C{POST /api/sites/NAME/promote} switches a site to one of its deployments (a preview, usually):
the same atomic switch as a rollback. C{GET|PUT|DELETE /api/sites/NAME/split} shows, sets and
ends the site's traffic split; a deploy, rollback or promote of the site ends it too. Admins only.
"""

from __future__ import annotations

from typing import Callable

from twisted.internet.defer import inlineCallbacks
from twisted.web.server import Request

from fazt.api.siteroutes import exact_paths_app, require_site
from fazt.base.errors import ApiError, missing_field, validation_failed
from fazt.deploy.service import Deployer
from fazt.store.errors import NotFound
from fazt.store.interfaces import IStore
from fazt.store.rollout import clear_split, get_split, set_split
from fazt.web.auth import Authenticator
from fazt.web.envelope import add_error_handlers, json_object, ok
from fazt.web.spec import ID_SCHEMA, MAX_SQL_INT, obj, takes

MAX_MEMBERS = 5
MAX_WEIGHT = 10000
PROMOTE_BODY = obj({"deployment_id": ID_SCHEMA}, required=("deployment_id",), example={"deployment_id": 12})
WEIGHT = obj({"deployment_id": ID_SCHEMA, "weight": {"type": "integer", "minimum": 1, "maximum": MAX_WEIGHT}},
             required=("deployment_id", "weight"))
SPLIT_BODY = obj({"weights": {"type": "array", "items": WEIGHT, "minItems": 2, "maxItems": MAX_MEMBERS}},
                 required=("weights",),
                 example={"weights": [{"deployment_id": 12, "weight": 90}, {"deployment_id": 13, "weight": 10}]})


def split_json(split) -> list | None:
    """A split as the API shows it (also in C{GET /api/sites/NAME}): None without one."""
    if not split:
        return None
    return [{"deployment_id": deployment_id, "weight": weight} for deployment_id, weight in split]


def _integer(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise validation_failed(field, f"{field} must be a whole number from {low} to {high}")
    return value


def parse_weights(body: dict) -> list[tuple[int, int]]:
    """The C{weights} of a split body, checked; raises L{ApiError}."""
    weights = body.get("weights")
    if weights is None:
        raise missing_field("weights")
    if not isinstance(weights, list) or not 2 <= len(weights) <= MAX_MEMBERS:
        raise validation_failed("weights", f"weights must list 2 to {MAX_MEMBERS} deployments")
    parsed = []
    for item in weights:
        if not isinstance(item, dict):
            raise validation_failed("weights", "each weight is an object {deployment_id, weight}")
        parsed.append((_integer(item.get("deployment_id"), "deployment_id", 0, MAX_SQL_INT),
                       _integer(item.get("weight"), "weight", 1, MAX_WEIGHT)))
    if len({deployment_id for deployment_id, _ in parsed}) != len(parsed):
        raise validation_failed("weights", "each deployment may appear once")
    return sorted(parsed)


class PromoteApi:
    """C{POST /api/sites/NAME/promote}."""

    app = exact_paths_app()
    paths = ()
    site_segment = "promote"

    def __init__(self, store: IStore, deployer: Deployer, auth: Authenticator) -> None:
        self.store = store
        self.deployer = deployer
        self.auth = auth

    @app.route("/sites/<name>/promote", methods=["POST"])
    @takes(body=PROMOTE_BODY, body_required=True, summary="Switch a site to one of its deployments (a preview).")
    @inlineCallbacks
    def promote(self, request: Request, name: str):
        yield require_site(self.auth, self.store, request, name)
        body = json_object(request)
        if body.get("deployment_id") is None:
            raise missing_field("deployment_id")
        target = _integer(body["deployment_id"], "deployment_id", 0, MAX_SQL_INT)
        deployment = yield self.deployer.rollback(name, target)
        self.auth.audit_request(request, "promote", name, details=f"deployment {deployment.id}")
        return ok(request, {"site": name, "deployment_id": deployment.id,
                            "message": f"Site '{name}' now serves deployment {deployment.id}"})


class SplitApi:
    """C{GET|PUT|DELETE /api/sites/NAME/split}; C{split_changed(site)} tells the caches."""

    app = exact_paths_app()
    paths = ()
    site_segment = "split"

    def __init__(self, store: IStore, auth: Authenticator, split_changed: Callable[[str], None]) -> None:
        self.store = store
        self.auth = auth
        self.split_changed = split_changed

    @app.route("/sites/<name>/split", methods=["GET"])
    @takes(summary="A site's traffic split (null without one).")
    @inlineCallbacks
    def show(self, request: Request, name: str):
        yield require_site(self.auth, self.store, request, name)
        split = yield self.store.read(get_split, name)
        return ok(request, {"site": name, "split": split_json(split)})

    @app.route("/sites/<name>/split", methods=["PUT"])
    @takes(body=SPLIT_BODY, body_required=True,
           summary="Serve 2-5 deployments of a site by weight, sticky per visitor (a cookie).")
    @inlineCallbacks
    def set(self, request: Request, name: str):
        yield require_site(self.auth, self.store, request, name)
        weights = parse_weights(json_object(request))
        try:
            yield self.store.write(set_split, name, weights)
        except NotFound as error:
            raise ApiError(404, "NOT_FOUND", str(error)) from None
        self.split_changed(name)
        text = " ".join(f"{deployment_id}={weight}" for deployment_id, weight in weights)
        self.auth.audit_request(request, "split", name, details=text)
        return ok(request, {"site": name, "split": split_json(weights),
                            "message": f"Site '{name}' now splits its traffic: {text}"})

    @app.route("/sites/<name>/split", methods=["DELETE"])
    @takes(summary="End a site's traffic split: the active deployment serves everyone.")
    @inlineCallbacks
    def end(self, request: Request, name: str):
        yield require_site(self.auth, self.store, request, name)
        ended = yield self.store.write(clear_split, name)
        if ended:
            self.split_changed(name)
            self.auth.audit_request(request, "split.end", name)
        return ok(request, {"site": name, "split": None, "ended": ended,
                            "message": f"Site '{name}' serves its active deployment to everyone"})


add_error_handlers(PromoteApi.app)
add_error_handlers(SplitApi.app)
