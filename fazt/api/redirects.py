"""The URL shortener's admin routes: /api/redirects and /api/redirects/{id} (SPEC §10).

Destinations are absolute http(s) URLs only (no C{javascript:} or C{data:}), kept in ASCII form
(an international host name in IDNA, other characters percent-encoded) so that the C{Location}
header of C{/r/SLUG} is always valid.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from klein import Klein
from twisted.web.server import Request

from fazt.analytics.events import InvalidEvent, clean_tags
from fazt.api.rows import RowKind, RowRoutes
from fazt.base.errors import validation_failed
from fazt.store import redirects as sql
from fazt.web.envelope import add_error_handlers
from fazt.web.shapes import SLUG, TAGS_SCHEMA
from fazt.web.spec import nullable, obj, takes

MAX_DESTINATION = 2048
_URL_SAFE = "".join(chr(c) for c in range(0x21, 0x7F))  # printable ASCII stays as it is
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HOST = re.compile(r"[a-z0-9_.-]+|[0-9a-f:.]+")  # a DNS name (after IDNA) or an IP literal
SLUG_SCHEMA = {"type": "string", "pattern": f"^{SLUG.pattern}$"}
# The document promises less than clean_destination takes (any http(s) URL, IDNA hosts included):
# an ASCII http(s) URL with a lower-case host name and a printable path.
DESTINATION_SCHEMA = {"type": "string", "maxLength": MAX_DESTINATION,
                      "pattern": r"^https?://[a-z0-9][a-z0-9.-]{0,62}(/[!-~]*)?$"}
REDIRECT_FIELDS = {"slug": SLUG_SCHEMA, "destination": DESTINATION_SCHEMA, "tags": nullable(TAGS_SCHEMA)}
REDIRECT_LINKS = {name: {"operationId": op, "parameters": {"redirect_id": "$response.body#/data/id"}}
                  for name, op in (("read", "get_api_redirects_redirect_id"),
                                   ("update", "put_api_redirects_redirect_id"),
                                   ("delete", "delete_api_redirects_redirect_id"))}


def clean_slug(value) -> str:
    if not isinstance(value, str) or not SLUG.fullmatch(value):
        raise validation_failed("slug", "slug must be 1-64 letters, digits, '-' or '_'")
    return value


def _ascii_netloc(netloc: str) -> str:
    if netloc.isascii():
        return netloc
    userinfo, at, hostport = netloc.rpartition("@")
    host, colon, port = hostport.partition(":")
    return quote(userinfo, safe=_URL_SAFE) + at + host.encode("idna").decode("ascii") + colon + port


def clean_destination(value) -> str:
    """An absolute http(s) URL of at most 2048 characters, returned in ASCII form."""
    if not isinstance(value, str) or not value.strip():
        raise validation_failed("destination", "destination must be an http or https URL")
    value = value.strip()
    try:
        parts = urlsplit(value)
        if (parts.scheme.lower() not in ("http", "https") or not parts.hostname or _CONTROL.search(value)
                or "\\" in parts.netloc or not value[len(parts.scheme):].startswith("://")):
            raise ValueError(value)
        parts.port  # noqa: B018 - raises ValueError for a bad port
        rest = value[len(parts.scheme) + 3 + len(parts.netloc):]
        url = f"{parts.scheme.lower()}://{_ascii_netloc(parts.netloc)}{quote(rest, safe=_URL_SAFE)}"
        if not _HOST.fullmatch(urlsplit(url).hostname or ""):
            raise ValueError(url)
    except (ValueError, UnicodeError):
        raise validation_failed("destination", "destination must be an http or https URL") from None
    if len(url) > MAX_DESTINATION:
        raise validation_failed("destination", f"destination is longer than {MAX_DESTINATION} characters")
    return url


def _tags(value) -> list[str]:
    try:
        return clean_tags(value)
    except InvalidEvent as error:
        raise validation_failed(error.field, str(error)) from None


REDIRECT = RowKind("redirect", "slug", sql.list_redirects, sql.count_redirects, sql.get_redirect,
                   sql.update_redirect, sql.delete_redirect)


class RedirectsApi(RowRoutes):
    """Create, list, read, update and delete redirects (admin only)."""

    app = Klein()
    paths = ('redirects',)  # served under /api/PATH
    kind = REDIRECT

    @app.route("/redirects", methods=["GET"])
    @takes(paged=True)
    def index(self, request: Request):
        return self.list_rows(request)

    @app.route("/redirects", methods=["POST"])
    @takes(body=obj(REDIRECT_FIELDS, required=("slug", "destination"),
                    example={"slug": "launch", "destination": "https://example.com/launch", "tags": ["news"]}),
           body_required=True, status=201,
           errors=(409,), links=REDIRECT_LINKS)
    def create(self, request: Request):
        return self.create_row(request, ("slug", "destination"), self._new)

    @staticmethod
    def _new(body: dict):
        slug, destination, tags = clean_slug(body["slug"]), clean_destination(body["destination"]), _tags(body.get("tags"))
        return slug, sql.create_redirect, (slug, destination, tags)

    @app.route("/redirects/<redirect_id>", methods=["GET"])
    def read(self, request: Request, redirect_id: str):
        return self.read_row(request, redirect_id)

    @app.route("/redirects/<redirect_id>", methods=["PUT"])
    @takes(body=obj({name: nullable(schema) for name, schema in REDIRECT_FIELDS.items()}), errors=(409,))
    def update(self, request: Request, redirect_id: str):
        return self.update_row(request, redirect_id, self._changes)

    @staticmethod
    def _changes(body: dict) -> dict:
        changes = {}
        if body.get("slug") is not None:
            changes["slug"] = clean_slug(body["slug"])
        if body.get("destination") is not None:
            changes["destination"] = clean_destination(body["destination"])
        if "tags" in body:
            changes["tags"] = _tags(body["tags"])
        return changes

    @app.route("/redirects/<redirect_id>", methods=["DELETE"])
    def delete(self, request: Request, redirect_id: str):
        return self.delete_row(request, redirect_id)


add_error_handlers(RedirectsApi.app)
