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
from typing import Any

import psycopg

from warroom.core.cache import cache
from warroom.core.db import connection
from warroom.mentions.models import NEGATIVE_BELOW, POSITIVE_ABOVE, STRONGLY_NEGATIVE_BELOW
from warroom.mentions.rollups import Totals, floor_minute, window_totals
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
        "active_crises": _active_crises(conn),
        "campaign_spend_today": _campaign_spend_today(conn),
    }


def _active_crises(conn: psycopg.Connection) -> int:
    """Crises not yet resolved: an acknowledged crisis is being handled, and still a crisis."""
    return int(conn.execute("SELECT count(*) AS n FROM crisis_events WHERE status <> 'resolved'").fetchone()["n"])


def _campaign_spend_today(conn: psycopg.Connection) -> float | None:
    """Spend recorded today across platforms (``metrics.spend``), or None while there are no campaign data."""
    row = conn.execute(
        "SELECT count(*) AS n, sum((metrics->>'spend')::numeric) AS spend FROM campaign_data"
        " WHERE date_recorded = (now() AT TIME ZONE 'UTC')::date AND platform <> 'mentionlytics'"
        " AND jsonb_typeof(metrics->'spend') = 'number'"
    ).fetchone()
    return float(row["spend"]) if row["n"] else None


def compute_kpis(now: dt.datetime | None = None) -> dict[str, Any]:
    """The dashboard KPIs from the rollups."""
    window = kpi_window(now)
    previous_start, start, end = window
    with connection() as conn:
        current = window_totals(conn, "all", start, end).get("", Totals())
        previous = window_totals(conn, "all", previous_start, start).get("", Totals())
        sources = window_totals(conn, "source", start, end)
        topics = window_totals(conn, "topic", start, end)
        figures = _figures(current, previous, sources, topics, conn, window)
    return {**figures, "computed_at": dt.datetime.now(dt.UTC).isoformat()}


_RAW_TOTALS = f"""
SELECT count(*) AS mentions, coalesce(sum(sentiment_score), 0) AS sentiment_sum,
       count(sentiment_score) AS sentiment_count,
       count(*) FILTER (WHERE sentiment_score > {POSITIVE_ABOVE}) AS positive,
       count(*) FILTER (WHERE sentiment_score < {NEGATIVE_BELOW}) AS negative,
       count(*) FILTER (WHERE sentiment_score < {STRONGLY_NEGATIVE_BELOW}) AS strongly_negative,
       coalesce(sum(reach), 0) AS reach
FROM mentions WHERE published_at >= %s AND published_at < %s"""  # noqa: S608  (constants of ours)


def raw_kpis(now: dt.datetime | None = None) -> dict[str, Any]:
    """The same KPIs aggregated straight from ``mentions`` (tests and the benchmark compare the two)."""
    window = kpi_window(now)
    previous_start, start, end = window
    with connection() as conn:
        current = Totals.of(conn.execute(_RAW_TOTALS, (start, end)).fetchone())
        previous = Totals.of(conn.execute(_RAW_TOTALS, (previous_start, start)).fetchone())
        sources = {
            row["source"]: Totals(mentions=row["n"])
            for row in conn.execute(
                "SELECT source, count(*) AS n FROM mentions WHERE published_at >= %s AND published_at < %s"
                " GROUP BY source",
                (start, end),
            )
        }
        topics = {
            row["topic"]: Totals(mentions=row["n"])
            for row in conn.execute(
                "SELECT t AS topic, count(*) AS n FROM mentions, LATERAL (SELECT DISTINCT unnest(topics)) AS u(t)"
                " WHERE published_at >= %s AND published_at < %s GROUP BY t",
                (start, end),
            )
        }
        figures = _figures(current, previous, sources, topics, conn, window)
    return {**figures, "computed_at": dt.datetime.now(dt.UTC).isoformat()}


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
