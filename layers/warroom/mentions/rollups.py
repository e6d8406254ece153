"""Reading the rollups: totals over any minute-aligned window, exact, from whole hours plus minute edges.

Example
-------
>>> with connection() as conn:
...     totals = window_totals(conn, "source", start, end)
>>> totals["twitter"].mentions, totals["twitter"].avg_sentiment

``[start, end)`` is read from ``mention_rollups_hour`` for the whole hours inside it and from
``mention_rollups_minute`` for the minutes at either edge, so a 24-hour window costs about 24 + 118
rows per value instead of a scan of the mentions. Both ends must be whole minutes (callers truncate).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg

_TOTALS = """
SELECT value, sum(mentions) AS mentions, sum(sentiment_sum) AS sentiment_sum,
       sum(sentiment_count) AS sentiment_count, sum(positive) AS positive, sum(negative) AS negative,
       sum(strongly_negative) AS strongly_negative, sum(reach) AS reach
FROM (
    SELECT value, mentions, sentiment_sum, sentiment_count, positive, negative, strongly_negative, reach
    FROM mention_rollups_hour
    WHERE dimension = %(dimension)s AND bucket >= %(hour_start)s AND bucket < %(hour_end)s
    UNION ALL
    SELECT value, mentions, sentiment_sum, sentiment_count, positive, negative, strongly_negative, reach
    FROM mention_rollups_minute
    WHERE dimension = %(dimension)s
      AND ((bucket >= %(start)s AND bucket < %(hour_start)s) OR (bucket >= %(hour_end)s AND bucket < %(end)s))
) AS parts
GROUP BY value
"""


@dataclass(frozen=True)
class Totals:
    mentions: int = 0
    sentiment_sum: Decimal = Decimal(0)
    sentiment_count: int = 0
    positive: int = 0
    negative: int = 0
    strongly_negative: int = 0
    reach: int = 0

    @property
    def avg_sentiment(self) -> float | None:
        return round(float(self.sentiment_sum / self.sentiment_count), 4) if self.sentiment_count else None

    @classmethod
    def of(cls, row: dict[str, Any]) -> Totals:
        return cls(
            int(row["mentions"] or 0),
            Decimal(row["sentiment_sum"] or 0),
            int(row["sentiment_count"] or 0),
            int(row["positive"] or 0),
            int(row["negative"] or 0),
            int(row["strongly_negative"] or 0),
            int(row["reach"] or 0),
        )


def floor_minute(moment: dt.datetime) -> dt.datetime:
    return moment.replace(second=0, microsecond=0)


def _hour_span(start: dt.datetime, end: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    hour_start = start.replace(minute=0, second=0, microsecond=0)
    if hour_start < start:
        hour_start += dt.timedelta(hours=1)
    hour_end = end.replace(minute=0, second=0, microsecond=0)
    return (hour_start, hour_end) if hour_start < hour_end else (end, end)


def window_totals(conn: psycopg.Connection, dimension: str, start: dt.datetime, end: dt.datetime) -> dict[str, Totals]:
    """Totals per value of ``dimension`` for mentions published in ``[start, end)`` (whole minutes)."""
    start, end = floor_minute(start), floor_minute(end)
    hour_start, hour_end = _hour_span(start, end)
    rows = conn.execute(
        _TOTALS,
        {"dimension": dimension, "start": start, "end": end, "hour_start": hour_start, "hour_end": hour_end},
    ).fetchall()
    return {row["value"]: Totals.of(row) for row in rows}
