"""``GET /metrics/api``: per endpoint over a period, request count, p50/p95/p99 latency and error rates.

Example
-------
>>> api_metrics(ApiMetricsQuery(period="24h"), now=now).endpoints[0].p95_ms
41.5

One statement, in the snapshot the watermark was read in (so a rollup committing meanwhile is counted once), sums
the period from the rollups -- hour rows for the whole hours inside it, 10-minute rows for the whole ten minutes
at its edges, minute rows for the rest (:func:`cover`) -- and from the raw ``performance_logs`` rows above the
rollup watermark (the last minute's traffic, not rolled up yet). A day is at most 24 + 10 + 18 rows per endpoint,
whatever the traffic. The period is whole minutes
(``from`` floored, ``to`` rounded up) because the rollups are; the answer says which. Counts come out of
SQL; the percentiles are then read off each endpoint's summed histogram (:mod:`warroom.metrics.histogram`:
exact below 16 ms, within 4.53 % of ``percentile_cont`` above).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from warroom.core.db import connection
from warroom.metrics.histogram import BOUNDS, RELATIVE_ERROR, percentiles
from warroom.metrics.models import PERIODS, ApiMetricsOut, ApiMetricsQuery, EndpointMetrics, LatencyStats, Precision
from warroom.metrics.rollups import RESOLUTIONS, processed_seq

QUANTILES = (0.5, 0.95, 0.99)
PRECISION = Precision(exact_below_ms=16, relative_error=round(RELATIVE_ERROR, 4), max_bucket_ms=BOUNDS[-1])

# Up to five ranges of rollups (minutes, ten minutes, hours, ten minutes, minutes; unused ones empty), each an
# index range scan: fixed conditions rather than a join on arrays, so the planner sees every range.
_MAX_PARTS = 5
_PERIOD_SUMS = """
WITH stored AS (
    SELECT service_name, endpoint, requests, timed, errors_4xx, errors_5xx, sum_ms, min_ms, max_ms, buckets, counts
    FROM performance_rollups
    WHERE (%(service)s::text IS NULL OR service_name = %(service)s::text)
      AND ((resolution = %(resolution_0)s AND bucket_start >= %(first_0)s AND bucket_start < %(end_0)s)
           OR (resolution = %(resolution_1)s AND bucket_start >= %(first_1)s AND bucket_start < %(end_1)s)
           OR (resolution = %(resolution_2)s AND bucket_start >= %(first_2)s AND bucket_start < %(end_2)s)
           OR (resolution = %(resolution_3)s AND bucket_start >= %(first_3)s AND bucket_start < %(end_3)s)
           OR (resolution = %(resolution_4)s AND bucket_start >= %(first_4)s AND bucket_start < %(end_4)s))
), raw AS (
    SELECT service_name, endpoint, response_time_ms, status_code
    FROM performance_logs
    WHERE seq > %(mark)s AND timestamp >= %(start)s AND timestamp < %(end)s
      AND (%(service)s::text IS NULL OR service_name = %(service)s::text)
), totals AS (
    SELECT service_name, endpoint, sum(requests) AS requests, sum(timed) AS timed, sum(errors_4xx) AS errors_4xx,
           sum(errors_5xx) AS errors_5xx, sum(sum_ms) AS sum_ms, min(min_ms) AS min_ms, max(max_ms) AS max_ms
    FROM (
        SELECT service_name, endpoint, requests, timed, errors_4xx, errors_5xx, sum_ms, min_ms, max_ms FROM stored
        UNION ALL
        SELECT service_name, endpoint, 1, (response_time_ms IS NOT NULL)::int,
               (status_code BETWEEN 400 AND 499)::int, (status_code BETWEEN 500 AND 599)::int,
               coalesce(response_time_ms, 0), response_time_ms, response_time_ms
        FROM raw
    ) AS parts
    GROUP BY 1, 2
), cells AS (
    SELECT service_name, endpoint, bucket, sum(n) AS n
    FROM (
        SELECT s.service_name, s.endpoint, u.bucket::integer, u.n
        FROM stored AS s, unnest(s.buckets, s.counts) AS u(bucket, n)
        UNION ALL
        SELECT service_name, endpoint, width_bucket(response_time_ms, %(bounds)s::integer[]), 1
        FROM raw WHERE response_time_ms IS NOT NULL
    ) AS c
    GROUP BY 1, 2, 3
)
SELECT service_name, endpoint, NULL::integer AS bucket, NULL::numeric AS n, requests, timed, errors_4xx,
       errors_5xx, sum_ms, min_ms, max_ms
FROM totals
UNION ALL
SELECT service_name, endpoint, bucket, n, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM cells
"""


def _floor_minute(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC).replace(second=0, microsecond=0)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _ceil(value: dt.datetime, step: dt.timedelta) -> dt.datetime:
    return _EPOCH - ((_EPOCH - value) // step) * step  # ceiling division of timedeltas


def _floor(value: dt.datetime, step: dt.timedelta) -> dt.datetime:
    return _EPOCH + ((value - _EPOCH) // step) * step


def period_window(query: ApiMetricsQuery, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The whole minutes ``[start, end)`` the query covers."""
    if query.from_ is not None:
        start, end = query.from_, query.to or now
    else:
        end = now
        start = now - PERIODS[query.period or "1h"]
    return _floor_minute(start), _ceil(end.astimezone(dt.UTC), dt.timedelta(minutes=1))


