"""Crisis scan: every 5 minutes, detection over the rollups of every active subject, and quiet crises resolved."""

from __future__ import annotations

from typing import Any

from warroom.core.job_runs import recorded_job
from warroom.core.logs import configure_logging
from warroom.crisis.detection import detect_crises

logger = configure_logging("crisis_scan")


@logger.inject_lambda_context
@recorded_job("crisis_scan")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Catches slow burns the per-ingest runs cannot see coming, and resolves crises with no sign of life."""
    return detect_crises(trigger="schedule").as_dict()
