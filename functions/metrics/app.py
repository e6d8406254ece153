"""Metrics: the dashboard KPIs."""

from __future__ import annotations

from typing import Any

from warroom.auth.guard import authenticate_request
from warroom.core.http import WarRoomApp
from warroom.dashboard.kpis import dashboard_kpis
from warroom.dashboard.models import DashboardKpisOut

app = WarRoomApp("metrics", authenticate=authenticate_request)


@app.endpoint("GET", "/api/v1/metrics/dashboard", role="readonly", response=DashboardKpisOut)
def get_dashboard() -> dict[str, Any]:
    """Dashboard KPIs (cached for 60 s by KpiRefreshFunction; recomputed from the rollups when the cache is empty)."""
    return dashboard_kpis()
