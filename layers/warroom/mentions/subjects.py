"""Mentions by subject: which mentions count under a (dimension, value), counted, and linked to a crisis.

Example
-------
>>> total, [under_twitter] = count_window_mentions(conn, ("topic", "healthcare"), [("source", "twitter")], a, b)
>>> link_window_to_crisis(conn, crisis_id, ("topic", "healthcare"), a, b, sample=5)   # the sample's ids

A subject is a rollup dimension and value that crisis detection watches: the whole campaign (``all``, value
``""``), a channel (``source``), a ``topic`` or a ``keyword``. Linking sets ``mentions.crisis_event_id``;
it is the crisis domain's use of the mention table, kept here with the table's other SQL.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg

from warroom.mentions.models import NEGATIVE_BELOW, STRONGLY_NEGATIVE_BELOW
from warroom.mentions.queries import MENTION_SELECT, mention_out

Subject = tuple[str, str]


def _subject_filter(dimension: str, param: str = "value") -> str:
    """The SQL condition "mention ``m`` counts under this subject" (one of four constants)."""
    return {
        "all": "TRUE",
        "source": f"m.source = %({param})s",
        "topic": f"%({param})s = ANY(m.topics)",
        "keyword": f"%({param})s = ANY(m.keywords)",
    }[dimension]


def count_window_mentions(
    conn: psycopg.Connection, subject: Subject, others: list[Subject], start: dt.datetime, end: dt.datetime
) -> tuple[int, list[int]]:
    """The mentions of ``subject`` published in [start, end), and how many of them count under each of ``others``."""
    dimension, value = subject
    params: dict[str, Any] = {"start": start, "end": end, "value": value}
    counts = []
    for n, (other_dimension, other_value) in enumerate(others):
        params[f"v{n}"] = other_value
        counts.append(f"count(*) FILTER (WHERE {_subject_filter(other_dimension, f'v{n}')}) AS c{n}")
    row = conn.execute(
        f"""
        SELECT count(*) AS total{"".join(", " + c for c in counts)}
        FROM mentions AS m
        WHERE m.published_at >= %(start)s AND m.published_at < %(end)s AND {_subject_filter(dimension)}
        """,  # noqa: S608  (the filters are constants; values are parameters)
        params,
    ).fetchone()
    return row["total"], [row[f"c{n}"] for n in range(len(others))]


_GROUPED = {  # (the value a mention counts under, the FROM that yields one row per such value)
    "source": ("m.source", "mentions AS m"),
    "topic": ("t.value", "mentions AS m CROSS JOIN LATERAL unnest(m.topics) AS t(value)"),
    "keyword": ("t.value", "mentions AS m CROSS JOIN LATERAL unnest(m.keywords) AS t(value)"),
}


def unclaimed_series(
    conn: psycopg.Connection,
    dimension: str,
    values: list[str],
    excluded: list[Subject],
    start: dt.datetime,
    end: dt.datetime,
    width_min: int,
) -> list[dict[str, Any]]:
    """For each of ``values`` of ``dimension`` (``source``, ``topic`` or ``keyword``), the series of its mentions
    that count under none of ``excluded``, in buckets of ``width_min`` minutes over [start, end): value, bucket,
    total, negative, strongly_negative (the rollups' thresholds; empty buckets absent).

    What is left of a subject's volume once the subjects of open crises inside it are taken out -- over the
    history as well as the window, so its baseline is measured the same way. One query serves every subject of
    a dimension in a detection run (the campaign's is the sum over the channels)."""
    column, source = _GROUPED[dimension]
    params: dict[str, Any] = {"start": start, "end": end, "width": width_min, "values": values}
    others = []
    for n, (other_dimension, other_value) in enumerate(excluded):
        params[f"x{n}"] = other_value
        others.append(_subject_filter(other_dimension, f"x{n}"))
    outside = f" AND NOT ({' OR '.join(others)})" if others else ""
    return conn.execute(
        f"""
        SELECT {column} AS value,
               date_bin(make_interval(mins => %(width)s), m.published_at, TIMESTAMPTZ 'epoch') AS bucket,
               count(*)::int AS total,
               count(*) FILTER (WHERE m.sentiment_score < {NEGATIVE_BELOW})::int AS negative,
               count(*) FILTER (WHERE m.sentiment_score < {STRONGLY_NEGATIVE_BELOW})::int AS strongly_negative
        FROM {source}
        WHERE m.published_at >= %(start)s AND m.published_at < %(end)s AND {column} = ANY(%(values)s){outside}
        GROUP BY 1, 2 ORDER BY 1, 2
        """,  # noqa: S608  (the filters and thresholds are constants; values are parameters)
        params,
    ).fetchall()


def link_window_to_crisis(
    conn: psycopg.Connection, crisis_id: str, subject: Subject, start: dt.datetime, end: dt.datetime, sample: int
) -> list[str]:
    """Link the unlinked mentions of ``subject`` in [start, end) to the crisis; answers the ids of a sample of
    its mentions in that window: the most negative first, then the widest reach."""
    dimension, value = subject
    params = {"crisis": crisis_id, "start": start, "end": end, "value": value, "sample": sample}
    conn.execute(
        f"""
        UPDATE mentions AS m SET crisis_event_id = %(crisis)s
        WHERE m.published_at >= %(start)s AND m.published_at < %(end)s AND m.crisis_event_id IS NULL
          AND {_subject_filter(dimension)}
        """,  # noqa: S608
        params,
    )
    rows = conn.execute(
        """
        SELECT m.id FROM mentions AS m
        WHERE m.crisis_event_id = %(crisis)s AND m.published_at >= %(start)s AND m.published_at < %(end)s
        ORDER BY m.sentiment_score ASC NULLS LAST, m.reach DESC LIMIT %(sample)s
        """,
        params,
    ).fetchall()
    return [str(row["id"]) for row in rows]


def linked_mention_counts(conn: psycopg.Connection, crisis_ids: list[Any]) -> dict[str, int]:
    """How many mentions are linked to each of ``crisis_ids`` (ids with none are absent)."""
    if not crisis_ids:
        return {}
    rows = conn.execute(
        "SELECT crisis_event_id, count(*) AS n FROM mentions WHERE crisis_event_id = ANY(%s) GROUP BY 1",
        (list(crisis_ids),),
    ).fetchall()
    return {str(row["crisis_event_id"]): int(row["n"]) for row in rows}


def linked_mentions_sample(
    conn: psycopg.Connection, crisis_id: str, first_ids: list[str], limit: int
) -> list[dict[str, Any]]:
    """Up to ``limit`` mentions linked to the crisis, in the API's shape: ``first_ids`` first, then the most
    negative, then the newest."""
    rows = conn.execute(
        f"""{MENTION_SELECT} WHERE m.crisis_event_id = %s
        ORDER BY (m.id::text = ANY(%s)) DESC, m.sentiment_score ASC NULLS LAST, m.published_at DESC
        LIMIT %s""",
        (crisis_id, first_ids, limit),
    ).fetchall()
    return [mention_out(row) for row in rows]


def unknown_mention_ids(conn: psycopg.Connection, mention_ids: list[str]) -> list[str]:
    """Those of ``mention_ids`` (UUIDs) that no stored mention has, in the order given."""
    found = {str(r["id"]) for r in conn.execute("SELECT id FROM mentions WHERE id = ANY(%s::uuid[])", (mention_ids,))}
    return [mention_id for mention_id in mention_ids if mention_id not in found]


def link_mentions_to_crisis(conn: psycopg.Connection, crisis_id: str, mention_ids: list[str]) -> None:
    """Link the given mentions to the crisis (a manual alert's evidence), whatever they were linked to."""
    conn.execute("UPDATE mentions SET crisis_event_id = %s WHERE id = ANY(%s::uuid[])", (crisis_id, mention_ids))
