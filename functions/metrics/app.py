"""Metrics: the dashboard KPIs."""

from __future__ import annotations

from typing import Any

from warroom.core.http import WarRoomApp
from warroom.mentions.kpis import dashboard_kpis

app = WarRoomApp("metrics")


@app.endpoint("GET", "/api/v1/metrics/dashboard", role="readonly")
def get_dashboard() -> dict[str, Any]:
    """Dashboard KPIs (cached for 60 s by KpiRefreshFunction; recomputed from the rollups when the cache is empty)."""
    return dashboard_kpis()
