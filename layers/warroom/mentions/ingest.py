"""Ingest: one pipeline for every source and both data modes -- bulk, idempotent, rolled up, streamed.

Example
-------
>>> result = ingest_mentions(page.mentions)
>>> result.inserted, result.duplicates
(48, 2)

In one transaction: the mentions are ``COPY``-ed into a temporary staging table, moved into ``mentions``
with ``INSERT ... SELECT ... ON CONFLICT (provider, external_id) DO NOTHING RETURNING``, and exactly the
rows that were new update the per-minute and per-hour rollups (``mention_rollups_minute|hour``). A
replayed page therefore changes nothing, rollups included; two concurrent ingests of the same page
insert each mention once (the unique index decides) and roll up only what each inserted.

After the commit, the newest new mentions (at most :data:`STREAM_MAX_MENTIONS`) go out as one
``dashboard:mention-stream`` message -- at most one message per second across containers (a Redis
gate; the sender waits for the gate rather than dropping the message) -- and the window of the new
mentions is handed to crisis detection through :func:`after_ingest`.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from warroom.core import cache
from warroom.core.db import connection
from warroom.mentions.models import NEGATIVE_BELOW, POSITIVE_ABOVE, STRONGLY_NEGATIVE_BELOW, MentionIn
from warroom.mentions.sentiment import fill_missing_scores
from warroom.realtime import broadcast

logger = logging.getLogger(__name__)

STREAM_EVENT = "dashboard:mention-stream"
STREAM_MAX_MENTIONS = 50
STREAM_MIN_INTERVAL_S = 1.0
_STREAM_GATE_KEY = "mentions:stream:gate"
GENERATION_KEY = "mentions:generation"

INSERT_COLUMNS = (
    "provider",
    "external_id",
    "source",
    "content",
    "published_at",
    "url",
    "language",
    "author_name",
    "author_handle",
    "author_followers",
    "author_influence",
    "country",
    "region",
    "city",
    "latitude",
    "longitude",
    "likes",
    "shares",
    "comments",
    "reach",
    "sentiment_score",
    "topics",
    "keywords",
    "metadata",
)
_STAGING_DDL = """
CREATE TEMP TABLE IF NOT EXISTS mention_staging (
    provider text, external_id text, source text, content text, published_at timestamptz, url text,
    language text, author_name text, author_handle text, author_followers bigint, author_influence real,
    country text, region text, city text, latitude float8, longitude float8, likes bigint, shares bigint,
    comments bigint, reach bigint, sentiment_score numeric, topics text[], keywords text[], metadata jsonb
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS mention_new (
    id uuid, published_at timestamptz, source text, country text, region text, topics text[],
    keywords text[], sentiment_score numeric, reach bigint
) ON COMMIT DELETE ROWS;
"""
_COLUMNS = ", ".join(INSERT_COLUMNS)
_INSERT_NEW = f"""
WITH inserted AS (
    INSERT INTO mentions ({_COLUMNS})
    SELECT {_COLUMNS} FROM mention_staging
    ON CONFLICT (provider, external_id) DO NOTHING
    RETURNING id, published_at, source, country, region, topics, keywords, sentiment_score, reach
)
INSERT INTO mention_new SELECT * FROM inserted
"""  # noqa: S608  (column names are ours)
# The dimensions each mention counts under (the rollups' definition; queries and kpis read it back).
DIMENSIONS_SQL = """
    SELECT 'all', ''
    UNION ALL SELECT 'source', n.source
    UNION ALL SELECT 'country', n.country WHERE n.country IS NOT NULL
    UNION ALL SELECT 'region', n.country || '/' || n.region WHERE n.country IS NOT NULL AND n.region IS NOT NULL
    UNION ALL SELECT DISTINCT 'topic', left(t, 200) FROM unnest(n.topics) AS t
    UNION ALL SELECT DISTINCT 'keyword', left(k, 200) FROM unnest(n.keywords) AS k
"""
_ROLLUP = """
INSERT INTO {table} AS r (dimension, value, bucket, mentions, sentiment_sum, sentiment_count,
                          positive, negative, strongly_negative, reach)
SELECT d.dimension, d.value, date_trunc('{unit}', n.published_at), count(*),
       coalesce(sum(n.sentiment_score), 0), count(n.sentiment_score),
       count(*) FILTER (WHERE n.sentiment_score > {positive}),
       count(*) FILTER (WHERE n.sentiment_score < {negative}),
       count(*) FILTER (WHERE n.sentiment_score < {strongly_negative}),
       coalesce(sum(n.reach), 0)
FROM mention_new AS n CROSS JOIN LATERAL ({dimensions}) AS d(dimension, value)
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
ON CONFLICT (dimension, value, bucket) DO UPDATE SET
    mentions = r.mentions + EXCLUDED.mentions,
    sentiment_sum = r.sentiment_sum + EXCLUDED.sentiment_sum,
    sentiment_count = r.sentiment_count + EXCLUDED.sentiment_count,
    positive = r.positive + EXCLUDED.positive,
    negative = r.negative + EXCLUDED.negative,
    strongly_negative = r.strongly_negative + EXCLUDED.strongly_negative,
    reach = r.reach + EXCLUDED.reach
"""
ROLLUP_TABLES = {"minute": "mention_rollups_minute", "hour": "mention_rollups_hour"}
_ROLLUP_SQL = {
    unit: _ROLLUP.format(
        table=table,
        unit=unit,
        positive=POSITIVE_ABOVE,
        negative=NEGATIVE_BELOW,
        strongly_negative=STRONGLY_NEGATIVE_BELOW,
        dimensions=DIMENSIONS_SQL,
    )
    for unit, table in ROLLUP_TABLES.items()
}


@dataclass(frozen=True)
class IngestResult:
    """What one ingest did: ``fetched`` = ``inserted`` + ``duplicates``; the window of the new mentions."""

    fetched: int
    inserted: int
    duplicates: int
    window_start: dt.datetime | None = None
    window_end: dt.datetime | None = None


def _row(mention: MentionIn) -> tuple[Any, ...]:
    values = []
    for name in INSERT_COLUMNS:
        value = getattr(mention, name)
        if name == "metadata":
            value = Jsonb(value) if value is not None else None
        elif name in ("topics", "keywords"):
            value = list(dict.fromkeys(value))
        values.append(value)
    return tuple(values)


def insert_mentions_ignore_existing(conn: psycopg.Connection, mentions: list[MentionIn]) -> int:
    """COPY into staging, insert the new ones, roll them up; the new rows stay in ``mention_new`` until commit."""
    conn.execute(_STAGING_DDL)
    with conn.cursor() as cur, cur.copy(f"COPY mention_staging ({_COLUMNS}) FROM STDIN") as copy:
        for mention in mentions:
            copy.write_row(_row(mention))
    inserted = conn.execute(_INSERT_NEW).rowcount
    if inserted:
        for sql in _ROLLUP_SQL.values():
            conn.execute(sql)
    return inserted


def ingest_mentions(mentions: list[MentionIn], *, stream: bool = True, detect: bool = True) -> IngestResult:
    """Store a batch of mentions idempotently, update the rollups, stream the new ones, hand off to detection.

    ``stream=False`` and ``detect=False`` are for back-fills of history, which no dashboard watches live.
    """
    if not mentions:
        return IngestResult(0, 0, 0)
    fill_missing_scores(mentions)
    newest: list[dict[str, Any]] = []
    with connection() as conn:
        inserted = insert_mentions_ignore_existing(conn, mentions)
        window = conn.execute("SELECT min(published_at) AS start, max(published_at) AS end FROM mention_new").fetchone()
        if inserted and stream:
            from warroom.mentions.queries import MENTION_SELECT, mention_out

            newest = [
                mention_out(row)
                for row in conn.execute(
                    f"{MENTION_SELECT} WHERE m.id IN (SELECT id FROM mention_new) "  # noqa: S608
                    "ORDER BY m.published_at DESC, m.id DESC LIMIT %s",
                    (STREAM_MAX_MENTIONS,),
                )
            ]
    result = IngestResult(len(mentions), inserted, len(mentions) - inserted, window["start"], window["end"])
    if inserted:
        bump_generation()
    if newest:
        stream_mentions(newest)
    if inserted and detect:
        after_ingest(result.window_start, result.window_end)
    return result


def bump_generation() -> None:
    """New data: answers cached from the rollups (keyed by this counter) are not served again."""
    cache.run("incr", lambda r: r.incr(GENERATION_KEY))


def stream_mentions(mentions: list[dict[str, Any]]) -> int:
    """One ``dashboard:mention-stream`` message (the seed's ``Mention[]``), newest first, behind the 1/s gate."""
    deadline = time.monotonic() + STREAM_MIN_INTERVAL_S
    while True:
        acquired = cache.run(
            "set", lambda r: r.set(_STREAM_GATE_KEY, "1", nx=True, px=int(STREAM_MIN_INTERVAL_S * 1000))
        )
        # None: Redis is down or unconfigured, so no socket is registered either; the broadcast logs and returns.
        if acquired or acquired is None or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    return broadcast(STREAM_EVENT, mentions[:STREAM_MAX_MENTIONS])


def after_ingest(window_start: dt.datetime | None, window_end: dt.datetime | None) -> Any:
    """Hand the window of newly ingested mentions to crisis detection (the one hand-off point).

    Detection runs here on every ingest as well as on its 5-minute schedule, so an alert reaches the
    dashboards seconds after the mentions that cause it. A failing detection is logged and never fails
    the ingest: the mentions are stored, and the schedule looks again within 5 minutes.
    """
    if window_start is None:
        return None
    from warroom.crisis.detection import detect_crises

    try:
        return detect_crises(window_start=window_start, trigger="ingest")
    except Exception:  # logged; the 5-minute scan is the safety net
        logger.exception("crisis detection after ingest failed for the window %s .. %s", window_start, window_end)
        return None
