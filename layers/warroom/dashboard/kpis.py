"""Dashboard KPIs, computed from the rollups; and the same figures from the raw mentions (the proof).

Example
-------
>>> kpis = compute_kpis()
>>> kpis["mentions_24h"], kpis["avg_sentiment"], kpis["top_source"]
(4321, 0.0812, {'value': 'twitter', 'mentions': 1290})
>>> compute_kpis(now) == raw_kpis(now)          # what tests/integration/test_mentions.py asserts
True

The 24-hour window ends with the current minute: ``[floor(now) + 1 min - 24 h, floor(now) + 1 min)``,
compared with the 24 hours before it. ``KpiRefreshFunction`` stores the answer under ``dashboard:kpi``
for the seed's 60 s and broadcasts it as ``dashboard:kpi-update``; ``GET /metrics/dashboard`` answers
from that cache and recomputes when it is empty.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import psycopg

from warroom.campaigns.spend import spend_this_week, spend_today
from warroom.core.cache import cache
from warroom.core.db import connection
from warroom.crisis.store import count_unresolved
from warroom.mentions.rollups import Totals, floor_minute, raw_window_totals, window_totals
from warroom.realtime import broadcast

KPI_EVENT = "dashboard:kpi-update"


def kpi_window(now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime, dt.datetime]:
    """(start of the previous 24 h, start of the last 24 h, end) in whole minutes."""
    end = floor_minute(now or dt.datetime.now(dt.UTC)) + dt.timedelta(minutes=1)
    start = end - dt.timedelta(hours=24)
    return start - dt.timedelta(hours=24), start, end


def _top(totals: dict[str, Totals]) -> dict[str, Any] | None:
    if not totals:
        return None
    value, top = min(totals.items(), key=lambda kv: (-kv[1].mentions, kv[0]))
    return {"value": value, "mentions": top.mentions} if top.mentions else None


def _figures(
    current: Totals,
    previous: Totals,
    sources: dict[str, Totals],
    topics: dict[str, Totals],
    conn: psycopg.Connection,
    window: tuple[dt.datetime, dt.datetime, dt.datetime],
) -> dict[str, Any]:
    _, start, end = window
    avg, avg_previous = current.avg_sentiment, previous.avg_sentiment
    return {
        "window": {"from": start.isoformat(), "to": end.isoformat()},
        "mentions_24h": current.mentions,
        "mentions_previous_24h": previous.mentions,
        "mentions_change_pct": (
            round((current.mentions - previous.mentions) * 100 / previous.mentions, 2) if previous.mentions else None
        ),
        "avg_sentiment": avg,
        "avg_sentiment_previous_24h": avg_previous,
        "sentiment_trend": round(avg - avg_previous, 4) if avg is not None and avg_previous is not None else None,
        "negative_share": round(current.negative / current.mentions, 4) if current.mentions else None,
        "positive_share": round(current.positive / current.mentions, 4) if current.mentions else None,
        "strongly_negative_24h": current.strongly_negative,
        "reach_24h": current.reach,
        "top_source": _top(sources),
        "top_topic": _top(topics),
        "active_crises": count_unresolved(conn),
        "campaign_spend_today": spend_today(conn),
        "campaign_spend_week": spend_this_week(conn),
    }


TotalsReader = Callable[[psycopg.Connection, str, dt.datetime, dt.datetime], dict[str, Totals]]


def _kpis(now: dt.datetime | None, totals_of: TotalsReader) -> dict[str, Any]:
    window = kpi_window(now)
    previous_start, start, end = window
    with connection() as conn:
        current = totals_of(conn, "all", start, end).get("", Totals())
        previous = totals_of(conn, "all", previous_start, start).get("", Totals())
        sources = totals_of(conn, "source", start, end)
        topics = totals_of(conn, "topic", start, end)
        figures = _figures(current, previous, sources, topics, conn, window)
    return {**figures, "computed_at": dt.datetime.now(dt.UTC).isoformat()}


def compute_kpis(now: dt.datetime | None = None) -> dict[str, Any]:
    """The dashboard KPIs from the rollups."""
    return _kpis(now, window_totals)


def raw_kpis(now: dt.datetime | None = None) -> dict[str, Any]:
    """The same KPIs aggregated straight from ``mentions`` (tests and the benchmark compare the two)."""
    return _kpis(now, raw_window_totals)


def refresh_kpis(now: dt.datetime | None = None) -> dict[str, Any]:
    """Compute, store under ``dashboard:kpi`` (60 s) and broadcast ``dashboard:kpi-update``."""
    kpis = compute_kpis(now)
    cache.set_json("dashboard_kpis", kpis)
    broadcast(KPI_EVENT, kpis)
    return kpis


def dashboard_kpis() -> dict[str, Any]:
    """The cached KPIs, or freshly computed (and cached) when the cache is empty or Redis is down."""
    cached = cache.get_json("dashboard_kpis")
    if cached is not None:
        return cached
    kpis = compute_kpis()
    cache.set_json("dashboard_kpis", kpis)
    return kpis
