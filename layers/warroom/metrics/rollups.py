"""Request timings rolled up per minute, 10 minutes and hour, exactly once, and the raw rows pruned after.

Example
-------
>>> roll_up()                        # MetricsJobFunction, every minute
RollupResult(rows=5210, up_to=981234)
>>> prune(now)
{'performance_logs': 80211, 'performance_rollups': 1440}

Exactly once. ``performance_logs.seq`` is commit-ordered (migration 0019: every insert takes a transaction
lock first), so once ``seq`` N is visible no row at or below N can still appear. The watermark
(``performance_rollup_state.processed_seq``) moves in the same transaction that adds the rows above it into
the rollups (``ON CONFLICT`` adds counts and histograms), under the state row's lock: a re-run finds nothing
new, two concurrent runs take turns, a crash rolls both back. Rows arriving late (a container's buffer flushed
after a database outage) have a new ``seq`` and are added to their minute whenever they come. Work is done in
chunks of ``chunk_rows`` sequence numbers, each its own transaction, so a large backlog resumes where it
stopped and no statement nears the pool's 15 s timeout.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import psycopg

from warroom.core.db import connection
from warroom.core.settings import METRICS_RAW_RETENTION_HOURS, METRICS_ROLLUP_RETENTION_DAYS, read_settings
from warroom.metrics.histogram import BOUNDS

logger = logging.getLogger(__name__)

CHUNK_ROWS = 500_000
_PRUNE_BATCH = 50_000
_PRUNE_MAX_BATCHES = 20

# Resolutions of the rollups, coarsest first: a period is read from the coarsest blocks that fit inside it and
# the finer ones at its edges (warroom.metrics.api), so a day is at most 24 + 10 + 18 rows per endpoint.
RESOLUTIONS: tuple[tuple[str, dt.timedelta], ...] = (
    ("hour", dt.timedelta(hours=1)),
    ("10min", dt.timedelta(minutes=10)),
    ("minute", dt.timedelta(minutes=1)),
)


def _rolled_up_per(resolution: str, step: str) -> str:
    # One resolution's rows from the chunk's minute cells (date_bin from the epoch: UTC-aligned, no time zone).
    # Built from the constants in RESOLUTIONS only, never from input.
    return f"""
    SELECT '{resolution}' AS resolution, bucket_start, service_name, endpoint, sum(requests) AS requests,
           coalesce(sum(requests) FILTER (WHERE bucket IS NOT NULL), 0) AS timed, sum(errors_4xx) AS errors_4xx,
           sum(errors_5xx) AS errors_5xx, sum(sum_ms) AS sum_ms, min(min_ms) AS min_ms, max(max_ms) AS max_ms,
           coalesce(array_agg(bucket::smallint ORDER BY bucket) FILTER (WHERE bucket IS NOT NULL), '{{}}') AS buckets,
           coalesce(array_agg(requests::integer ORDER BY bucket) FILTER (WHERE bucket IS NOT NULL), '{{}}') AS counts
    FROM (
        SELECT date_bin('{step}', minute, 'epoch') AS bucket_start, service_name, endpoint, bucket,
               sum(requests)::bigint AS requests, sum(errors_4xx) AS errors_4xx, sum(errors_5xx) AS errors_5xx,
               sum(sum_ms) AS sum_ms, min(min_ms) AS min_ms, max(max_ms) AS max_ms
        FROM cells GROUP BY 1, 2, 3, 4
    ) AS per_bucket
    GROUP BY 2, 3, 4"""  # noqa: S608


# The chunk's rows grouped per minute cell and bucket, then per resolution, each row with its sparse histogram
# (the buckets that hold any, and their counts), added to what is stored: counts summed, histograms merged.
_CELLS = """
WITH cells AS (
    SELECT date_bin('1 minute', timestamp, 'epoch') AS minute, service_name, endpoint,
           width_bucket(response_time_ms, %(bounds)s::integer[]) AS bucket,
           count(*) AS requests,
           count(*) FILTER (WHERE status_code BETWEEN 400 AND 499) AS errors_4xx,
           count(*) FILTER (WHERE status_code BETWEEN 500 AND 599) AS errors_5xx,
           coalesce(sum(response_time_ms), 0) AS sum_ms, min(response_time_ms) AS min_ms,
           max(response_time_ms) AS max_ms
    FROM performance_logs
    WHERE seq > %(low)s AND seq <= %(high)s
    GROUP BY 1, 2, 3, 4
)"""
_UPSERT = """
INSERT INTO performance_rollups AS stored (resolution, bucket_start, service_name, endpoint, requests, timed,
                                           errors_4xx, errors_5xx, sum_ms, min_ms, max_ms, buckets, counts)
SELECT resolution, bucket_start, service_name, endpoint, requests, timed, errors_4xx, errors_5xx, sum_ms, min_ms,
       max_ms, buckets, counts
