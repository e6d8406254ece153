"""The identity domain's global settings (composed into the settings routes by :mod:`warroom.system.settings`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from warroom.core.settings import define_setting

REGISTRATION_OPEN = define_setting(
    "registration_open",
    bool,
    False,
    "Whether people may create their own accounts (off: admins create users). A self-registered account is "
    "pending -- it cannot sign in -- until its email is verified and an admin approves it.",
)


def _mfa_required_by_default() -> bool:
    from warroom.core.data_mode import get_data_mode

    return get_data_mode() != "MOCK"  # on wherever data is real; off for a laptop's MOCK playground


MFA_REQUIRED_FOR_PRIVILEGED = define_setting(
    "mfa_required_for_privileged",
    bool,
    None,
    "Managers and admins must sign in with MFA (ASVS 6.3.3); one not yet enrolled gets one grace login to enrol. "
    "Defaults to on outside MOCK mode.",
    default_factory=_mfa_required_by_default,
)
RETENTION_SESSIONS_DAYS = define_setting(
    "retention_sessions_days",
    Annotated[int, Field(ge=1, le=3650)],
    90,
    "Sessions that ended (expired or revoked) this many days ago are pruned, with their refresh tokens.",
)
RETENTION_REFRESH_TOKENS_DAYS = define_setting(
    "retention_refresh_tokens_days",
    Annotated[int, Field(ge=1, le=3650)],
    30,
    "Spent refresh tokens that expired this many days ago are pruned (until then a replay revokes the session).",
)
RETENTION_EMAIL_TOKENS_DAYS = define_setting(
    "retention_email_tokens_days",
    Annotated[int, Field(ge=1, le=3650)],
    30,
    "Email verification and password reset tokens used or expired this many days ago are pruned.",
)
SETTINGS = (
    REGISTRATION_OPEN,
    MFA_REQUIRED_FOR_PRIVILEGED,
    RETENTION_SESSIONS_DAYS,
    RETENTION_REFRESH_TOKENS_DAYS,
    RETENTION_EMAIL_TOKENS_DAYS,
)
