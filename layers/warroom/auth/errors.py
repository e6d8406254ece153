"""The auth routes' own answers: the core error classes with a more precise ``code``.

Example
-------
>>> raise InvalidCredentials()        # 401 {"error": {"code": "invalid_credentials", ...}}
"""

from __future__ import annotations

from typing import Any

from warroom.core.errors import Conflict, Forbidden, TooManyRequests, Unauthorized, ValidationFailed


class InvalidCredentials(Unauthorized):
    """Wrong email or password (one message for both, so the answer never tells which)."""

    code, default_message = "invalid_credentials", "The email or password is incorrect."


class InvalidRefreshToken(Unauthorized):
    code, default_message = "invalid_refresh_token", "The refresh token is invalid, expired or revoked; log in again."


class InvalidMfaToken(Unauthorized):
    code, default_message = "invalid_mfa_token", "The sign-in step has expired or is invalid; log in again."


class AccountDeactivated(Forbidden):
    code, default_message = "account_deactivated", "This account has been deactivated; ask an administrator."


class MfaEnrolmentRequired(Forbidden):
    code = "mfa_enrolment_required"
    default_message = (
        "Managers and admins sign in with MFA; the grace login to enrol was used. Ask an admin to reset it."
    )


class AccountPending(Forbidden):
    code = "account_pending"
    default_message = "This account waits for its email to be verified and an administrator's approval."


class RegistrationClosed(Forbidden):
    code, default_message = "registration_closed", "Self-registration is closed; ask an administrator for an account."


class EmailTaken(Conflict):
    code, default_message = "email_taken", "An account with this email already exists."


class MfaStateConflict(Conflict):
    code = "mfa_state_conflict"


class WeakPassword(ValidationFailed):
    code, default_message = "weak_password", "The password is too weak."


class InvalidPassword(ValidationFailed):
    """A signed-in user's current password did not match (422, not 401: their token is fine)."""

    code, default_message = "invalid_password", "The password is incorrect."

    def __init__(self, field: str = "password"):
        super().__init__(details=[_field_error(field, "does not match", "invalid_password")])


class InvalidMfaCode(ValidationFailed):
    code, default_message = "invalid_mfa_code", "The authentication code is incorrect or was already used."

    def __init__(self) -> None:
        super().__init__(details=[_field_error("code", "is not a valid current code", "invalid_mfa_code")])


class InvalidEmailToken(ValidationFailed):
    code, default_message = "invalid_token", "The link is invalid, expired or was already used; ask for a new one."

    def __init__(self) -> None:
        super().__init__(details=[_field_error("token", "invalid, expired or already used", "invalid_token")])


class TooManyAttempts(TooManyRequests):
    code, default_message = "too_many_attempts", "Too many failed attempts; try again later."


def _field_error(field: str, msg: str, kind: str) -> dict[str, Any]:
    """One entry of ``details`` in the shape pydantic's field errors have (without the input)."""
    return {"loc": ["body", field], "msg": msg, "type": kind}
