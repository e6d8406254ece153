"""Ingest: one pipeline for every source and both data modes -- bulk, idempotent, rolled up, streamed.

Example
-------
>>> result = ingest_mentions(page.mentions)
>>> result.inserted, result.duplicates
(48, 2)

In one transaction:

1. The page's keys ``(provider, external_id)`` are looked up in the unique index (one query); the mentions
   already stored, and repeats within the page, are duplicates and go no further.
2. The new mentions are ``COPY``-ed, in binary, straight into ``mentions`` -- no staging table, no
   ``INSERT ... SELECT`` -- under ids made here (UUIDv7: time-ordered, so the primary key grows at its
   right edge; and a COPY that supplies every volatile default writes the heap in multi-row batches). While
   PostgreSQL stores them, this process sums their rollup rows from the very values it sends
   (:class:`_Rollup`; each value is first made exactly what its column stores, so the sums equal an aggregate
   of the stored rows -- the tests check them against :data:`~warroom.mentions.rollups.DIMENSIONS_SQL`).
3. One statement writes those sums into ``mention_rollups_minute`` (the dimensions read by the minute,
   :data:`~warroom.mentions.rollups.MINUTE_DIMENSIONS`; plain inserts for minutes that have no rows yet,
   upserts for the others) and, summed by the hour, upserts them into ``mention_rollups_hour``.

A replayed page therefore changes nothing, rollups included. Steps 2 and 3 run under a savepoint. Two
concurrent ingests of the same page both find its keys missing, but the unique index lets only one COPY
through: the other's fails on the first shared key once the first commits (as does an insert of a rollup row
that a concurrent ingest has just created). Rolled back to the savepoint, that batch takes the slow,
race-proof path: ``COPY`` into a temporary staging table, ``INSERT ... ON CONFLICT (provider, external_id)
DO NOTHING RETURNING id``, and upserts of the rollups of exactly the rows returned. Each mention is inserted
and rolled up once either way.

After the commit, the newest new mentions (at most :data:`STREAM_MAX_MENTIONS`) go out as one
``dashboard:mention-stream`` message -- at most one message per second across containers (a Redis
gate; the sender waits for the gate rather than dropping the message). Ingest stores and returns the
window of the new mentions; what follows it (crisis detection) is :mod:`warroom.pipelines.listening`.
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import logging
import os
import struct
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import psycopg
from psycopg import errors, sql
from psycopg.adapt import Dumper
from psycopg.pq import Format
from psycopg.rows import tuple_row
from psycopg.types.json import Jsonb
from pydantic_core import to_json

from warroom.core import cache
from warroom.core.db import connection
from warroom.mentions.freshness import bump_generation
from warroom.mentions.models import NEGATIVE_BELOW, POSITIVE_ABOVE, STRONGLY_NEGATIVE_BELOW, MentionIn
from warroom.mentions.queries import fetch_mention_rows, mention_out
from warroom.mentions.rollups import DIMENSIONS_SQL, MINUTE_DIMENSIONS, ROLLUP_VALUE_LENGTH
from warroom.mentions.sentiment import fill_missing_scores
from warroom.realtime import broadcast

logger = logging.getLogger(__name__)

__all__ = ["DIMENSIONS_SQL", "IngestResult", "ingest_mentions", "store_mentions"]

STREAM_EVENT = "dashboard:mention-stream"
STREAM_MAX_MENTIONS = 50
STREAM_MIN_INTERVAL_S = 1.0
_STREAM_GATE_KEY = "mentions:stream:gate"

# The columns ingest writes, and the type each is sent as (a binary COPY sends exactly the column's type).
COPY_COLUMNS = (
    "id",
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
COPY_TYPES = (
    "uuid",
    "varchar",
    "varchar",
    "varchar",
    "text",
    "timestamptz",
    "text",
    "varchar",
    "varchar",
    "varchar",
    "int8",
    "float4",
    "varchar",
    "varchar",
    "varchar",
    "float8",
    "float8",
    "int8",
    "int8",
    "int8",
    "int8",
    "numeric",
    "text[]",
    "text[]",
    "jsonb",
)
INSERT_COLUMNS = COPY_COLUMNS[1:]  # a mention's own columns (the id aside)
_COLUMNS = ", ".join(COPY_COLUMNS)
# Positions in a row of COPY_COLUMNS that the rollups read.
_ID, _PUBLISHED, _SOURCE, _COUNTRY, _REGION, _REACH, _SCORE, _TOPICS, _KEYWORDS = (
    COPY_COLUMNS.index(name)
    for name in ("id", "published_at", "source", "country", "region", "reach", "sentiment_score", "topics", "keywords")
)
# The lengths of the VARCHAR columns the rollups read.
_SOURCE_LENGTH, _COUNTRY_LENGTH, _REGION_LENGTH = 100, 2, 120
# sentiment_score is NUMERIC(4,3): sent as the Decimal the column stores (rounded half away from zero).
_THOUSANDTH = Decimal("0.001")
_POSITIVE_MILLI, _NEGATIVE_MILLI, _STRONGLY_NEGATIVE_MILLI = (
    int(Decimal(str(limit)).scaleb(3)) for limit in (POSITIVE_ABOVE, NEGATIVE_BELOW, STRONGLY_NEGATIVE_BELOW)
)
# _Rollup's packed sums: fields of _FIELD_BITS bits (a page would need 2**29 mentions to overflow one).
_FIELD_BITS = 40
_MILLI_SHIFT, _SCORED_SHIFT, _POSITIVE_SHIFT, _NEGATIVE_SHIFT, _STRONGLY_NEGATIVE_SHIFT, _REACH_SHIFT = (
    _FIELD_BITS * n for n in range(1, 7)
)
_UUID7_RANDOM_BITS = 0xFFF << 64 | 0x3FFF_FFFF_FFFF_FFFF  # rand_a and rand_b
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MINUTE = dt.timedelta(minutes=1)

ROLLUP_TABLES = {"minute": "mention_rollups_minute", "hour": "mention_rollups_hour"}
_UPSERT = """
    ON CONFLICT (dimension, value, bucket) DO UPDATE SET
        mentions = r.mentions + EXCLUDED.mentions,
        sentiment_sum = r.sentiment_sum + EXCLUDED.sentiment_sum,
        sentiment_count = r.sentiment_count + EXCLUDED.sentiment_count,
        positive = r.positive + EXCLUDED.positive,
        negative = r.negative + EXCLUDED.negative,
        strongly_negative = r.strongly_negative + EXCLUDED.strongly_negative,
        reach = r.reach + EXCLUDED.reach"""
_ROLLUP_COLUMNS = "dimension, value, bucket, mentions, sentiment_sum, sentiment_count, positive, negative, "
_ROLLUP_COLUMNS += "strongly_negative, reach"
_MINUTE_DIMENSIONS_SQL = ", ".join(f"'{dimension}'" for dimension in MINUTE_DIMENSIONS)
_MINUTE_ROWS = f"""
    SELECT dimension, value, bucket, mentions, milli * 0.001, scored, positive, negative, strongly_negative, reach
    FROM a WHERE dimension IN ({_MINUTE_DIMENSIONS_SQL})"""  # noqa: S608
# The per-minute sums come in as arrays (minutes since the epoch; the integer arrays as literals, which psycopg
# dumps in one join where binary arrays cost a Python call per element). Both tables are written in
# (dimension, value, bucket) order, so that concurrent ingests take the row locks in the same order.
_ROLLUP_CELLS = """
WITH a AS MATERIALIZED (
    SELECT dimension, value, to_timestamp(minute * 60) AS bucket, mentions, milli, scored, positive, negative,
           strongly_negative, reach
    FROM unnest(%b::text[], %b::text[], %s::int8[], %s::int8[], %s::int8[], %s::int8[], %s::int8[], %s::int8[],
                %s::int8[], %s::int8[])
        AS a(dimension, value, minute, mentions, milli, scored, positive, negative, strongly_negative, reach)
),"""
_MINUTE_UPSERT = f"""
minute AS (
    INSERT INTO {ROLLUP_TABLES["minute"]} AS r ({_ROLLUP_COLUMNS}) {_MINUTE_ROWS} ORDER BY 1, 2, 3
    {_UPSERT}
)"""
# The same, but minutes that have no row yet (no 'all' row: every mention has one) take plain INSERTs, which
# skip ON CONFLICT's extra index probe per row. (The minutes are looked up as one array, an index probe each,
# whatever the planner estimates for the unnest.) A concurrent ingest that writes the same new minute makes this
# fail on the unique key; store_mentions then takes its ON CONFLICT path, which uses _MINUTE_UPSERT.
_MINUTE_INSERT_OR_UPSERT = f"""
seen AS MATERIALIZED (
    SELECT bucket FROM {ROLLUP_TABLES["minute"]}
    WHERE dimension = 'all' AND value = '' AND bucket = ANY(ARRAY(SELECT bucket FROM a WHERE dimension = 'all'))
),
fresh AS (
    INSERT INTO {ROLLUP_TABLES["minute"]} ({_ROLLUP_COLUMNS}) {_MINUTE_ROWS}
        AND bucket NOT IN (SELECT bucket FROM seen) ORDER BY 1, 2, 3
),
minute AS (
    INSERT INTO {ROLLUP_TABLES["minute"]} AS r ({_ROLLUP_COLUMNS}) {_MINUTE_ROWS}
        AND bucket IN (SELECT bucket FROM seen) ORDER BY 1, 2, 3
    {_UPSERT}
)"""  # noqa: S608
_HOUR_UPSERT = f"""
INSERT INTO {ROLLUP_TABLES["hour"]} AS r ({_ROLLUP_COLUMNS})
SELECT dimension, value, date_trunc('hour', bucket), sum(mentions), sum(milli) * 0.001, sum(scored), sum(positive),
       sum(negative), sum(strongly_negative), sum(reach)
