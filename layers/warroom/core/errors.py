"""One exception hierarchy, mapped in one place (:func:`to_error_body`) to the one error shape.

Every error a client sees is ``{"error": {"code": ..., "message": ..., "details": ...}}`` with the
status of the exception's class. Anything that is not a :class:`WarRoomError` becomes a 500 whose
message says nothing about the internals.

Example
-------
>>> raise NotFound("No setting named 'colour'.", details={"key": "colour"})
"""

from __future__ import annotations

from typing import Any


class WarRoomError(Exception):
    """Base of every error that is turned into an HTTP answer."""

    status_code: int = 500
    code: str = "internal_error"
    default_message: str = "An internal error occurred."

    def __init__(self, message: str | None = None, *, details: Any = None, headers: dict[str, str] | None = None):
        self.message = message or self.default_message
        self.details = details
        self.headers = headers or {}
        super().__init__(self.message)


class BadRequest(WarRoomError):
    status_code, code, default_message = 400, "bad_request", "The request could not be read."


class Unauthorized(WarRoomError):
    status_code, code, default_message = 401, "unauthorized", "Authentication is required."

    def __init__(self, message: str | None = None, *, details: Any = None):
        super().__init__(message, details=details, headers={"WWW-Authenticate": 'Bearer realm="warroom"'})


class Forbidden(WarRoomError):
    status_code, code, default_message = 403, "forbidden", "You do not have permission to do this."


class BearerTokenRequired(Forbidden):
    """An action of a signed-in person (administration, their own sessions) attempted with an API key."""

    code, default_message = "bearer_token_required", "This needs a signed-in user (a Bearer token), not an API key."


class NotFound(WarRoomError):
    status_code, code, default_message = 404, "not_found", "The resource was not found."


class MethodNotAllowed(WarRoomError):
    status_code, code, default_message = 405, "method_not_allowed", "This method is not allowed here."


class Conflict(WarRoomError):
    status_code, code, default_message = 409, "conflict", "The request conflicts with the current state."


class PayloadTooLarge(WarRoomError):
    status_code, code, default_message = 413, "payload_too_large", "The request body is too large."


class UnsupportedMediaType(WarRoomError):
    status_code, code, default_message = 415, "unsupported_media_type", "The request body must be JSON."


class ValidationFailed(WarRoomError):
    status_code, code, default_message = 422, "validation_error", "The request has invalid fields."


class InvalidCursor(ValidationFailed):
    """A list's ``cursor`` that this list did not hand out (forged, foreign or malformed)."""

    code = "invalid_cursor"
    default_message = "The cursor is not valid; use next_cursor from a previous page of this list."


class TooManyRequests(WarRoomError):
    status_code, code, default_message = 429, "rate_limited", "Too many requests; slow down."

    def __init__(self, message: str | None = None, *, retry_after_s: int, details: Any = None):
        super().__init__(message, details=details, headers={"Retry-After": str(max(1, int(retry_after_s)))})


class DependencyUnavailable(WarRoomError):
    """A backing service (PostgreSQL, an AWS service, a vendor API) cannot be reached right now."""

    status_code, code = 503, "service_unavailable"
    default_message = "A service this request needs is unavailable; try again shortly."

    def __init__(self, dependency: str, message: str | None = None, *, retry_after_s: int = 5):
        super().__init__(
            message or f"The {dependency} service is unavailable; try again shortly.",
            details={"dependency": dependency},
            headers={"Retry-After": str(retry_after_s)},
        )


def to_error_body(error: WarRoomError) -> dict[str, Any]:
    """The one error shape."""
    return {"error": {"code": error.code, "message": error.message, "details": error.details}}
