"""Metrics job: every minute, roll up and prune request timings, refresh the system snapshot, report health changes."""

from __future__ import annotations

from typing import Any

from warroom.core.job_runs import recorded_job
from warroom.core.logs import configure_logging
from warroom.metrics.job import run_metrics_job

logger = configure_logging("metrics_job")


@logger.inject_lambda_context
@recorded_job("metrics_job")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Rows rolled up and the watermark, rows pruned, overall health, the dependency changes broadcast."""
    return run_metrics_job()