FROM a GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
{_UPSERT}
"""  # noqa: S608
_ROLLUP_SQL = {
    "insert": _ROLLUP_CELLS + _MINUTE_INSERT_OR_UPSERT + _HOUR_UPSERT,
    "upsert": _ROLLUP_CELLS + _MINUTE_UPSERT + _HOUR_UPSERT,
}
_STAGING_DDL = f"""
CREATE TEMP TABLE IF NOT EXISTS mention_staging ON COMMIT DELETE ROWS AS
SELECT {_COLUMNS} FROM mentions WITH NO DATA
"""  # noqa: S608
_STAGED_INSERT = f"""
INSERT INTO mentions ({_COLUMNS}) SELECT {_COLUMNS} FROM mention_staging ORDER BY provider, external_id
ON CONFLICT (provider, external_id) DO NOTHING RETURNING id
"""  # noqa: S608


@dataclass(frozen=True)
class IngestResult:
    """What one ingest did: ``fetched`` = ``inserted`` + ``duplicates``; the window of the new mentions."""

    fetched: int
    inserted: int
    duplicates: int
    window_start: dt.datetime | None = None
    window_end: dt.datetime | None = None


@dataclass(frozen=True)
class Stored:
    """What :func:`store_mentions` wrote: how many, their window, and the ids of the newest, newest first."""

    inserted: int
    window_start: dt.datetime | None = None
    window_end: dt.datetime | None = None
    newest_ids: tuple[uuid.UUID, ...] = ()


def new_ids(count: int) -> list[bytes]:
    """``count`` UUIDv7s, as their 16 bytes (RFC 9562: Unix milliseconds, version, 74 random bits, variant)."""
    stamp = (time.time_ns() // 1_000_000) << 80 | 0x7 << 76 | 0x2 << 62
    randoms = os.urandom(16 * count)
    return [
        (stamp | int.from_bytes(randoms[at : at + 16]) & _UUID7_RANDOM_BITS).to_bytes(16)
        for at in range(0, 16 * count, 16)
    ]


@functools.lru_cache(maxsize=65536)
def _stored_score(score: float) -> Decimal:
    """A score as NUMERIC(4,3) stores it: the digits of str(score) (its shortest repr, which the text format
    would send), rounded half away from zero. Cached: sources give a few thousand distinct scores."""
    return Decimal(str(score)).quantize(_THOUSANDTH, ROUND_HALF_UP)


@functools.cache
def _score_sums(score: Decimal) -> int:
    """A stored score's share of a :class:`_Rollup` cell (cached: a few thousand three-decimal values)."""
    milli = int(score.scaleb(3))  # exact
    return (
        (milli + 1000) << _MILLI_SHIFT
        | 1 << _SCORED_SHIFT
        | (milli > _POSITIVE_MILLI) << _POSITIVE_SHIFT
        | (milli < _NEGATIVE_MILLI) << _NEGATIVE_SHIFT
        | (milli < _STRONGLY_NEGATIVE_MILLI) << _STRONGLY_NEGATIVE_SHIFT
    )


