"""The rollups: their definition, and totals over any minute-aligned window, exact, from hours plus edges.

Example
-------
>>> with connection() as conn:
...     totals = window_totals(conn, "source", start, end)
>>> totals["twitter"].mentions, totals["twitter"].avg_sentiment

A mention counts under each of its dimensions (:data:`DIMENSIONS_SQL`). Ingest keeps one row per dimension,
value and hour in ``mention_rollups_hour``, and per minute in ``mention_rollups_minute`` for the dimensions
read by the minute (:data:`MINUTE_DIMENSIONS`: the minute charts' and crisis detection's). Country and region
are read only by the geo breakdown, over whole windows: they are rolled up by the hour only, which spares
ingest over a quarter of the per-minute rows.

``[start, end)`` is read from ``mention_rollups_hour`` for the whole hours inside it and, for the minutes at
either edge, from ``mention_rollups_minute`` -- or, for country and region, from the mentions of those
minutes (an index range scan of at most 118 minutes) -- so a 24-hour window costs about 24 + 118 rows per
value instead of a scan of the day's mentions. Both ends must be whole minutes (callers truncate).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg

from warroom.mentions.models import NEGATIVE_BELOW, POSITIVE_ABOVE, STRONGLY_NEGATIVE_BELOW

# The dimensions each mention ``n`` counts under -- the rollups' definition (ingest computes the same rows in
# Python; the tests aggregate the raw mentions with this and compare). A mention with two topics counts once
# under each; values are cut to the column's 200 characters.
DIMENSIONS_SQL = """
    SELECT 'all', ''
    UNION ALL SELECT 'source', n.source
    UNION ALL SELECT 'country', n.country WHERE n.country IS NOT NULL
    UNION ALL SELECT 'region', n.country || '/' || n.region WHERE n.country IS NOT NULL AND n.region IS NOT NULL
    UNION ALL SELECT DISTINCT 'topic', left(t, 200) FROM unnest(n.topics) AS t
    UNION ALL SELECT DISTINCT 'keyword', left(k, 200) FROM unnest(n.keywords) AS k
"""
ROLLUP_VALUE_LENGTH = 200
# Rolled up by the minute as well as by the hour (the others by the hour only).
MINUTE_DIMENSIONS = ("all", "source", "topic", "keyword")

_MINUTE_EDGES = """
    SELECT value, mentions, sentiment_sum, sentiment_count, positive, negative, strongly_negative, reach
    FROM mention_rollups_minute
    WHERE dimension = %(dimension)s
      AND ((bucket >= %(start)s AND bucket < %(hour_start)s) OR (bucket >= %(hour_end)s AND bucket < %(end)s))"""
# The same sums straight from the mentions of the edge minutes (hourly dimensions).
_RAW_EDGES = f"""
    SELECT d.value, 1, coalesce(n.sentiment_score, 0), CASE WHEN n.sentiment_score IS NULL THEN 0 ELSE 1 END,
           CASE WHEN n.sentiment_score > {POSITIVE_ABOVE} THEN 1 ELSE 0 END,
           CASE WHEN n.sentiment_score < {NEGATIVE_BELOW} THEN 1 ELSE 0 END,
           CASE WHEN n.sentiment_score < {STRONGLY_NEGATIVE_BELOW} THEN 1 ELSE 0 END, n.reach
    FROM mentions AS n CROSS JOIN LATERAL ({DIMENSIONS_SQL}) AS d(dimension, value)
    WHERE d.dimension = %(dimension)s
      AND ((n.published_at >= %(start)s AND n.published_at < %(hour_start)s)
           OR (n.published_at >= %(hour_end)s AND n.published_at < %(end)s))"""  # noqa: S608  (constants of ours)
_TOTALS = """
SELECT value, sum(mentions) AS mentions, sum(sentiment_sum) AS sentiment_sum,
       sum(sentiment_count) AS sentiment_count, sum(positive) AS positive, sum(negative) AS negative,
       sum(strongly_negative) AS strongly_negative, sum(reach) AS reach
