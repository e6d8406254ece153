"""What the mention routes read: the list (filters + keyset cursor), one mention, and the aggregates.

Example
-------
>>> page = fetch_mention_page(MentionListQuery(source="reddit", q="healthcare", limit=20))
>>> page["items"][0]["source"], page["next_cursor"]
('reddit', 'eyJ0IjoiMjAyNi0...')

The list is served by indexes (migration 0008): ``(published_at, source, country)`` read backwards for the
keyset and the time window, with source and country checked on the index entries; the GIN over the stored
``tsvector`` with ``source`` and ``country`` (``btree_gin``) for ``q``; GIN on ``topics``; the partial index
on ``crisis_event_id``. The sentiment series, geo breakdown and trending lists come from the rollups (the
geo breakdown reads the partial hours at its edges from the mentions); influencers from an indexed scan
of the period. Aggregates are cached in Redis for the seed's 5 minutes (kind ``mentionlytics``),
keyed by a generation counter that every ingest bumps, so new mentions are never hidden by the cache.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg

from warroom.core import cache
from warroom.core.db import connection
from warroom.core.errors import NotFound
from warroom.core.pagination import Keyset, Page, TimeIdPosition
from warroom.mentions.freshness import current_generation
from warroom.mentions.models import (
    NEGATIVE_BELOW,
    POSITIVE_ABOVE,
    STRONGLY_NEGATIVE_BELOW,
    InfluencersQuery,
    MentionListQuery,
    PeriodQuery,
    SentimentQuery,
    TrendingQuery,
    sentiment_label,
)
from warroom.mentions.rollups import Totals, floor_minute, window_totals

MENTION_SELECT = """
SELECT m.id, m.provider, m.external_id, m.source, m.content, m.published_at, m.url, m.language,
       m.author_name, m.author_handle, m.author_followers, m.author_influence, m.country, m.region, m.city,
       m.latitude, m.longitude, m.likes, m.shares, m.comments, m.reach, m.sentiment_score, m.topics, m.keywords,
       m.crisis_event_id
FROM mentions AS m"""
DEFAULT_SPAN = {"minute": dt.timedelta(hours=2), "hour": dt.timedelta(hours=24), "day": dt.timedelta(days=7)}


def mention_out(row: dict[str, Any]) -> dict[str, Any]:
    """A mention row in the API's shape (:class:`~warroom.mentions.models.MentionOut`), JSON-ready."""
    score = float(row["sentiment_score"]) if row["sentiment_score"] is not None else None
    return {
        "id": str(row["id"]),
        "provider": row["provider"],
        "external_id": row["external_id"],
        "source": row["source"],
        "content": row["content"],
        "published_at": row["published_at"].isoformat(),
        "url": row["url"],
        "language": row["language"],
        "author": {
            "name": row["author_name"],
            "handle": row["author_handle"],
            "followers": row["author_followers"],
            "influence": row["author_influence"],
        },
        "location": {
            "country": row["country"],
            "region": row["region"],
            "city": row["city"],
            "latitude": row["latitude"],
            "longitude": row["longitude"],
        },
        "engagement": {k: row[k] for k in ("likes", "shares", "comments", "reach")},
        "sentiment_score": score,
        "sentiment_label": sentiment_label(score),
        "topics": list(row["topics"] or []),
        "keywords": list(row["keywords"] or []),
        "crisis_id": str(row["crisis_event_id"]) if row["crisis_event_id"] else None,
    }


MENTIONS_KEYSET = Keyset("mentions.mentions", TimeIdPosition)


def mention_conditions(filters: Any) -> tuple[list[str], list[Any]]:
    """SQL conditions (ANDed, on ``mentions AS m``) and parameters for the list's filters.

    ``filters`` is a :class:`~warroom.mentions.models.MentionListQuery` or any object with the same filter
    attributes (``from_``, ``to``, ``source``, ``sentiment_min``, ``sentiment_max``, ``q``, ``topic``,
    ``crisis_id``, ``country``), such as a report export's query.
    """
    where, params = [], []
    if filters.from_ is not None:
        where.append("m.published_at >= %s")
        params.append(filters.from_)
    if filters.to is not None:
        where.append("m.published_at < %s")
        params.append(filters.to)
    if filters.source is not None:
        where.append("m.source = %s")
        params.append(filters.source)
    if filters.sentiment_min is not None:
        where.append("m.sentiment_score >= %s")
        params.append(filters.sentiment_min)
    if filters.sentiment_max is not None:
        where.append("m.sentiment_score <= %s")
        params.append(filters.sentiment_max)
    if filters.q is not None:
        where.append("m.content_tsv @@ websearch_to_tsquery('english', %s)")
        params.append(filters.q)
    if filters.topic is not None:
        where.append("m.topics @> ARRAY[%s]::text[]")
        params.append(filters.topic)
    if filters.crisis_id is not None:
        where.append("m.crisis_event_id = %s")
        params.append(filters.crisis_id)
    if filters.country is not None:
        where.append("m.country = %s")
        params.append(filters.country.upper())
    return where, params


