"""What each admin API operation takes and answers, declared on its handler.

A handler is decorated with L{takes} (under its C{@app.route}); L{fazt.api.openapi} reads
the declaration back from the view Klein registered and writes the operation. The schemas are
built from the same constants the handlers validate with (name lengths, patterns, bounds), and
query parameters are read through the declarations themselves (L{query}), so the document and
the checks cannot drift apart. Statuses every operation of a kind can answer (401/403 when
secured, 405, 413 with a body, 429) are added by the document, not declared here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from twisted.web.server import Request

from fazt.base.errors import missing_field, refuse_nul, validation_failed
from fazt.base.names import SITE_NAME

JSON = "application/json"
# The largest integer SQLite binds; anything above it raises OverflowError (a 500) in the query.
MAX_SQL_INT = 2**63 - 1
# A site's name as a path or query parameter (a name no site can have is answered 404).
SITE_SCHEMA = {"type": "string", "pattern": SITE_NAME.pattern, "maxLength": 63}
ID_SCHEMA = {"type": "integer", "minimum": 0, "maximum": MAX_SQL_INT}
_CONTROL = "\\x00-\\x1f\\x7f"


def line_of_text(max_length: int) -> dict:
    """A string of 1-C{max_length} characters, no control characters, not only spaces (what the
    names of keys and webhooks are)."""
    return {"type": "string", "minLength": 1, "maxLength": max_length,
            "pattern": f"^[^{_CONTROL}]*[^\\s{_CONTROL}][^{_CONTROL}]*$"}


def nullable(schema: dict) -> dict:
    """C{schema}, or null (a field sent as null counts as absent)."""
    return {"anyOf": [schema, {"type": "null"}]}


def obj(properties: dict, required: tuple = (), example: Optional[dict] = None) -> dict:
    """A JSON object schema (other properties are allowed: handlers ignore them), with an example."""
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if example is not None:
        schema["examples"] = [example]
    return schema


@dataclass(frozen=True)
class Param:
    """A query or path parameter: its JSON schema and whether it must be given."""

    name: str
    schema: dict
    required: bool = False
    where: str = "query"
    description: str = ""

    def openapi(self) -> dict:
        """The parameter as an OpenAPI parameter object."""
        item = {"name": self.name, "in": self.where, "required": self.required or self.where == "path",
                "schema": self.schema}
        if self.description:
            item["description"] = self.description
        return item


# Every list route pages alike: the original's range for limit (1-1000, default 50), offset from 0.
LIMIT = Param("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50},
              description="How many items at most (1-1000).")
OFFSET = Param("offset", {"type": "integer", "minimum": 0, "maximum": MAX_SQL_INT, "default": 0},
               description="How many items to skip.")
PAGE = (LIMIT, OFFSET)


def query(request: Request, param: Param) -> Any:
    """The value of query parameter C{param}, checked against its declaration (400 otherwise).

    Integers must be whole numbers within the schema's bounds; strings must be UTF-8 and within
    C{maxLength}; absent (or, for an optional string, empty) gives the schema's default or None.
    """
    values = request.args.get(param.name.encode("ascii"))
    schema = param.schema
    if not values:
        if param.required:
            raise missing_field(param.name)
        return schema.get("default")
    try:
        text = values[0].decode("utf-8")
    except UnicodeDecodeError:
        raise validation_failed(param.name, f"{param.name} must be UTF-8 text") from None
    refuse_nul(param.name, text)
    if not text.strip() and param.required:
        raise missing_field(param.name)
    if schema.get("type") == "integer":
        if not re.fullmatch(r"-?[0-9]+", text):
            raise validation_failed(param.name, f"{param.name} must be a whole number")
        value = int(text)
        if not schema.get("minimum", -MAX_SQL_INT) <= value <= schema.get("maximum", MAX_SQL_INT):
            raise validation_failed(param.name, f"{param.name} must be from {schema.get('minimum')}"
                                                f" to {schema.get('maximum')}")
        return value
    if not text and "enum" not in schema:
        return schema.get("default")
    if len(text) > schema.get("maxLength", len(text)):
        raise validation_failed(param.name, f"{param.name} is longer than {schema['maxLength']} characters")
    if "enum" in schema and text not in schema["enum"]:
        raise validation_failed(param.name, f"{param.name} must be one of {', '.join(schema['enum'])}")
    return text


@dataclass(frozen=True)
class Takes:
    """The declaration of one operation (see L{takes})."""

    params: tuple[Param, ...] = ()
    body: Optional[dict] = None
    body_media: str = JSON
    body_required: bool = False
    status: int = 200
    answer_media: str = JSON
    answer_schema: Optional[dict] = None
    paged: bool = False
    errors: tuple[int, ...] = ()
    summary: str = ""
    headers: dict = field(default_factory=dict)
    secured: Optional[bool] = None      # None: as the kind of route says (the API is, public ones not)
    documented: bool = True             # False: a catch-all route that only answers 404
    links: dict = field(default_factory=dict)  # OpenAPI links of the success answer


def takes(**declared) -> Callable:
    """Declare what the decorated handler takes and answers (the keyword arguments of L{Takes}).

    C{params}: query parameters (path parameters are found in the route; give one here only to
    type it); C{body}: the JSON schema of its body; C{status}: its success status; C{paged}: it
    answers a page (limit/offset are added); C{errors}: statuses besides the usual ones.
    """
    declaration = Takes(**declared)

    def mark(function: Callable) -> Callable:
        function.fazt_takes = declaration
        return function

    return mark


def declaration_of(view: Any) -> Takes:
    """The L{Takes} of a handler (an empty one when it declares nothing)."""
    return getattr(view, "fazt_takes", None) or Takes()
