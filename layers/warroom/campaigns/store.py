"""Writing what a campaign source answered: campaigns, ad sets and days, each upsert idempotent.

Example
-------
>>> with connection() as conn:
...     ids = upsert_campaigns(conn, source.list_campaigns())          # {external id: campaign uuid}
...     counts = upsert_days(conn, "meta", ids, source.account_daily_metrics(since, until))
>>> counts
DayCounts(inserted=118, restated=2, unchanged=400, unknown_campaign=0)

A day already stored is replaced only when a figure differs (``restated``: the platforms revise recent days),
so re-syncing the same answer changes no row. Each day is also mirrored into the seed's ``campaign_data``
(figures and the vendor's raw row as JSONB numbers, which are exact decimals), one row per platform, campaign
and day. Money arrives as :class:`~decimal.Decimal` and is bound as ``numeric``: it never passes through float.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from warroom.campaigns.sources.base import AdSetRecord, CampaignRecord, DailyMetrics

# The seed's platform names in `campaign_data` (its CHECK constraint); everywhere else Google is 'google_ads'.
SEED_PLATFORM = {"meta": "meta", "google_ads": "google"}

_UPSERT_CAMPAIGN = """
INSERT INTO campaigns (platform, external_id, account_id, name, objective, status, effective_status,
                       daily_budget, lifetime_budget, currency, start_time, stop_time, special_ad_categories)
VALUES (%(platform)s, %(external_id)s, %(account_id)s, %(name)s, %(objective)s, %(status)s, %(effective_status)s,
        %(daily_budget)s, %(lifetime_budget)s, %(currency)s, %(start_time)s, %(stop_time)s, %(special_ad_categories)s)
ON CONFLICT (platform, external_id) DO UPDATE SET
    account_id = EXCLUDED.account_id, name = EXCLUDED.name, objective = EXCLUDED.objective,
    status = EXCLUDED.status, effective_status = EXCLUDED.effective_status,
    daily_budget = EXCLUDED.daily_budget, lifetime_budget = EXCLUDED.lifetime_budget,
    currency = EXCLUDED.currency, start_time = EXCLUDED.start_time, stop_time = EXCLUDED.stop_time,
    special_ad_categories = EXCLUDED.special_ad_categories, synced_at = now()
RETURNING id, external_id"""

_UPSERT_AD_SET = """
INSERT INTO campaign_ad_sets (campaign_id, external_id, name, status, effective_status, optimization_goal,
                              billing_event, daily_budget, lifetime_budget, start_time, end_time)
VALUES (%(campaign_id)s, %(external_id)s, %(name)s, %(status)s, %(effective_status)s, %(optimization_goal)s,
        %(billing_event)s, %(daily_budget)s, %(lifetime_budget)s, %(start_time)s, %(end_time)s)
