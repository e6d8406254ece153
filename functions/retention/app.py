"""Retention: once a day, prune expired sessions, spent tokens and old request timings (audited as counts)."""

from __future__ import annotations

from typing import Any

from warroom.core.job_runs import recorded_job
from warroom.core.logs import configure_logging
from warroom.system.retention import run_retention

logger = configure_logging("retention")


@logger.inject_lambda_context
@recorded_job("retention")
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    """The rows deleted per table (the same counts are in the `retention.prune` audit entry)."""
    return run_retention()