def cover(start: dt.datetime, end: dt.datetime, levels: int = 0) -> list[tuple[str, dt.datetime, dt.datetime]]:
    """``[start, end)`` (whole minutes) as rollup ranges: the coarsest aligned blocks inside it, finer ones at the
    edges; ``(resolution, first bucket start, end)`` each."""
    if start >= end or levels >= len(RESOLUTIONS):
        return []
    name, step = RESOLUTIONS[levels]
    inner_start, inner_end = _ceil(start, step), _floor(end, step)
    if inner_start >= inner_end:
        return cover(start, end, levels + 1)
    return [*cover(start, inner_start, levels + 1), (name, inner_start, inner_end), *cover(inner_end, end, levels + 1)]


def _stats(totals: dict[str, Any], histogram: dict[int, int]) -> dict[str, Any]:
    requests = int(totals["requests"])
    timed = int(totals["timed"])
    minimum, maximum = totals["min_ms"], totals["max_ms"]
    values = (
        percentiles(histogram, QUANTILES, minimum=minimum, maximum=maximum)
        if timed and minimum is not None
        else dict.fromkeys(QUANTILES)
    )
    return {
        "requests": requests,
        "errors_4xx": int(totals["errors_4xx"]),
        "errors_5xx": int(totals["errors_5xx"]),
        "error_rate": round(int(totals["errors_5xx"]) / requests, 6) if requests else None,
        "client_error_rate": round(int(totals["errors_4xx"]) / requests, 6) if requests else None,
        "p50_ms": _rounded(values[0.5]),
        "p95_ms": _rounded(values[0.95]),
        "p99_ms": _rounded(values[0.99]),
        "mean_ms": round(int(totals["sum_ms"]) / timed, 3) if timed else None,
        "min_ms": minimum,
        "max_ms": maximum,
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


_SORT_KEYS = {
    "requests": lambda e: -e.requests,
    "p50": lambda e: -(e.p50_ms or 0.0),
    "p95": lambda e: -(e.p95_ms or 0.0),
    "p99": lambda e: -(e.p99_ms or 0.0),
    "error_rate": lambda e: -(e.error_rate or 0.0),
    "endpoint": lambda e: 0,
}


def api_metrics(query: ApiMetricsQuery, *, now: dt.datetime | None = None) -> ApiMetricsOut:
    """The period's figures per endpoint, sorted by ``query.sort`` (then service and endpoint), cut at ``limit``."""
    now = now or dt.datetime.now(dt.UTC)
    start, end = period_window(query, now)
    parts = cover(start, end)
    parts += [("minute", start, start)] * (_MAX_PARTS - len(parts))  # empty ranges
    params: dict[str, Any] = {"start": start, "end": end, "service": query.service, "bounds": list(BOUNDS)}
    for i, (resolution, first, stop) in enumerate(parts):
        params |= {f"resolution_{i}": resolution, f"first_{i}": first, f"end_{i}": stop}
    with connection() as conn:
        # One snapshot for the watermark and the sums, so a rollup committing in between is counted once; the
        # watermark as a value (not a join) lets the planner read the few raw rows above it by the seq index.
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        mark = processed_seq(conn)
        # Never a generic plan: how many raw rows lie above the mark is what the plan must depend on.
        rows = conn.execute(_PERIOD_SUMS, {**params, "mark": mark}, prepare=False).fetchall()
    totals: dict[tuple[str, str], dict[str, Any]] = {}
    histograms: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
    overall_histogram: dict[int, int] = defaultdict(int)
    for row in rows:
        key = (row["service_name"], row["endpoint"])
        if row["bucket"] is None:
            totals[key] = row
        else:
            histograms[key][row["bucket"]] = int(row["n"])
            overall_histogram[row["bucket"]] += int(row["n"])
    endpoints = [
        EndpointMetrics(service=service, endpoint=endpoint, **_stats(row, histograms[(service, endpoint)]))
        for (service, endpoint), row in totals.items()
    ]
    endpoints.sort(key=lambda e: (_SORT_KEYS[query.sort](e), e.service, e.endpoint))
    minimums = [r["min_ms"] for r in totals.values() if r["min_ms"] is not None]
    maximums = [r["max_ms"] for r in totals.values() if r["max_ms"] is not None]
    overall = {
        "requests": sum(int(r["requests"]) for r in totals.values()),
        "timed": sum(int(r["timed"]) for r in totals.values()),
        "errors_4xx": sum(int(r["errors_4xx"]) for r in totals.values()),
        "errors_5xx": sum(int(r["errors_5xx"]) for r in totals.values()),
        "sum_ms": sum(int(r["sum_ms"]) for r in totals.values()),
        "min_ms": min(minimums, default=None),
        "max_ms": max(maximums, default=None),
    }
    return ApiMetricsOut(
        from_=start,
        to=end,
        service=query.service,
        sort=query.sort,
        overall=LatencyStats(**_stats(overall, overall_histogram)),
        endpoints=endpoints[: query.limit],
        total_endpoints=len(endpoints),
        rolled_up_until=mark,
        precision=PRECISION,
    )