FROM grouped
ON CONFLICT (resolution, bucket_start, service_name, endpoint) DO UPDATE SET
    requests = stored.requests + EXCLUDED.requests,
    timed = stored.timed + EXCLUDED.timed,
    errors_4xx = stored.errors_4xx + EXCLUDED.errors_4xx,
    errors_5xx = stored.errors_5xx + EXCLUDED.errors_5xx,
    sum_ms = stored.sum_ms + EXCLUDED.sum_ms,
    min_ms = LEAST(stored.min_ms, EXCLUDED.min_ms),
    max_ms = GREATEST(stored.max_ms, EXCLUDED.max_ms),
    (buckets, counts) = (
        SELECT coalesce(array_agg(b ORDER BY b), '{}'), coalesce(array_agg(n ORDER BY b), '{}')
        FROM (
            SELECT b, sum(n)::integer AS n
            FROM (SELECT * FROM unnest(stored.buckets, stored.counts) AS s(b, n)
                  UNION ALL
                  SELECT * FROM unnest(EXCLUDED.buckets, EXCLUDED.counts) AS e(b, n)) AS cells
            GROUP BY b
        ) AS merged
    )
"""
_ROLL_UP_CHUNK = (
    _CELLS
    + ", grouped AS ("
    + "\n    UNION ALL".join(_rolled_up_per(name, f"{int(step.total_seconds())} seconds") for name, step in RESOLUTIONS)
    + "\n)"
    + _UPSERT
)


@dataclass(frozen=True)
class RollupResult:
    """How many raw rows this run added to the rollups, and the watermark it left."""

    rows: int
    up_to: int


def processed_seq(conn: psycopg.Connection) -> int:
    """The watermark: every ``performance_logs`` row with ``seq`` at or below it is in the rollups."""
    row = conn.execute("SELECT processed_seq FROM performance_rollup_state WHERE id = 1").fetchone()
    return int(row["processed_seq"]) if row else 0


def _roll_up_chunk(conn: psycopg.Connection, chunk_rows: int) -> tuple[int, int, bool]:
    """One chunk in ``conn``'s transaction: (rows added, new watermark, caught up)."""
    conn.execute("INSERT INTO performance_rollup_state (id, processed_seq) VALUES (1, 0) ON CONFLICT DO NOTHING")
    # The state row's lock serialises runs; read after it, the highest seq is final (see the module docstring).
    low = int(
        conn.execute("SELECT processed_seq FROM performance_rollup_state WHERE id = 1 FOR UPDATE").fetchone()[
            "processed_seq"
        ]
    )
    newest = conn.execute("SELECT max(seq) AS seq FROM performance_logs").fetchone()["seq"]
    if newest is None or newest <= low:
        return 0, low, True
    high = min(int(newest), low + chunk_rows)
    rows = conn.execute(
        "SELECT count(*) AS n FROM performance_logs WHERE seq > %s AND seq <= %s", (low, high)
    ).fetchone()["n"]
    if rows:
        conn.execute(_ROLL_UP_CHUNK, {"bounds": list(BOUNDS), "low": low, "high": high})
    conn.execute("UPDATE performance_rollup_state SET processed_seq = %s, updated_at = now() WHERE id = 1", (high,))
    return int(rows), high, high >= newest


def roll_up(*, chunk_rows: int = CHUNK_ROWS, max_chunks: int | None = None) -> RollupResult:
    """Add every raw row above the watermark to the rollups (chunk by chunk, each committed with its mark)."""
    total, mark, chunks = 0, 0, 0
    while max_chunks is None or chunks < max_chunks:
        with connection() as conn:
            rows, mark, caught_up = _roll_up_chunk(conn, chunk_rows)
        total += rows
        chunks += 1
        if caught_up:
            break
    return RollupResult(rows=total, up_to=mark)


def prune(now: dt.datetime | None = None) -> dict[str, int]:
    """Delete rolled-up raw rows past ``metrics_raw_retention_hours`` and rollups past
    ``metrics_rollup_retention_days``; raw rows not yet rolled up are never deleted here."""
    now = now or dt.datetime.now(dt.UTC)
    deleted = {"performance_logs": 0, "performance_rollups": 0}
    with connection() as conn:
        ages = read_settings([METRICS_RAW_RETENTION_HOURS, METRICS_ROLLUP_RETENTION_DAYS], conn)
        deleted["performance_rollups"] = conn.execute(
            "DELETE FROM performance_rollups WHERE bucket_start < %s",
            (now - dt.timedelta(days=int(ages[METRICS_ROLLUP_RETENTION_DAYS.key])),),
        ).rowcount
    raw_before = now - dt.timedelta(hours=int(ages[METRICS_RAW_RETENTION_HOURS.key]))
    # In batches, each its own short transaction, so a large backlog never holds locks for long.
    for _ in range(_PRUNE_MAX_BATCHES):
        with connection() as conn:
            count = conn.execute(
                "DELETE FROM performance_logs WHERE seq IN (SELECT seq FROM performance_logs"
                " WHERE timestamp < %s AND seq <= (SELECT coalesce(max(processed_seq), 0)"
                " FROM performance_rollup_state) LIMIT %s)",
                (raw_before, _PRUNE_BATCH),
            ).rowcount
        deleted["performance_logs"] += count
        if count < _PRUNE_BATCH:
            break
    return deleted
