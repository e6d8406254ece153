"""Spend and results per platform from ``campaign_data`` (one row per platform, campaign and day).

Example
-------
>>> spend_today(conn)                    # None while there are no campaign data today
1234.5
>>> platform_totals(conn, dt.date(2026, 11, 20))[0]["platform"]
'meta'

Metrics are JSONB (each platform's own names mapped to ``spend``, ``impressions``, ``clicks``,
``conversions``); a value that is not a number is left out of the sums rather than failing them.
Rows of ``platform = 'mentionlytics'`` (the seed's social metrics) are not campaigns.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg

_PLATFORM_TOTALS = """
SELECT platform, count(DISTINCT campaign_id) AS campaigns,
       sum((metrics->>'spend')::numeric) FILTER (WHERE jsonb_typeof(metrics->'spend') = 'number') AS spend,
       sum((metrics->>'impressions')::numeric)
           FILTER (WHERE jsonb_typeof(metrics->'impressions') = 'number') AS impressions,
       sum((metrics->>'clicks')::numeric) FILTER (WHERE jsonb_typeof(metrics->'clicks') = 'number') AS clicks,
       sum((metrics->>'conversions')::numeric)
           FILTER (WHERE jsonb_typeof(metrics->'conversions') = 'number') AS conversions
FROM campaign_data WHERE date_recorded = %s AND platform <> 'mentionlytics'
GROUP BY platform ORDER BY platform"""


def platform_totals(conn: psycopg.Connection, day: dt.date) -> list[dict[str, Any]]:
    """Per platform on ``day``: campaigns, spend, impressions, clicks, conversions (None where never numeric)."""
    return conn.execute(_PLATFORM_TOTALS, (day,)).fetchall()


def spend_today(conn: psycopg.Connection) -> float | None:
    """Spend recorded today (UTC) across platforms, or None while there are no campaign data."""
    row = conn.execute(
        "SELECT count(*) AS n, sum((metrics->>'spend')::numeric) AS spend FROM campaign_data"
        " WHERE date_recorded = (now() AT TIME ZONE 'UTC')::date AND platform <> 'mentionlytics'"
        " AND jsonb_typeof(metrics->'spend') = 'number'"
    ).fetchone()
    return float(row["spend"]) if row["n"] else None
