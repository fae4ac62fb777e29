"""Inbound webhook receivers' admin routes: /api/webhooks and /api/webhooks/{id} (SPEC §10).

The secret is write-only: responses say C{has_secret}, never the secret. An update is one
atomic UPDATE of every field given (the original ran one UPDATE per field).
"""

from __future__ import annotations

from klein import Klein
from twisted.web.server import Request

from fazt.api.rows import RowKind, RowRoutes
from fazt.base.errors import validation_failed
from fazt.store import webhooks as sql
from fazt.web.envelope import add_error_handlers
from fazt.web.shapes import ENDPOINT
from fazt.web.spec import line_of_text, nullable, obj, takes

MAX_NAME = 100
MAX_SECRET = 256
WEBHOOK_FIELDS = {
    "name": line_of_text(MAX_NAME),
    "endpoint": {"type": "string", "pattern": f"^{ENDPOINT.pattern}$"},
    "secret": nullable({"type": "string", "maxLength": MAX_SECRET, "pattern": "^[ -~]*$"}),
    "is_active": nullable({"type": "boolean"}),
}
WEBHOOK_LINKS = {name: {"operationId": op, "parameters": {"webhook_id": "$response.body#/data/id"}}
                 for name, op in (("read", "get_api_webhooks_webhook_id"), ("update", "put_api_webhooks_webhook_id"),
                                  ("delete", "delete_api_webhooks_webhook_id"))}


def clean_name(value) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME:
        raise validation_failed("name", f"name must be text of 1-{MAX_NAME} characters")
    name = value.strip()
    if any(ord(c) < 0x20 or ord(c) == 0x7F or 0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise validation_failed("name", "name must not contain control characters")
    return name


def clean_endpoint(value) -> str:
    if not isinstance(value, str) or not ENDPOINT.fullmatch(value):
        raise validation_failed("endpoint", "endpoint must be 1-64 letters, digits, '-' or '_'")
    return value


def clean_secret(value):
    """A secret of at most 256 characters; None or "" means no secret."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_SECRET or not value.isprintable() or not value.isascii():
        raise validation_failed("secret", f"secret must be printable ASCII of at most {MAX_SECRET} characters")
    return value


def clean_active(value) -> bool:
    if not isinstance(value, bool):
        raise validation_failed("is_active", "is_active must be true or false")
    return value


WEBHOOK = RowKind("webhook", "endpoint", sql.list_webhooks, sql.count_webhooks, sql.get_webhook,
                  sql.update_webhook, sql.delete_webhook)


class WebhooksApi(RowRoutes):
    """Create, list, read, update and delete webhook receivers (admin only)."""

    app = Klein()
    paths = ('webhooks',)  # served under /api/PATH
    kind = WEBHOOK

    @app.route("/webhooks", methods=["GET"])
    @takes(paged=True)
    def index(self, request: Request):
        return self.list_rows(request)

    @app.route("/webhooks", methods=["POST"])
    @takes(body=obj(WEBHOOK_FIELDS, required=("name", "endpoint"), example={"name": "GitHub", "endpoint": "github"}),
           body_required=True, status=201, errors=(409,),
           links=WEBHOOK_LINKS)
    def create(self, request: Request):
        return self.create_row(request, ("name", "endpoint"), self._new)

    @staticmethod
    def _new(body: dict):
        name, endpoint = clean_name(body["name"]), clean_endpoint(body["endpoint"])
        secret = clean_secret(body.get("secret"))
        active = clean_active(body["is_active"]) if body.get("is_active") is not None else True
        return endpoint, sql.create_webhook, (name, endpoint, secret, active)

    @app.route("/webhooks/<webhook_id>", methods=["GET"])
    def read(self, request: Request, webhook_id: str):
        return self.read_row(request, webhook_id)

    @app.route("/webhooks/<webhook_id>", methods=["PUT"])
    @takes(body=obj({name: nullable(schema) for name, schema in WEBHOOK_FIELDS.items()}), errors=(409,))
    def update(self, request: Request, webhook_id: str):
        return self.update_row(request, webhook_id, self._changes)

    @staticmethod
    def _changes(body: dict) -> dict:
        changes = {}
        if body.get("name") is not None:
            changes["name"] = clean_name(body["name"])
        if body.get("endpoint") is not None:
            changes["endpoint"] = clean_endpoint(body["endpoint"])
        if "secret" in body:
            changes["secret"] = clean_secret(body["secret"])
        if body.get("is_active") is not None:
            changes["is_active"] = clean_active(body["is_active"])
        return changes

    @app.route("/webhooks/<webhook_id>", methods=["DELETE"])
    def delete(self, request: Request, webhook_id: str):
        return self.delete_row(request, webhook_id)


add_error_handlers(WebhooksApi.app)