ON CONFLICT (campaign_id, external_id) DO UPDATE SET
    name = EXCLUDED.name, status = EXCLUDED.status, effective_status = EXCLUDED.effective_status,
    optimization_goal = EXCLUDED.optimization_goal, billing_event = EXCLUDED.billing_event,
    daily_budget = EXCLUDED.daily_budget, lifetime_budget = EXCLUDED.lifetime_budget,
    start_time = EXCLUDED.start_time, end_time = EXCLUDED.end_time, synced_at = now()"""

# One statement per batch: what was there before (to count restated days), the upsert that only rewrites a
# row whose figures differ, and the raw mirror. `xmax = 0` marks a row this statement inserted.
_UPSERT_DAYS = """
WITH incoming AS (
    SELECT * FROM unnest(%(campaign_id)s::uuid[], %(day)s::date[], %(impressions)s::bigint[], %(reach)s::bigint[],
                         %(clicks)s::bigint[], %(spend)s::numeric[], %(conversions)s::numeric[])
        AS t(campaign_id, day, impressions, reach, clicks, spend, conversions)
), written AS (
    INSERT INTO campaign_days AS d (campaign_id, day, impressions, reach, clicks, spend, conversions)
    SELECT * FROM incoming
    ON CONFLICT (campaign_id, day) DO UPDATE SET
        impressions = EXCLUDED.impressions, reach = EXCLUDED.reach, clicks = EXCLUDED.clicks,
        spend = EXCLUDED.spend, conversions = EXCLUDED.conversions, synced_at = now()
    WHERE (d.impressions, d.reach, d.clicks, d.spend, d.conversions)
          IS DISTINCT FROM (EXCLUDED.impressions, EXCLUDED.reach, EXCLUDED.clicks, EXCLUDED.spend, EXCLUDED.conversions)
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) FILTER (WHERE NOT inserted) AS restated
FROM written"""

# The running totals of each campaign from its earliest day in the batch on: the totals through the day before
# (one index look-up), plus a window sum over the days since. Only rows whose totals moved are rewritten.
_RUNNING_TOTALS = """
WITH affected AS (
    SELECT campaign_id, min(day) AS since FROM unnest(%(campaign_id)s::uuid[], %(day)s::date[]) AS t(campaign_id, day)
    GROUP BY campaign_id
), base AS (
    SELECT a.campaign_id, a.since, coalesce(p.cum_impressions, 0) AS i0, coalesce(p.cum_clicks, 0) AS k0,
           coalesce(p.cum_spend, 0) AS s0, coalesce(p.cum_conversions, 0) AS c0
    FROM affected AS a
    LEFT JOIN LATERAL (
        SELECT cum_impressions, cum_clicks, cum_spend, cum_conversions FROM campaign_days AS d
        WHERE d.campaign_id = a.campaign_id AND d.day < a.since ORDER BY d.day DESC LIMIT 1
    ) AS p ON true
), running AS (
    SELECT d.campaign_id, d.day,
           b.i0 + sum(d.impressions) OVER w AS ci, b.k0 + sum(d.clicks) OVER w AS ck,
           b.s0 + sum(d.spend) OVER w AS cs, b.c0 + sum(coalesce(d.conversions, 0)) OVER w AS cc
    FROM campaign_days AS d JOIN base AS b ON b.campaign_id = d.campaign_id AND d.day >= b.since
    WINDOW w AS (PARTITION BY d.campaign_id ORDER BY d.day)
)
UPDATE campaign_days AS d SET cum_impressions = r.ci, cum_clicks = r.ck, cum_spend = r.cs, cum_conversions = r.cc
FROM running AS r
WHERE d.campaign_id = r.campaign_id AND d.day = r.day
  AND (d.cum_impressions, d.cum_clicks, d.cum_spend, d.cum_conversions) IS DISTINCT FROM (r.ci, r.ck, r.cs, r.cc)"""

# The figures become JSON numbers in SQL, from numeric: exact, where a JSON encoder would go through float.
_MIRROR = """
INSERT INTO campaign_data (platform, campaign_id, metrics, date_recorded)
SELECT %(platform)s, external_id,
       jsonb_strip_nulls(jsonb_build_object('impressions', impressions, 'reach', reach, 'clicks', clicks,
                                            'spend', spend, 'conversions', conversions))
           || jsonb_build_object('raw', raw),
       day
FROM unnest(%(external_id)s::text[], %(day)s::date[], %(impressions)s::bigint[], %(reach)s::bigint[],
            %(clicks)s::bigint[], %(spend)s::numeric[], %(conversions)s::numeric[], %(raw)s::jsonb[])
    AS t(external_id, day, impressions, reach, clicks, spend, conversions, raw)
