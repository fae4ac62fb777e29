"""A site's custom domains: C{/api/sites/NAME/domains[/DOMAIN[/check]]} (SPEC §15). Admins only.

Adding or removing a domain publishes C{domains.changed}, so every process routes the new map
from its next request. C{check} says whether the name reaches this server (see
L{fazt.web.domaincheck}); it fetches only the fixed check path, and its answer is compared,
never shown.
"""

from __future__ import annotations

from twisted.internet.defer import inlineCallbacks
from twisted.web.server import Request

from fazt.api.siteroutes import exact_paths_app, require_site
from fazt.base.customhosts import WWW_MODES, InvalidDomain, normalise_domain
from fazt.base.errors import ApiError, missing_field, validation_failed
from fazt.store.domains import add_domain, count_domains, find_domain, list_domains, remove_domain
from fazt.store.errors import Conflict
from fazt.store.interfaces import IStore
from fazt.web.auth import Authenticator
from fazt.web.domaincheck import check_port
from fazt.web.envelope import add_error_handlers, iso, json_object, ok, page_args
from fazt.web.spec import nullable, obj, takes

DOMAIN_SCHEMA = {"type": "string", "minLength": 3, "maxLength": 253, "pattern": "^[A-Za-z0-9][A-Za-z0-9.-]*\\.[A-Za-z][A-Za-z0-9-]*\\.?$",
                 "examples": ["example.org"]}
ADD_BODY = obj({"name": DOMAIN_SCHEMA, "www": nullable({"type": "string", "enum": list(WWW_MODES)})},
               required=("name",), example={"name": "example.org", "www": "redirect"})
CHECK_BODY = obj({"port": nullable({"type": "integer", "minimum": 1, "maximum": 65535,
                                    "description": "the port the name is fetched on (default 80)"})})


def domain_json(row: dict) -> dict:
    return {**row, "created_at": iso(row["created_at"])}


class DomainsApi:
    """Add, list, remove and check a site's custom domains."""

    app = exact_paths_app()
    paths = ()
    site_segment = "domains"

    def __init__(self, store: IStore, auth: Authenticator, domain: str, domains, clock) -> None:
        self.store = store
        self.auth = auth
        self.domain = domain
        self.domains = domains  # fazt.app.domainwiring.Domains: the checker and announce()
        self.clock = clock

    def _name(self, raw) -> str:
        try:
            return normalise_domain(raw, self.domain)
        except InvalidDomain as error:
            raise validation_failed("name", str(error)) from None

    @app.route("/sites/<name>/domains", methods=["GET"])
    @takes(paged=True, errors=(404,), summary="The site's custom domains.")
    @inlineCallbacks
    def index(self, request: Request, name: str):
        yield require_site(self.auth, self.store, request, name)
        limit, offset = page_args(request)
        rows = yield self.store.read(list_domains, name, limit, offset)
        total = yield self.store.read(count_domains, name)
        return ok(request, [domain_json(r) for r in rows], meta={"total": total, "limit": limit, "offset": offset})

    @app.route("/sites/<name>/domains", methods=["POST"])
    @takes(body=ADD_BODY, body_required=True, status=201, errors=(404, 409),
           summary="Serve the site on a domain of yours (www: none, serve or redirect www. to the name).")
    @inlineCallbacks
    def add(self, request: Request, name: str):
        yield require_site(self.auth, self.store, request, name)
        body = json_object(request)
        if body.get("name") is None:
            raise missing_field("name")
        domain = self._name(body["name"])
        www = body.get("www") or "none"
        if www not in WWW_MODES:
            raise validation_failed("www", "www must be none, serve or redirect")
        try:
            row = yield self.store.write(add_domain, name, domain, www, int(self.clock.seconds()))
        except Conflict:
            raise ApiError(409, "CONFLICT", f"{domain} is already registered", {"field": "name"}) from None
        yield self.domains.announce(domain, "added")  # this process routes the name before we answer
        self.auth.audit_request(request, "domain.add", name, details=f"{domain} www={www}")
        return ok(request, domain_json(row), status=201)

    @app.route("/sites/<name>/domains/<domain>", methods=["DELETE"])
    @takes(errors=(404,), summary="Stop serving the site on this domain.")
    @inlineCallbacks
    def remove(self, request: Request, name: str, domain: str):
        yield require_site(self.auth, self.store, request, name)
        host = domain.strip().lower().rstrip(".")
        removed = yield self.store.write(remove_domain, name, host)
        if not removed:
            raise ApiError(404, "DOMAIN_NOT_FOUND", f"site '{name}' has no domain {host[:253]}")
        yield self.domains.announce(host, "removed")
        self.auth.audit_request(request, "domain.remove", name, details=host)
        return ok(request, {"site": name, "name": host, "message": "Domain removed"})

    @app.route("/sites/<name>/domains/<domain>/check", methods=["POST"])
    @takes(body=CHECK_BODY, errors=(404,),
           summary="Whether the name reaches this server: reaches_this_server, resolves_elsewhere or does_not_resolve.")
    @inlineCallbacks
    def check(self, request: Request, name: str, domain: str):
        yield require_site(self.auth, self.store, request, name)
        host = self._name(domain)
        port = check_port(json_object(request).get("port"))
        if port is None:
            raise validation_failed("port", "port must be a whole number from 1 to 65535")
        registered = yield self.store.read(find_domain, name, host)
        result = yield self.domains.checker.check(host, port)
        return ok(request, {**result, "site": name, "registered": registered is not None, "port": port})


add_error_handlers(DomainsApi.app)
