"""Daily brief: every hour, and at 06:00 campaign time only, build, store, broadcast and email the day's brief."""

from __future__ import annotations

from typing import Any

from warroom.core.job_runs import recorded_job
from warroom.core.logs import configure_logging
from warroom.intelligence.briefing import run_scheduled_brief

logger = configure_logging("daily_brief")


@logger.inject_lambda_context
@recorded_job("daily_brief")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Acts when the event's ``time`` is hour 06 in the ``timezone`` setting (or ``detail.force`` / ``detail.date``).

    Idempotent: the day's brief is stored once, so a repeated run reports ``acted: false``.
    """
    return run_scheduled_brief(event)