def fetch_mention_page(query: MentionListQuery) -> Page[Any]:
    """One page of mentions, newest first, matching every given filter."""
    where, params = mention_conditions(query)
    position = MENTIONS_KEYSET.decode(query.cursor)
    if position is not None:
        where.append("(m.published_at, m.id) < (%s, %s)")
        params.extend([position.t, position.id])
    sql = MENTION_SELECT + (" WHERE " + " AND ".join(where) if where else "")
    sql += " ORDER BY m.published_at DESC, m.id DESC LIMIT %s"
    with connection() as conn:
        rows = conn.execute(sql, [*params, query.limit + 1]).fetchall()
    page = MENTIONS_KEYSET.page(rows, query.limit, lambda row: TimeIdPosition(t=row["published_at"], id=row["id"]))
    return page.map(mention_out)


# The orders :func:`stream_mention_rows` reads in: newest first (the list's), widest reach, most negative.
_STREAM_ORDER = {
    "newest": "m.published_at DESC, m.id DESC",
    "reach": "m.reach DESC, m.published_at DESC, m.id DESC",
    "negative": "m.sentiment_score ASC, m.published_at DESC, m.id DESC",
}


def stream_mention_rows(
    conn: psycopg.Connection,
    filters: Any,
    *,
    order: str = "newest",
    limit: int | None = None,
    batch_rows: int = 2000,
) -> Iterator[dict[str, Any]]:
    """Every stored mention row matching ``filters`` (see :func:`mention_conditions`), through a server-side
    cursor fetching ``batch_rows`` at a time, so memory stays flat however many match (exports).

    Must run inside a transaction of ``conn`` (a named cursor lives in one); rows are shaped like
    :data:`MENTION_SELECT`'s (:func:`mention_out` makes them the API's).
    """
    where, params = mention_conditions(filters)
    if order == "negative":
        where.append("m.sentiment_score IS NOT NULL")
    sql = MENTION_SELECT + (" WHERE " + " AND ".join(where) if where else "") + f" ORDER BY {_STREAM_ORDER[order]}"
    if limit is not None:
        sql += " LIMIT %s"
        params.append(limit)
    # Binary results: arrays, timestamps and numerics load several times faster than from their text form.
    with conn.cursor(name=f"mentions_stream_{uuid.uuid4().hex[:12]}", binary=True) as cursor:
        cursor.itersize = batch_rows
        cursor.execute(sql, params)
        yield from cursor


def mention_totals(conn: psycopg.Connection, filters: Any) -> dict[str, Any]:
    """Figures of every mention matching ``filters``: mentions, scored, sentiment sum, positive, negative,
    strongly negative (the rollups' bands) and reach, in one indexed aggregate."""
    where, params = mention_conditions(filters)
    sql = f"""
        SELECT count(*) AS mentions, count(m.sentiment_score) AS sentiment_count,
               coalesce(sum(m.sentiment_score), 0) AS sentiment_sum,
               count(*) FILTER (WHERE m.sentiment_score > {POSITIVE_ABOVE}) AS positive,
               count(*) FILTER (WHERE m.sentiment_score < {NEGATIVE_BELOW}) AS negative,
               count(*) FILTER (WHERE m.sentiment_score < {STRONGLY_NEGATIVE_BELOW}) AS strongly_negative,
               coalesce(sum(m.reach), 0) AS reach
        FROM mentions AS m"""  # noqa: S608  (constants of ours; the conditions are parameterised)
    if where:
        sql += " WHERE " + " AND ".join(where)
    return conn.execute(sql, params).fetchone()


