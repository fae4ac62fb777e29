"""Errors a client is told about: an HTTP status, a stable code and a message (SPEC §9)."""

from __future__ import annotations

from typing import Any, Optional


class ApiError(Exception):
    """An error answered as C{{"error": {"code", "message", "details"?}}} with C{status}."""

    def __init__(self, status: int, code: str, message: str, details: Optional[dict[str, Any]] = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def envelope(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}


def missing_field(field: str) -> ApiError:
    return ApiError(400, "MISSING_FIELD", f"{field} is required", {"field": field})


def validation_failed(field: str, message: str) -> ApiError:
    return ApiError(400, "VALIDATION_FAILED", message, {"field": field})


def payload_too_large(message: str) -> ApiError:
    return ApiError(413, "PAYLOAD_TOO_LARGE", message)


def refuse_nul(field: str, text: str) -> str:
    """C{text}, or 400 VALIDATION_FAILED if it holds U+0000: no stored text may (PostgreSQL's
    text cannot), so the API refuses it the same way on both engines (fazt.store.text)."""
    if "\x00" in text:
        raise validation_failed(field, f"{field} must not contain the character U+0000 (NUL)")
    return text


def refuse_nul_within(value: Any, field: str = "body") -> None:
    """L{refuse_nul} on every string of a parsed JSON value (object keys included); C{field} names
    the top-level member it was found under."""
    if isinstance(value, str):
        refuse_nul(field, value)
    elif isinstance(value, dict):
        for key, member in value.items():
            name = key if field == "body" else field
            refuse_nul(name, key)
            refuse_nul_within(member, name)
    elif isinstance(value, list):
        for member in value:
            refuse_nul_within(member, field)