class _TextArrayBinaryDumper(Dumper):
    """``text[]`` in binary: what psycopg's generic list dumper writes, without its per-element Python calls."""

    format = Format.BINARY
    oid = 1009  # text[]
    _header = struct.Struct("!iiIii")  # dimensions, has nulls, element type (text), length, lower bound
    _length = struct.Struct("!i")

    def __init__(self, cls: type, context: Any = None) -> None:
        super().__init__(cls, context)
        self._encoding = self.connection.info.encoding if self.connection else "utf-8"

    def dump(self, obj: list[str | None]) -> bytes:
        if not obj:
            return b"\0\0\0\0\0\0\0\0\0\0\0\x19"  # no dimensions, element type text
        parts, nulls = [b""], 0
        for item in obj:
            if item is None:
                parts.append(b"\xff\xff\xff\xff")
                nulls = 1
            else:
                data = item.encode(self._encoding)
                parts += (self._length.pack(len(data)), data)
        parts[0] = self._header.pack(1, nulls, 25, len(obj), 1)
        return b"".join(parts)


class _TextArray(list[str]):
    """A list of strings to send as ``text[]`` with :class:`_TextArrayBinaryDumper` (a ``%b`` parameter)."""


class _UUIDBinaryDumper(Dumper):
    """``uuid`` in binary from the 16 bytes of :func:`new_ids` (or from a :class:`uuid.UUID`)."""

    format = Format.BINARY
    oid = 2950  # uuid

    def dump(self, obj: bytes | uuid.UUID) -> bytes:
        return obj if isinstance(obj, bytes) else obj.bytes


