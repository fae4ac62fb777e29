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
