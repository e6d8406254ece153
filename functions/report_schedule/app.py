"""Scheduled reports: every 15 minutes, build the reports whose schedule is due, once per period, and email a link."""

from __future__ import annotations

from typing import Any

from warroom.core.job_runs import recorded_job
from warroom.core.logs import configure_logging
from warroom.reports.schedules import run_due_schedules

logger = configure_logging("report_schedule")


@logger.inject_lambda_context
@recorded_job("report_schedule")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The event's ``time`` is "now"; idempotent per schedule and period (a re-run builds nothing twice)."""
    return run_due_schedules(event)
