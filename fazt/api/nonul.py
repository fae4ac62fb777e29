"""What the OpenAPI document says of U+0000: no text an admin API JSON body carries may hold it.

The API refuses NUL in every string and object key of a JSON body (L{fazt.base.errors.refuse_nul_within}:
PostgreSQL's text cannot hold it, and both engines answer alike). The document must say so, or a
client generating requests from it (Schemathesis did) sends a valid-looking body that gets 400.
JSON Schema's C{pattern} constrains only strings and C{propertyNames} only objects' keys, so both
may sit on a schema of any type; members a schema leaves open are L{NO_NUL_REF}, the same rule at
every depth (a component that refers to itself).
"""

from __future__ import annotations

from typing import Any

NO_NUL = "^[^\\x00]*$"
NO_NUL_REF = {"$ref": "#/components/schemas/NoNul"}
# The component: any JSON value whose strings and keys, at every depth, hold no U+0000.
NO_NUL_SCHEMA = {"pattern": NO_NUL, "propertyNames": {"pattern": NO_NUL},
                 "additionalProperties": NO_NUL_REF, "items": NO_NUL_REF}


def without_nul(schema: Any) -> Any:
    """C{schema} (a JSON body's), saying at every level that its strings and keys hold no U+0000."""
    if not isinstance(schema, dict) or "$ref" in schema:
        return schema
    out = dict(schema)
    kinds = out.get("type")
    kinds = {kinds} if isinstance(kinds, str) else set(kinds or ())
    if "enum" not in out and "const" not in out:
        if not kinds or "string" in kinds:
            out.setdefault("pattern", NO_NUL)
        if not kinds or "object" in kinds:
            out.setdefault("propertyNames", {"pattern": NO_NUL})
            extra = out.get("additionalProperties", True)
            if extra is not False:
                out["additionalProperties"] = dict(NO_NUL_REF) if extra is True else without_nul(extra)
        if (not kinds or "array" in kinds) and out.get("items", True) is not False:
            out["items"] = dict(NO_NUL_REF) if "items" not in out else without_nul(out["items"])
    if isinstance(out.get("properties"), dict):
        out["properties"] = {name: without_nul(member) for name, member in out["properties"].items()}
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(out.get(key), list):
            out[key] = [without_nul(member) for member in out[key]]
    return out