def _fast_cursor(conn: psycopg.Connection, **kwargs: Any) -> psycopg.Cursor[Any]:
    """A cursor whose COPY ``uuid`` and ``text[]`` columns, and :class:`_TextArray` parameters, use the dumpers
    above."""
    cur = conn.cursor(**kwargs)
    cur.adapters.register_dumper(_TextArray, _TextArrayBinaryDumper)  # for this cursor only (also by oid)
    cur.adapters.register_dumper(None, _UUIDBinaryDumper)  # by oid only
    return cur


def _fit(value: str, length: int) -> str:
    """A VARCHAR(length) value as stored: cut to the length when only spaces are over (else it is refused)."""
    return value[:length] if not value[length:].strip(" ") else value


def _row(mention: MentionIn, mention_id: bytes | uuid.UUID) -> list[Any]:
    """One mention as the values its columns store (:data:`COPY_COLUMNS`, typed as :data:`COPY_TYPES`)."""
    m = mention.__dict__  # the field values, without an attribute look-up each
    published_at, source, country, region = m["published_at"], m["source"], m["country"], m["region"]
    score, topics, keywords, metadata = m["sentiment_score"], m["topics"], m["keywords"], m["metadata"]
    if published_at.tzinfo is None:  # a naive time is UTC, as the sources parse it
        published_at = published_at.replace(tzinfo=dt.UTC)
    # VARCHAR(n) stores a longer value when only spaces are over, cut (the rollups must see what is stored)
    if len(source) > _SOURCE_LENGTH:
        source = _fit(source, _SOURCE_LENGTH)
    if country is not None and len(country) > _COUNTRY_LENGTH:
        country = _fit(country, _COUNTRY_LENGTH)
    if region is not None and len(region) > _REGION_LENGTH:
        region = _fit(region, _REGION_LENGTH)
    return [
        mention_id,
        m["provider"],
        m["external_id"],
        source,
        m["content"],
        published_at,
        m["url"],
        m["language"],
        m["author_name"],
        m["author_handle"],
        m["author_followers"],
        m["author_influence"],
        country,
        region,
        m["city"],
        m["latitude"],
        m["longitude"],
        m["likes"],
        m["shares"],
        m["comments"],
        m["reach"],
        None if score is None else _stored_score(score),
        list(dict.fromkeys(topics)) if len(topics) > 1 else topics,  # each term once
        list(dict.fromkeys(keywords)) if len(keywords) > 1 else keywords,
        None if metadata is None else Jsonb(metadata, dumps=to_json),
    ]