ON CONFLICT (platform, campaign_id, date_recorded) DO UPDATE SET metrics = EXCLUDED.metrics, updated_at = now()
WHERE campaign_data.metrics IS DISTINCT FROM EXCLUDED.metrics"""


@dataclass(frozen=True)
class DayCounts:
    """What an upsert of days did: new days, days whose figures changed, days as stored, and rows skipped
    because their campaign is not known (the platform answered figures for a campaign it did not list)."""

    inserted: int = 0
    restated: int = 0
    unchanged: int = 0
    unknown_campaign: int = 0

    def __add__(self, other: DayCounts) -> DayCounts:
        return DayCounts(*(a + b for a, b in zip(self.as_tuple(), other.as_tuple(), strict=True)))

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.inserted, self.restated, self.unchanged, self.unknown_campaign)

    def as_dict(self) -> dict[str, int]:
        return {
            "inserted": self.inserted,
            "restated": self.restated,
            "unchanged": self.unchanged,
            "unknown_campaign": self.unknown_campaign,
        }


def upsert_campaigns(conn: psycopg.Connection, records: Iterable[CampaignRecord]) -> dict[str, str]:
    """Insert or update each campaign; answers ``{external id: campaign id}`` for the records given."""
    ids: dict[str, str] = {}
    rows = [
        {
            "platform": r.platform,
            "external_id": r.external_id,
            "account_id": r.account_id,
            "name": r.name[:500],
            "objective": r.objective,
            "status": r.status,
            "effective_status": r.effective_status,
            "daily_budget": r.daily_budget,
            "lifetime_budget": r.lifetime_budget,
            "currency": r.currency,
            "start_time": r.start_time,
            "stop_time": r.stop_time,
            "special_ad_categories": list(r.special_ad_categories),
        }
        for r in records
    ]
    with conn.cursor() as cur:
        for row in rows:  # a few hundred campaigns at most; one RETURNING each keeps the id mapping exact
            cur.execute(_UPSERT_CAMPAIGN, row)
            found = cur.fetchone()
            ids[found["external_id"]] = str(found["id"])
    return ids


def campaign_ids(conn: psycopg.Connection, platform: str) -> dict[str, str]:
    """``{external id: campaign id}`` of every stored campaign of ``platform``."""
    rows = conn.execute("SELECT id, external_id FROM campaigns WHERE platform = %s", (platform,)).fetchall()
    return {r["external_id"]: str(r["id"]) for r in rows}


def upsert_ad_sets(conn: psycopg.Connection, ids: Mapping[str, str], ad_sets: Iterable[AdSetRecord]) -> int:
    """Insert or update each ad set of a known campaign; answers how many were written."""
    rows = [
        {
            "campaign_id": ids[a.campaign_external_id],
            "external_id": a.external_id,
            "name": a.name[:500],
            "status": a.status,
            "effective_status": a.effective_status,
            "optimization_goal": a.optimization_goal,
            "billing_event": a.billing_event,
            "daily_budget": a.daily_budget,
            "lifetime_budget": a.lifetime_budget,
            "start_time": a.start_time,
            "end_time": a.end_time,
        }
        for a in ad_sets
        if a.campaign_external_id in ids
    ]
    if rows:
        with conn.cursor() as cur:
            cur.executemany(_UPSERT_AD_SET, rows)
    return len(rows)


def upsert_days(
    conn: psycopg.Connection, platform: str, ids: Mapping[str, str], days: Iterable[DailyMetrics]
) -> DayCounts:
    """Write ``days`` (one batch statement) and mirror them; a day whose figures are unchanged is not touched."""
    known: list[DailyMetrics] = []
    unknown = 0
    for day in days:
        if day.external_id in ids:
            known.append(day)
        else:
            unknown += 1
    if not known:
        return DayCounts(unknown_campaign=unknown)
    # The last answer for a campaign and day wins (a platform answering one twice must not fail the batch).
    latest = {(ids[d.external_id], d.date): d for d in known}
    batch = list(latest.values())
    figures = {
        "day": [d.date for d in batch],
        "impressions": [d.impressions for d in batch],
        "reach": [d.reach for d in batch],
        "clicks": [d.clicks for d in batch],
        "spend": [d.spend for d in batch],
        "conversions": [d.conversions for d in batch],
    }
    keys = {"campaign_id": [ids[d.external_id] for d in batch], "day": figures["day"]}
    row = conn.execute(_UPSERT_DAYS, {**figures, **keys}).fetchone()
    if row["inserted"] or row["restated"]:
        conn.execute(_RUNNING_TOTALS, keys)
    mirror = {"platform": SEED_PLATFORM[platform], "external_id": [d.external_id for d in batch]}
    conn.execute(_MIRROR, {**figures, **mirror, "raw": [Jsonb(d.raw, dumps=_raw_dumps) for d in batch]})
    inserted, restated = int(row["inserted"]), int(row["restated"])
    return DayCounts(inserted, restated, len(batch) - inserted - restated, unknown)


def recompute_running_totals(conn: psycopg.Connection) -> int:
    """Every campaign's running totals from its first day (after a bulk load that bypassed the upsert)."""
    rows = conn.execute("SELECT campaign_id, min(day) AS day FROM campaign_days GROUP BY campaign_id").fetchall()
    keys = {"campaign_id": [r["campaign_id"] for r in rows], "day": [r["day"] for r in rows]}
    return conn.execute(_RUNNING_TOTALS, keys).rowcount if rows else 0


def _raw_dumps(value: Any) -> str:
    # The vendors' raw rows are parsed JSON (strings and numbers); anything else is written as text.
    return json.dumps(value, default=str, separators=(",", ":"))
