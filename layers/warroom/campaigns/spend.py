"""Spend and results per platform for other domains (the dashboard KPIs, the daily brief), from ``campaign_days``.

Example
-------
>>> spend_today(conn)                    # None while no campaign has a row today
Decimal('1234.50')
>>> spend_this_week(conn)                # Monday (UTC) to today
>>> platform_totals(conn, dt.date(2026, 11, 20))[0]["platform"]
'google_ads'

Sums are numeric in SQL (exact); derived figures are for the caller to make from them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import psycopg

_PLATFORM_TOTALS = """
SELECT c.platform, count(*) AS campaigns, sum(d.spend) AS spend, sum(d.impressions) AS impressions,
       sum(d.clicks) AS clicks, sum(d.conversions) AS conversions
FROM campaign_days d JOIN campaigns c ON c.id = d.campaign_id
WHERE d.day = %s GROUP BY c.platform ORDER BY c.platform"""


def platform_totals(conn: psycopg.Connection, day: dt.date) -> list[dict[str, Any]]:
    """Per platform on ``day``: campaigns with a row, spend, impressions, clicks, conversions (None when none)."""
    return conn.execute(_PLATFORM_TOTALS, (day,)).fetchall()


def _spend_between(conn: psycopg.Connection, since: dt.date, until: dt.date) -> Decimal | None:
    row = conn.execute(
        "SELECT count(*) AS n, sum(spend) AS spend FROM campaign_days WHERE day BETWEEN %s AND %s", (since, until)
    ).fetchone()
    return row["spend"] if row["n"] else None


def spend_today(conn: psycopg.Connection, today: dt.date | None = None) -> Decimal | None:
    """Spend recorded today (UTC) across platforms, or None while there are no campaign data today."""
    today = today or dt.datetime.now(dt.UTC).date()
    return _spend_between(conn, today, today)


def spend_this_week(conn: psycopg.Connection, today: dt.date | None = None) -> Decimal | None:
    """Spend from this week's Monday (UTC) to today, or None while there are no campaign data this week."""
    today = today or dt.datetime.now(dt.UTC).date()
    return _spend_between(conn, today - dt.timedelta(days=today.weekday()), today)
