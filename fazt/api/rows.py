"""The admin routes of resources that are plain rows (redirects, webhooks): one way to list, read,
create, change and delete them.

A module describes its resource with a L{RowKind} (its store functions, its name, the field a
conflict names) and declares its routes (paths, OpenAPI declarations, validation of bodies); the
handlers call the methods of L{RowRoutes}, which hold the flow, the statuses and the error codes
once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from twisted.internet.defer import inlineCallbacks
from twisted.web.server import Request

from fazt.api.common import AdminRoutes
from fazt.base.errors import ApiError, missing_field, validation_failed
from fazt.store.errors import Conflict
from fazt.web.envelope import iso, json_object, ok, page_args
from fazt.web.spec import MAX_SQL_INT


def path_id(value: str, not_found: ApiError) -> int:
    """A numeric C{{id}} from a path; 400 when not a number, C{not_found} when out of range."""
    if not value.isascii() or not value.isdigit():
        raise validation_failed("id", "id must be a whole number")
    number = int(value)
    if number > MAX_SQL_INT:
        raise not_found
    return number


@dataclass(frozen=True)
class RowKind:
    """One plain-row resource: its store functions and how the API names it."""

    name: str                       # "redirect": in messages, audit actions and resources
    unique: str                     # the field a taken value names in a 409: "slug"
    page: Callable[..., list]       # store function (conn, limit, offset)
    count: Callable[..., int]       # store function (conn)
    get: Callable[..., Any]         # store function (conn, id) -> row or None
    update: Callable[..., Any]      # store function (conn, id, changes) -> row or None
    delete: Callable[..., bool]     # store function (conn, id)

    def not_found(self, row_id) -> ApiError:
        return ApiError(404, f"{self.name.upper()}_NOT_FOUND", f"{self.name} {row_id} does not exist")

    def conflict(self, value: str) -> ApiError:
        return ApiError(409, "CONFLICT", f"{self.unique} '{value}' is already taken", {"field": self.unique})


def row_json(row: dict) -> dict:
    """A row as the API shows it: C{created_at} in ISO 8601."""
    return {**row, "created_at": iso(row["created_at"])}


class RowRoutes(AdminRoutes):
    """Base of the route classes of a plain-row resource (admin only); C{kind} says which."""

    kind: RowKind

    @inlineCallbacks
    def list_rows(self, request: Request):
        yield self._admin(request)
        limit, offset = page_args(request)
        rows = yield self.store.read(self.kind.page, limit, offset)
        total = yield self.store.read(self.kind.count)
        return ok(request, [row_json(r) for r in rows], meta={"total": total, "limit": limit, "offset": offset})

    @inlineCallbacks
    def create_row(self, request: Request, required: tuple[str, ...],
                   values: Callable[[dict], tuple[str, Callable[..., dict], tuple]]):
        """Create from the body: C{values(body)} checks it and gives (unique value, store function, arguments)."""
        yield self._admin(request)
        body = json_object(request)
        for name in required:
            if body.get(name) is None:
                raise missing_field(name)
        unique, create, args = values(body)
        try:
            created = yield self.store.write(create, *args, int(self._clock.seconds()))
        except Conflict:
            raise self.kind.conflict(unique) from None
        return ok(request, row_json(created), status=201)

    @inlineCallbacks
    def read_row(self, request: Request, raw_id: str):
        yield self._admin(request)
        number = path_id(raw_id, self.kind.not_found(raw_id))
        found = yield self.store.read(self.kind.get, number)
        if found is None:
            raise self.kind.not_found(number)
        return ok(request, row_json(found))

    @inlineCallbacks
    def update_row(self, request: Request, raw_id: str, changes_in: Callable[[dict], dict]):
        """Change from the body: C{changes_in(body)} checks it and gives the changes."""
        yield self._admin(request)
        number = path_id(raw_id, self.kind.not_found(raw_id))
        changes = changes_in(json_object(request))
        try:
            updated = yield self.store.write(self.kind.update, number, changes)
        except Conflict:
            raise self.kind.conflict(changes.get(self.kind.unique, "")) from None
        if updated is None:
            raise self.kind.not_found(number)
        return ok(request, row_json(updated))

    @inlineCallbacks
    def delete_row(self, request: Request, raw_id: str):
        yield self._admin(request)
        number = path_id(raw_id, self.kind.not_found(raw_id))
        deleted = yield self.store.write(self.kind.delete, number)
        if not deleted:
            raise self.kind.not_found(number)
        yield self.auth.audit_request(request, f"{self.kind.name}.delete", f"{self.kind.name}:{number}")
        return ok(request, {"id": number, "message": f"{self.kind.name.capitalize()} deleted"})
