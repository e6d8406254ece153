"""The crisis domain's global settings (composed into the settings routes by :mod:`warroom.system.settings`)."""

from __future__ import annotations

from typing import Annotated

import psycopg
from pydantic import Field

from warroom.core.settings import define_setting, read_settings

ALERT_EMAIL_MIN_SEVERITY = define_setting(
    "alert_email_min_severity",
    Annotated[int, Field(ge=1, le=10)],
    7,
    "Crisis alerts of at least this severity (1-10) are emailed to subscribed managers and admins.",
)
CRISIS_AUTO_RESOLVE_MINUTES = define_setting(
    "crisis_auto_resolve_minutes",
    Annotated[int, Field(ge=5, le=7 * 24 * 60)],
    60,
    "A detected crisis with no new evidence for this many minutes resolves itself.",
)
CRISIS_COOLDOWN_MINUTES = define_setting(
    "crisis_cooldown_minutes",
    Annotated[int, Field(ge=0, le=24 * 60)],
    30,
    "After a crisis on a subject is resolved, detection leaves that subject alone for this many minutes.",
)
SETTINGS = (ALERT_EMAIL_MIN_SEVERITY, CRISIS_AUTO_RESOLVE_MINUTES, CRISIS_COOLDOWN_MINUTES)


def read_crisis_settings(conn: psycopg.Connection | None = None) -> dict[str, int]:
    """The crisis settings by key, in one query (in ``conn`` when given)."""
    return {key: int(value) for key, value in read_settings(SETTINGS, conn).items()}
