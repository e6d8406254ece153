"""Metrics: the dashboard KPIs, API performance per endpoint, and the system's operational state."""

from __future__ import annotations

from typing import Any

from warroom.auth.guard import authenticate_request
from warroom.core.http import WarRoomApp
from warroom.dashboard.kpis import dashboard_kpis
from warroom.dashboard.models import DashboardKpisOut
from warroom.metrics.models import ApiMetricsOut, ApiMetricsQuery, SystemMetricsOut

app = WarRoomApp("metrics", authenticate=authenticate_request)


@app.endpoint("GET", "/api/v1/metrics/dashboard", role="readonly", response=DashboardKpisOut)
def get_dashboard() -> dict[str, Any]:
    """Dashboard KPIs (cached for 60 s by KpiRefreshFunction; recomputed from the rollups when the cache is empty)."""
    return dashboard_kpis()


@app.endpoint("GET", "/api/v1/metrics/api", role="manager", query=ApiMetricsQuery, response=ApiMetricsOut)
def get_api_metrics(query: ApiMetricsQuery) -> ApiMetricsOut:
    """Per endpoint over the period: requests, p50/p95/p99 latency, 5xx and 4xx rates (rollups + newest raw rows)."""
    from warroom.metrics.api import api_metrics

    return api_metrics(query)


@app.endpoint("GET", "/api/v1/metrics/system", role="manager", response=SystemMetricsOut)
def get_system_metrics() -> SystemMetricsOut:
    """Queue depths and DLQ sizes, open sockets, scheduled jobs' last runs, sources, health and data mode."""
    from warroom.metrics.system import system_metrics

    return system_metrics()