class _Rollup:
    """The rollup rows (per minute) and the window of the rows written, summed as the COPY sends them.

    The seven sums of a cell share one Python int, :data:`_FIELD_BITS` bits each and reach in the top,
    unbounded field, so adding a mention to a cell is one integer addition (this runs once per mention and
    dimension, beside the COPY). Scores are summed in thousandths plus 1000, which keeps every field
    non-negative; :meth:`parameters` takes the 1000 off again per scored mention.
    """

    def __init__(self, newest: int = 0) -> None:
        self.cells: dict[tuple[str, str, int], int] = {}
        self.count = 0
        self.start: dt.datetime | None = None
        self.end: dt.datetime | None = None
        self.newest = newest
        self._latest: list[tuple[dt.datetime, bytes]] = []  # a heap of the newest (published_at, id)

    def add(self, row: list[Any]) -> None:
        """Count one row of :data:`COPY_COLUMNS` under each of its dimensions (as ``DIMENSIONS_SQL`` does)."""
        published_at = row[_PUBLISHED]
        if not self.count:
            self.start = self.end = published_at
        elif published_at < self.start:  # type: ignore[operator]
            self.start = published_at
        elif published_at > self.end:  # type: ignore[operator]
            self.end = published_at
        self.count += 1
        if self.newest:
            if len(self._latest) < self.newest:
                heapq.heappush(self._latest, (published_at, row[_ID]))
            else:
                heapq.heappushpop(self._latest, (published_at, row[_ID]))
        # date_trunc('minute'), as minutes since the epoch (time zones are whole minutes away from UTC)
        minute = (published_at - _EPOCH) // _MINUTE
        score = row[_SCORE]
        sums = (row[_REACH] << _REACH_SHIFT) + 1 + (0 if score is None else _score_sums(score))
        cells = self.cells
        cell = cells.get
        key = ("all", "", minute)
        cells[key] = cell(key, 0) + sums
        key = ("source", row[_SOURCE], minute)
        cells[key] = cell(key, 0) + sums
        country = row[_COUNTRY]
        if country is not None:
            key = ("country", country, minute)
            cells[key] = cell(key, 0) + sums
            region = row[_REGION]
            if region is not None:
                key = ("region", f"{country}/{region}", minute)
                cells[key] = cell(key, 0) + sums
        for dimension, terms in (("topic", row[_TOPICS]), ("keyword", row[_KEYWORDS])):
            # distinct already (see _row); cut to the rollups' value length, two may become one
            if terms and max(map(len, terms)) > ROLLUP_VALUE_LENGTH:
                terms = list(dict.fromkeys(term[:ROLLUP_VALUE_LENGTH] for term in terms))
            for term in terms:
                key = (dimension, term, minute)
                cells[key] = cell(key, 0) + sums

    def newest_ids(self) -> tuple[uuid.UUID, ...]:
        """The ids of the newest rows added (at most ``newest``), newest first."""
        return tuple(uuid.UUID(bytes=bytes(mention_id)) for _, mention_id in sorted(self._latest, reverse=True))

    def parameters(self) -> list[Any]:
        """The cells as the parameters of :data:`_ROLLUP_SQL`."""
        columns: list[list[Any]] = [[] for _ in range(10)]
        dimensions, values, minutes, mentions, milli, scored, positive, negative, strongly_negative, reach = columns
        mask = (1 << _FIELD_BITS) - 1
        for (dimension, value, minute), sums in self.cells.items():
            dimensions.append(dimension)
            values.append(value)
            minutes.append(minute)
            mentions.append(sums & mask)
            count = sums >> _SCORED_SHIFT & mask
            scored.append(count)
            milli.append((sums >> _MILLI_SHIFT & mask) - 1000 * count)
            positive.append(sums >> _POSITIVE_SHIFT & mask)
            negative.append(sums >> _NEGATIVE_SHIFT & mask)
            strongly_negative.append(sums >> _STRONGLY_NEGATIVE_SHIFT & mask)
            reach.append(sums >> _REACH_SHIFT)
        return [_TextArray(dimensions), _TextArray(values), *("{" + ",".join(map(str, c)) + "}" for c in columns[2:])]


def copy_mentions(conn: psycopg.Connection, table: str, rows: Iterable[list[Any]]) -> None:
    """Binary ``COPY`` of :data:`COPY_COLUMNS` rows into ``table`` (``mentions``, or a bare copy of it)."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(sql.Identifier(table), sql.SQL(_COLUMNS))
    with _fast_cursor(conn) as cur, cur.copy(statement) as copy:
        copy.set_types(COPY_TYPES)
        for row in rows:
            copy.write_row(row)


def _rows(mentions: list[MentionIn], rollup: _Rollup | None = None) -> Iterator[list[Any]]:
    for mention, mention_id in zip(mentions, new_ids(len(mentions)), strict=True):
        row = _row(mention, mention_id)
        if rollup is not None:
            rollup.add(row)
        yield row


def _by_provider(mentions: list[MentionIn]) -> dict[str, list[str]]:
    """The mentions' external ids per provider (a page has one provider)."""
    providers = {mention.provider for mention in mentions}
    if len(providers) == 1:
        return {providers.pop(): [mention.external_id for mention in mentions]}
    keys: dict[str, list[str]] = {}
    for mention in mentions:
        keys.setdefault(mention.provider, []).append(mention.external_id)
    return keys


