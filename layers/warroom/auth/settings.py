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
SETTINGS = (REGISTRATION_OPEN, RETENTION_SESSIONS_DAYS, RETENTION_REFRESH_TOKENS_DAYS, RETENTION_EMAIL_TOKENS_DAYS)
