"""The crisis domain's global settings (registered when :mod:`warroom.system.settings` loads)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from warroom.system.settings import register_setting

register_setting(
    "alert_email_min_severity",
    Annotated[int, Field(ge=1, le=10)],
    7,
    "Crisis alerts of at least this severity (1-10) are emailed to subscribed managers and admins.",
)
register_setting(
    "crisis_auto_resolve_minutes",
    Annotated[int, Field(ge=5, le=7 * 24 * 60)],
    60,
    "A detected crisis with no new evidence for this many minutes resolves itself.",
)
register_setting(
    "crisis_cooldown_minutes",
    Annotated[int, Field(ge=0, le=24 * 60)],
    30,
    "After a crisis on a subject is resolved, detection leaves that subject alone for this many minutes.",
)