def _stored_keys(conn: psycopg.Connection, mentions: list[MentionIn]) -> set[tuple[str, str]]:
    """Which of the mentions' (provider, external_id) are stored: one index scan per provider."""
    keys = _by_provider(mentions)
    condition = " OR ".join(["(provider = %b AND external_id = ANY(%b::text[]))"] * len(keys))
    params = [value for provider, external_ids in keys.items() for value in (provider, _TextArray(external_ids))]
    with _fast_cursor(conn, row_factory=tuple_row) as cur:
        return set(cur.execute(f"SELECT provider, external_id FROM mentions WHERE {condition}", params))  # noqa: S608


def store_mentions(conn: psycopg.Connection, mentions: list[MentionIn], *, newest: int = 0) -> Stored:
    """Insert the mentions not stored yet and roll them up, in the caller's transaction (see the module doc).

    A mention repeated within ``mentions`` counts once (the first). ``newest``: how many ids of the newest new
    mentions to answer (the live stream's). The connection must not be in autocommit mode.
    """
    if len({mention.external_id for mention in mentions}) < len(mentions):
        first: dict[tuple[str, str], MentionIn] = {}
        for mention in mentions:
            first.setdefault((mention.provider, mention.external_id), mention)
        mentions = list(first.values())
    stored = _stored_keys(conn, mentions)
    new = [m for m in mentions if (m.provider, m.external_id) not in stored] if stored else mentions
    if not new:
        return Stored(0)
    rollup = _Rollup(newest)
    statement = sql.SQL("COPY mentions ({}) FROM STDIN (FORMAT BINARY)").format(sql.SQL(_COLUMNS))
    try:
        with conn.transaction(savepoint_name="mention_copy"):
            with _fast_cursor(conn) as cur, cur.copy(statement) as copy:
                copy.set_types(COPY_TYPES)
                for row in _rows(new, rollup):
                    copy.write_row(row)
                parameters = rollup.parameters()  # while PostgreSQL works through the rows still in flight
            with _fast_cursor(conn) as cur:
                cur.execute(_ROLLUP_SQL["insert"], parameters)
    except (errors.UniqueViolation, errors.DeadlockDetected) as error:
        # A concurrent ingest stored some of these mentions, or rollup rows of their new minutes, since the
        # look-up (or took the same keys in another order): all is undone to the savepoint, and ON CONFLICT
        # decides, row by row.
        logger.info("concurrent ingest (%s); storing %d mentions with ON CONFLICT", type(error).__name__, len(new))
        rows = list(_rows(new))
        conn.execute(_STAGING_DDL)
        conn.execute("DELETE FROM mention_staging")
        copy_mentions(conn, "mention_staging", rows)
        with conn.cursor(row_factory=tuple_row) as cur:
            inserted = {mention_id.bytes for (mention_id,) in cur.execute(_STAGED_INSERT)}
        rollup = _Rollup(newest)
        for row in rows:
            if row[_ID] in inserted:
                rollup.add(row)
        if rollup.count:
            with _fast_cursor(conn) as cur:
                cur.execute(_ROLLUP_SQL["upsert"], rollup.parameters())
    return Stored(rollup.count, rollup.start, rollup.end, rollup.newest_ids())


def insert_mentions_ignore_existing(conn: psycopg.Connection, mentions: list[MentionIn]) -> int:
    """Store the new mentions and roll them up in the caller's transaction; returns how many were new."""
    return store_mentions(conn, mentions).inserted


def ingest_mentions(mentions: list[MentionIn], *, stream: bool = True) -> IngestResult:
    """Store a batch of mentions idempotently, update the rollups and stream the new ones.

    ``stream=False`` is for back-fills of history, which no dashboard watches live.
    """
    if not mentions:
        return IngestResult(0, 0, 0)
    fill_missing_scores(mentions)
    newest: list[dict[str, Any]] = []
    with connection() as conn:
        stored = store_mentions(conn, mentions, newest=STREAM_MAX_MENTIONS if stream else 0)
        if stored.newest_ids:
            newest = [mention_out(row) for row in fetch_mention_rows(conn, list(stored.newest_ids), newest_first=True)]
    inserted = stored.inserted
    result = IngestResult(len(mentions), inserted, len(mentions) - inserted, stored.window_start, stored.window_end)
    if inserted:
        bump_generation()
    if newest:
        stream_mentions(newest)
    return result


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
