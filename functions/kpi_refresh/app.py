"""KPI refresh: every minute, compute the dashboard KPIs from the rollups, cache them and broadcast them."""

from __future__ import annotations

from typing import Any

from warroom.core.job_runs import recorded_job
from warroom.core.logs import configure_logging
from warroom.dashboard.kpis import refresh_kpis

logger = configure_logging("kpi_refresh")


@logger.inject_lambda_context
@recorded_job("kpi_refresh")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Stores `dashboard:kpi` (60 s) and broadcasts `dashboard:kpi-update`."""
    return refresh_kpis()