def fetch_mention_rows(conn: psycopg.Connection, mention_ids: list[Any], *, newest_first: bool = False) -> list[Any]:
    """The stored rows of ``mention_ids`` (unknown ids are absent), by publication time; shape them with
    :func:`mention_out`."""
    order = "m.published_at DESC, m.id DESC" if newest_first else "m.published_at, m.id"
    return conn.execute(f"{MENTION_SELECT} WHERE m.id = ANY(%s) ORDER BY {order}", (list(mention_ids),)).fetchall()


def fetch_mention(mention_id: str) -> dict[str, Any]:
    """One mention by id; 404 when there is none (a malformed id cannot name one either)."""
    try:
        key = uuid.UUID(mention_id)
    except ValueError as error:
        raise NotFound(f"There is no mention with id '{mention_id[:64]}'.") from error
    with connection() as conn:
        row = conn.execute(MENTION_SELECT + " WHERE m.id = %s", (key,)).fetchone()
    if row is None:
        raise NotFound(f"There is no mention with id '{key}'.")
    return mention_out(row)


def _cached(name: str, params: dict[str, Any], compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    generation = current_generation()
    digest = hashlib.sha1(json.dumps(params, default=str, sort_keys=True).encode(), usedforsecurity=False).hexdigest()
    suffix = f"agg:{name}:{generation}:{digest}"
    hit = cache.cache.get_json("mentionlytics", suffix)
    if hit is not None:
        return hit
    value = compute()
    cache.cache.set_json("mentionlytics", value, suffix)
    return value


def _window(query: PeriodQuery, span: dt.timedelta) -> tuple[dt.datetime, dt.datetime]:
    """``[from, to)`` in whole minutes; ``to`` defaults to now (its minute included), ``from`` to ``to - span``."""
    end = floor_minute(query.to) if query.to else floor_minute(dt.datetime.now(dt.UTC)) + dt.timedelta(minutes=1)
    start = floor_minute(query.from_) if query.from_ else end - span
    return start, end


def _point(bucket: dt.datetime, totals: Totals) -> dict[str, Any]:
    return {
        "bucket": bucket.isoformat(),
        "mentions": totals.mentions,
        "avg_sentiment": totals.avg_sentiment,
        "positive": totals.positive,
        "negative": totals.negative,
        "strongly_negative": totals.strongly_negative,
    }


def sentiment_series(query: SentimentQuery) -> dict[str, Any]:
    """Mentions and average sentiment per minute / hour / day, overall (or of one source) and by source."""
    start, end = _window(query, DEFAULT_SPAN[query.interval])

    def compute() -> dict[str, Any]:
        table = "mention_rollups_minute" if query.interval == "minute" else "mention_rollups_hour"
        unit = query.interval
        dimension, values = ("source", [query.source]) if query.source else ("all", [""])
        sql = f"""
            SELECT dimension, value, date_trunc('{unit}', bucket) AS bucket, sum(mentions) AS mentions,
                   sum(sentiment_sum) AS sentiment_sum, sum(sentiment_count) AS sentiment_count,
                   sum(positive) AS positive, sum(negative) AS negative,
                   sum(strongly_negative) AS strongly_negative, sum(reach) AS reach
            FROM {table}
            WHERE bucket >= date_trunc('{unit}', %(start)s::timestamptz) AND bucket < %(end)s
              AND ((dimension = %(dimension)s AND value = ANY(%(values)s)) OR dimension = 'source')
            GROUP BY 1, 2, 3 ORDER BY 3"""  # noqa: S608  (table and unit from a closed set)
        with connection() as conn:
            rows = conn.execute(sql, {"start": start, "end": end, "dimension": dimension, "values": values}).fetchall()
        series: list[dict[str, Any]] = []
        by_source: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            point = _point(row["bucket"], Totals.of(row))
            if row["dimension"] == dimension and row["value"] in values:
                series.append(point)
            if row["dimension"] == "source" and not query.source:
                by_source.setdefault(row["value"], []).append(point)
        return {
            "interval": unit,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "source": query.source,
            "series": series,
            "by_source": by_source,
        }

    return _cached("sentiment", {"q": query.model_dump(), "start": start, "end": end}, compute)


def geo_breakdown(query: PeriodQuery) -> dict[str, Any]:
    """Mentions, average sentiment and negative share by country, with each country's regions."""
    start, end = _window(query, DEFAULT_SPAN["hour"])

    def compute() -> dict[str, Any]:
        with connection() as conn:
            countries = window_totals(conn, "country", start, end)
            regions = window_totals(conn, "region", start, end)
        items = []
        for country, totals in sorted(countries.items(), key=lambda kv: (-kv[1].mentions, kv[0])):
            country_regions = [
                {"region": key.split("/", 1)[1], **_geo_figures(value)}
                for key, value in sorted(regions.items(), key=lambda kv: (-kv[1].mentions, kv[0]))
                if key.split("/", 1)[0] == country
            ]
            items.append({"country": country, **_geo_figures(totals), "regions": country_regions})
        return {"from": start.isoformat(), "to": end.isoformat(), "countries": items}

    return _cached("geo", {"start": start, "end": end}, compute)


def _geo_figures(totals: Totals) -> dict[str, Any]:
    return {
        "mentions": totals.mentions,
        "avg_sentiment": totals.avg_sentiment,
        "negative_share": round(totals.negative / totals.mentions, 4) if totals.mentions else None,
    }


def influencers(query: InfluencersQuery) -> dict[str, Any]:
    """Authors ranked by the reach of their mentions in the period, then by engagement, with their sentiment."""
    start, end = _window(query, DEFAULT_SPAN["hour"])

    def compute() -> dict[str, Any]:
        source_filter = "AND source = %(source)s" if query.source else ""
        sql = f"""
            SELECT author_handle AS handle, max(author_name) AS name, max(author_followers) AS followers,
                   max(author_influence) AS influence, count(*) AS mentions, sum(reach)::bigint AS reach,
                   sum(likes + shares + comments)::bigint AS engagement,
                   round(avg(sentiment_score), 4) AS avg_sentiment, array_agg(DISTINCT source) AS sources
            FROM mentions
            WHERE published_at >= %(start)s AND published_at < %(end)s AND author_handle IS NOT NULL {source_filter}
            GROUP BY author_handle
            ORDER BY sum(reach) DESC, sum(likes + shares + comments) DESC, author_handle
            LIMIT %(limit)s"""  # noqa: S608  (a fixed fragment)
        with connection() as conn:
            rows = conn.execute(
                sql, {"start": start, "end": end, "source": query.source, "limit": query.limit}
            ).fetchall()
        items = [
            {
                **row,
                "avg_sentiment": float(row["avg_sentiment"]) if row["avg_sentiment"] is not None else None,
                "sources": sorted(row["sources"]),
            }
            for row in rows
        ]
        return {"from": start.isoformat(), "to": end.isoformat(), "items": items}

    return _cached("influencers", {"q": query.model_dump(), "start": start, "end": end}, compute)


def trending(query: TrendingQuery, now: dt.datetime | None = None) -> dict[str, Any]:
    """Topics and keywords whose volume in the last ``window_hours`` rose most above their own baseline.

    The baseline is each term's rate over the ``baseline_hours`` before the window, scaled to the
    window's length; the score is the excess in Poisson standard deviations, ``(n - e) / sqrt(e + 1)``,
    so a jump from 2 to 6 does not outrank one from 200 to 300. Only rising terms are listed.
    """
    end = floor_minute(now or dt.datetime.now(dt.UTC)) + dt.timedelta(minutes=1)
    start = end - dt.timedelta(hours=query.window_hours)
    base_start = start - dt.timedelta(hours=query.baseline_hours)

    def compute() -> dict[str, Any]:
        answer: dict[str, Any] = {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "baseline_from": base_start.isoformat(),
        }
        with connection() as conn:
            for dimension, key in (("topic", "topics"), ("keyword", "keywords")):
                current = window_totals(conn, dimension, start, end)
                baseline = window_totals(conn, dimension, base_start, start)
                scale = query.window_hours / query.baseline_hours
                items = []
                for value, totals in current.items():
                    expected = baseline.get(value, Totals()).mentions * scale
                    score = (totals.mentions - expected) / math.sqrt(expected + 1)
                    if totals.mentions > expected:
                        items.append(
                            {
                                "term": value,
                                "mentions": totals.mentions,
                                "baseline_expected": round(expected, 2),
                                "growth": round(totals.mentions / expected, 3) if expected else None,
                                "score": round(score, 3),
                                "avg_sentiment": totals.avg_sentiment,
                            }
                        )
                items.sort(key=lambda item: (-item["score"], item["term"]))
                answer[key] = items[: query.limit]
        return answer

    return _cached("trending", {"q": query.model_dump(), "end": end}, compute)