FROM (
    SELECT value, mentions, sentiment_sum, sentiment_count, positive, negative, strongly_negative, reach
    FROM mention_rollups_hour
    WHERE dimension = %(dimension)s AND bucket >= %(hour_start)s AND bucket < %(hour_end)s
    UNION ALL
    {edges}
) AS parts
GROUP BY value
"""
_TOTALS_SQL = {"minute": _TOTALS.format(edges=_MINUTE_EDGES), "raw": _TOTALS.format(edges=_RAW_EDGES)}


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
        _TOTALS_SQL["minute" if dimension in MINUTE_DIMENSIONS else "raw"],
        {"dimension": dimension, "start": start, "end": end, "hour_start": hour_start, "hour_end": hour_end},
    ).fetchall()
    return {row["value"]: Totals.of(row) for row in rows}


def busiest_subjects(
    conn: psycopg.Connection,
    dimensions: tuple[str, ...],
    start: dt.datetime,
    end: dt.datetime,
    *,
    min_mentions: int,
    limit: int,
) -> list[tuple[str, str]]:
    """The (dimension, value) pairs of ``dimensions`` with at least ``min_mentions`` in [start, end), busiest first.

    Crisis detection reads only these: a subject with fewer mentions than either alarm rule needs cannot
    alarm, so on an ordinary minute it reads the campaign, its busy channels and topics, not every keyword.
    """
    rows = conn.execute(
        """
        SELECT dimension, value FROM mention_rollups_minute
        WHERE dimension = ANY(%s) AND bucket >= %s AND bucket < %s
        GROUP BY 1, 2 HAVING sum(mentions) >= %s ORDER BY sum(mentions) DESC LIMIT %s
        """,
        (list(dimensions), start, end, min_mentions, limit),
    ).fetchall()
    return [(row["dimension"], row["value"]) for row in rows]


def subject_series(
    conn: psycopg.Connection, subjects: list[tuple[str, str]], start: dt.datetime, end: dt.datetime, width_min: int
) -> list[dict[str, Any]]:
    """Per-subject sums of the minute rollups in [start, end), in buckets of ``width_min`` minutes: dimension,
    value, bucket, total, negative, strongly_negative; ordered by subject and time (empty buckets absent)."""
    return conn.execute(
        """
        SELECT r.dimension, r.value,
               date_bin(make_interval(mins => %s), r.bucket, TIMESTAMPTZ 'epoch') AS bucket,
               sum(r.mentions)::int AS total, sum(r.negative)::int AS negative,
               sum(r.strongly_negative)::int AS strongly_negative
        FROM unnest(%s::text[], %s::text[]) AS s(dimension, value)
        JOIN mention_rollups_minute AS r ON r.dimension = s.dimension AND r.value = s.value
        WHERE r.bucket >= %s AND r.bucket < %s
        GROUP BY 1, 2, 3
        ORDER BY 1, 2, 3
        """,
        (width_min, [d for d, _ in subjects], [v for _, v in subjects], start, end),
    ).fetchall()


_RAW_WINDOW_TOTALS = f"""
SELECT d.dimension, d.value, count(*) AS mentions, coalesce(sum(n.sentiment_score), 0) AS sentiment_sum,
       count(n.sentiment_score) AS sentiment_count,
       count(*) FILTER (WHERE n.sentiment_score > {POSITIVE_ABOVE}) AS positive,
       count(*) FILTER (WHERE n.sentiment_score < {NEGATIVE_BELOW}) AS negative,
       count(*) FILTER (WHERE n.sentiment_score < {STRONGLY_NEGATIVE_BELOW}) AS strongly_negative,
       coalesce(sum(n.reach), 0) AS reach
FROM mentions AS n CROSS JOIN LATERAL ({DIMENSIONS_SQL}) AS d(dimension, value)
WHERE n.published_at >= %s AND n.published_at < %s AND d.dimension = %s
GROUP BY 1, 2"""  # noqa: S608  (constants of ours)


def raw_window_totals(
    conn: psycopg.Connection, dimension: str, start: dt.datetime, end: dt.datetime
) -> dict[str, Totals]:
    """What :func:`window_totals` answers, aggregated straight from the mentions (a scan: for proofs, not routes).

    Tests and the KPI benchmark compare the two to show the rollups are exact.
    """
    return {row["value"]: Totals.of(row) for row in conn.execute(_RAW_WINDOW_TOTALS, (start, end, dimension))}
