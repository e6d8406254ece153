"""Bodies and answers of the auth routes.

Every body forbids unknown fields and bounds every field. Passwords are ``str`` up to 256
characters here; the policy (:mod:`warroom.auth.passwords`) then applies its own 12-character /
72-byte limits with a helpful message. No answer model has a field for a password hash, a token
hash or (after setup) a TOTP secret.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from warroom.core.security import Role

# The HTML living standard's definition of a valid email address (what browsers check for type=email): it
# accepts private and special-use domains such as the local cloud's admin@warroom.local, which pydantic's
# EmailStr (email-validator) refuses.
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


def _valid_email(value: str) -> str:
    """The address with its domain in lower case (the local part is kept as typed)."""
    if not _EMAIL.match(value):
        raise ValueError("not a valid email address")
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=255),
    AfterValidator(_valid_email),
    Field(json_schema_extra={"format": "email"}),
]
Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]
NewPassword = Annotated[str, StringConstraints(min_length=1, max_length=256)]
OpaqueToken = Annotated[str, StringConstraints(min_length=16, max_length=512, pattern=r"^[A-Za-z0-9_\-.=]+$")]
TotpCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{6}$")]
FullName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterBody(Body):
    email: Email
    password: NewPassword
    full_name: FullName | None = None


class LoginBody(Body):
    email: Email
    password: Password


class RefreshBody(Body):
    refresh_token: OpaqueToken


class ProfileUpdate(Body):
    """Only the name can be changed here (a new email would need verifying first: out of scope)."""

    full_name: FullName


class NotificationsOut(BaseModel):
    alerts: bool = Field(description="Crisis alert emails (managers and admins; severity >= the setting).")
    daily_brief: bool = Field(description="The daily intelligence brief by email.")


class NotificationsUpdate(Body):
    alerts: bool | None = None
    daily_brief: bool | None = None


class PasswordChangeBody(Body):
    current_password: Password
    new_password: NewPassword


class PasswordForgotBody(Body):
    email: Email


class PasswordResetBody(Body):
    token: OpaqueToken
    new_password: NewPassword


class EmailVerifyBody(Body):
    token: OpaqueToken


class PasswordConfirmBody(Body):
    password: Password


class MfaVerifyBody(Body):
    """``{code}`` with a Bearer token turns MFA on; ``{mfa_token, code}`` completes a login."""

    code: TotpCode
    mfa_token: Annotated[str, StringConstraints(min_length=16, max_length=2048)] | None = None


class MfaDisableBody(Body):
    password: Password
    code: TotpCode


class TokenVerifyBody(Body):
    token: Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class UserOut(BaseModel):
    """A user as they may see themselves (no secret of any kind)."""

    id: str
    email: str
    full_name: str | None
    role: Role
    status: Literal["pending", "active", "deactivated"]
    email_verified: bool
    email_verified_at: dt.datetime | None
    mfa_enabled: bool
    last_login_at: dt.datetime | None
    created_at: dt.datetime


class TokenPairOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 -- the OAuth 2 token type, not a secret
    expires_in: int = Field(description="Seconds until the access token expires.")
    user: UserOut
    mfa_enrolment_required: bool = Field(
        False,
        description="This was the one grace login of a manager or admin without MFA while MFA is required: "
        "enrol now (mfa/setup, mfa/verify); the next login without MFA is refused.",
    )


class MfaChallengeOut(BaseModel):
    """A correct password of an account with MFA: send ``{mfa_token, code}`` to ``POST /auth/mfa/verify``."""

    mfa_required: Literal[True] = True
    mfa_token: str
    expires_in: int


class MfaSetupOut(BaseModel):
    secret: str
    otpauth_uri: str


class MfaStatusOut(BaseModel):
    mfa_enabled: bool
    mfa_enabled_at: dt.datetime | None = None


class AcceptedOut(BaseModel):
    message: str


class SessionOut(BaseModel):
    id: str
    user_agent: str | None
    ip_address: str | None
    created_at: dt.datetime
    last_used_at: dt.datetime
    expires_at: dt.datetime
    current: bool


class PermissionsOut(BaseModel):
    role: Role
    roles: list[Role] = Field(description="Every role, weakest first.")
    granted_roles: list[Role] = Field(description="The roles whose routes this user may call.")
    can_read: bool
    can_write: bool
    can_manage: bool
    can_administer: bool
    can_change_data_mode: bool


class TokenVerifyOut(BaseModel):
    valid: bool
    sub: str | None = None
    role: Role | None = None
    exp: dt.datetime | None = None
    reason: str | None = None
