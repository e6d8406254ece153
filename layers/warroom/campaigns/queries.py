"""Reading the stored campaigns: lists, one campaign, daily or weekly series, summaries, comparisons, rankings.

Example
-------
>>> page = list_campaigns(CampaignListQuery(platform="meta", status="ACTIVE"))
>>> summary(DateRangeQuery(**{"from": "2026-11-01", "to": "2026-11-30"})).overall.spend
Decimal('48211.37')
>>> top(TopQuery(metric="cpa", limit=5)).items[0].campaign.name

Every figure is summed in SQL over ``campaign_days`` (numeric, exact) and the derived ones (ctr, cpc, cpm,
cpa) are computed from the sums in :class:`~decimal.Decimal`. The overall summary is the exact sum of the
platforms' totals. Period answers are cached per data version (:func:`bump_data_version` after each sync),
so a cached answer never outlives the data it was computed from, and for at most the platform's TTL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from decimal import Decimal
from typing import Any

import psycopg

from warroom.campaigns.models import (
    AdSetOut,
    AdSetQuery,
    CampaignDetail,
    CampaignMetrics,
    CampaignOut,
    CompareItem,
    CompareOut,
    CompareQuery,
    DateRangeQuery,
    InsightRow,
    InsightsOut,
    MetricPoint,
    MetricsQuery,
    PlatformCampaignListQuery,
    PlatformTotals,
    SummaryOut,
    TopItem,
    TopOut,
    TopQuery,
    Totals,
)
from warroom.campaigns.settings import CAMPAIGN_MAX_RANGE_DAYS
from warroom.core import cache
from warroom.core.db import connection
from warroom.core.errors import NotFound, ValidationFailed
from warroom.core.pagination import Keyset, NameIdPosition, Page
from warroom.core.settings import read_settings

DEFAULT_PERIOD_DAYS = 30
_RATIO = Decimal("0.0001")
CAMPAIGNS_KEYSET = Keyset("campaigns.list", NameIdPosition)
AD_SETS_KEYSET = Keyset("campaigns.ad_sets", NameIdPosition)
# How long a cached answer may live (the seed: Meta insights 1 h, Google Ads 15 min; answers across both
# platforms the shorter). Every sync bumps the data version, so none outlives the figures it was made from.
CACHE_TTL_S = {
    "meta": cache.CACHE_TTLS_S["meta_insights"] or 3600,
    "google_ads": cache.CACHE_TTLS_S["google_ads"] or 900,
}
PERIOD_CACHE_TTL_S = min(CACHE_TTL_S.values())
_VERSION_KEY = "campaigns:data_version"

CAMPAIGN_COLUMNS = (
    "c.id, c.platform, c.external_id, c.account_id, c.name, c.objective, c.status, c.effective_status,"
    " c.daily_budget, c.lifetime_budget, c.currency, c.start_time, c.stop_time, c.special_ad_categories, c.synced_at"
)
_SUMS = (
    "coalesce(sum(d.impressions), 0) AS impressions, coalesce(sum(d.clicks), 0) AS clicks,"
    " coalesce(sum(d.spend), 0) AS spend, coalesce(sum(d.conversions), 0) AS conversions"
)
# The ranking of each metric: its SQL over one campaign's sums, the direction, and what makes it defined.
# Costs rank cheapest first; the rest highest first.
_TOP_ORDER = {
    "spend": ("p.spend", "DESC", "true"),
    "impressions": ("p.impressions", "DESC", "true"),
    "clicks": ("p.clicks", "DESC", "true"),
    "conversions": ("p.conversions", "DESC", "true"),
    "ctr": ("p.clicks::numeric * 100 / p.impressions", "DESC", "p.impressions > 0"),
    "cpc": ("p.spend / p.clicks", "ASC", "p.clicks > 0"),
    "cpm": ("p.spend * 1000 / p.impressions", "ASC", "p.impressions > 0"),
    "cpa": ("p.spend / p.conversions", "ASC", "p.conversions > 0"),
}


def _ratio(numerator: Decimal, denominator: Decimal | int, scale: int = 1) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) * scale / Decimal(denominator)).quantize(_RATIO)


def totals_of(row: dict[str, Any]) -> Totals:
    """Sums (``impressions``, ``clicks``, ``spend``, ``conversions``) and the figures derived from them."""
    impressions, clicks = int(row["impressions"] or 0), int(row["clicks"] or 0)
    spend, conversions = Decimal(row["spend"] or 0), Decimal(row["conversions"] or 0)
    return Totals(
        impressions=impressions,
        clicks=clicks,
        spend=spend,
        conversions=conversions,
        ctr=_ratio(Decimal(clicks), impressions, 100),
        cpc=_ratio(spend, clicks),
        cpm=_ratio(spend, impressions, 1000),
        cpa=_ratio(spend, conversions),
    )


def campaign_out(row: dict[str, Any]) -> CampaignOut:
    return CampaignOut.model_validate({**row, "special_ad_categories": list(row["special_ad_categories"] or [])})


def resolve_period(query: DateRangeQuery, *, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The query's days, defaulting to the last 30 days to today (UTC); 422 naming the field past the cap."""
    today = today or dt.datetime.now(dt.UTC).date()
    until = query.to or max(today, query.from_ or today)
    since = query.from_ or until - dt.timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    if since > until:
        raise ValidationFailed(
            details=[{"loc": ["query", "from"], "msg": "'from' must not be after 'to'", "type": "value_error"}]
        )
    cap = read_settings([CAMPAIGN_MAX_RANGE_DAYS])[CAMPAIGN_MAX_RANGE_DAYS.key]
    if (until - since).days + 1 > cap:
        raise ValidationFailed(
            f"A period covers at most {cap} days.",
            details=[{"loc": ["query", "from"], "msg": f"the period spans more than {cap} days", "type": "too_long"}],
        )
    return since, until


# ---------------------------------------------------------------------------------------------- caching


def bump_data_version() -> None:
    """Every cached period answer is stale from now on (a sync stored new figures)."""
    cache.run("incr", lambda r: r.incr(_VERSION_KEY))


def _cached(name: str, parts: tuple[Any, ...], compute: Any, ttl_s: int = PERIOD_CACHE_TTL_S) -> Any:
    version = cache.run("get", lambda r: r.get(_VERSION_KEY)) or "0"
    digest = hashlib.sha256(repr((name, version, parts)).encode()).hexdigest()[:32]
    key = f"campaigns:answer:{digest}"
    hit = cache.run("get", lambda r: r.get(key))
    if hit is not None:
        return json.loads(hit)  # as it was answered; the route's model validates it again
    answer = compute()
    text = answer.model_dump_json(by_alias=True)
    cache.run("set", lambda r: r.set(key, text, ex=ttl_s))
    return answer


# ---------------------------------------------------------------------------------------------- campaigns


def _uuid_or_404(campaign_id: str) -> str:
    try:
        return str(uuid.UUID(campaign_id))
    except ValueError as error:
        raise NotFound(f"There is no campaign '{campaign_id}'.") from error


def list_campaigns(query: PlatformCampaignListQuery, *, platform: str | None = None) -> Page[CampaignOut]:
    """Campaigns by name (then id), filtered by platform, status, objective and part of the name
    (a :class:`CampaignListQuery`, or one platform's list with ``platform``)."""
    after = CAMPAIGNS_KEYSET.decode(query.cursor)
    conditions, params = [], []
    q = getattr(query, "q", None)
    platform = platform or getattr(query, "platform", None)
    for column, value in (("c.platform", platform), ("c.objective", getattr(query, "objective", None))):
        if value:
            conditions.append(f"{column} = %s")
            params.append(value)
    if query.status:
        conditions.append("(c.status = %s OR c.effective_status = %s)")
        params += [query.status, query.status]
    if q:
        conditions.append("c.name ILIKE %s")
        params.append("%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
    if after:
        conditions.append("(c.name, c.id) > (%s, %s::uuid)")
        params += [after.name, after.id]
    where = (" WHERE " + " AND ".join(conditions)) if conditions else ""
    with connection() as conn:
        rows = conn.execute(
            f"SELECT {CAMPAIGN_COLUMNS} FROM campaigns c{where} ORDER BY c.name, c.id LIMIT %s",
            (*params, query.limit + 1),
        ).fetchall()
    page = CAMPAIGNS_KEYSET.page(rows, query.limit, lambda row: NameIdPosition(name=row["name"], id=row["id"]))
    return page.map(campaign_out)


def _campaign_row(conn: psycopg.Connection, campaign_id: str) -> dict[str, Any]:
    row = conn.execute(f"SELECT {CAMPAIGN_COLUMNS} FROM campaigns c WHERE c.id = %s", (campaign_id,)).fetchone()
    if row is None:
        raise NotFound(f"There is no campaign '{campaign_id}'.")
    return row


def external_campaign_id(platform: str, external_id: str) -> str:
    """Our id of the platform's campaign ``external_id``; 404 when it was never synced."""
    with connection() as conn:
        row = conn.execute(
            "SELECT id FROM campaigns WHERE platform = %s AND external_id = %s", (platform, external_id)
        ).fetchone()
    if row is None:
        raise NotFound(f"There is no {platform} campaign '{external_id}'.")
    return str(row["id"])


def get_campaign(campaign_id: str) -> CampaignDetail:
    """One campaign with its lifetime totals and the span of its stored days."""
    campaign_id = _uuid_or_404(campaign_id)
    with connection() as conn:
        row = _campaign_row(conn, campaign_id)
        sums = conn.execute(
            f"SELECT {_SUMS}, min(d.day) AS first_day, max(d.day) AS last_day"
            " FROM campaign_days d WHERE d.campaign_id = %s",
            (campaign_id,),
        ).fetchone()
    base = campaign_out(row).model_dump()
    return CampaignDetail(**base, totals=totals_of(sums), first_day=sums["first_day"], last_day=sums["last_day"])


def _series(conn: psycopg.Connection, campaign_id: str, since: dt.date, until: dt.date, interval: str) -> list[Any]:
    if interval == "day":
        rows = conn.execute(
            "SELECT d.day AS start, d.impressions, d.clicks, d.spend, coalesce(d.conversions, 0) AS conversions,"
            " d.reach FROM campaign_days d WHERE d.campaign_id = %s AND d.day BETWEEN %s AND %s ORDER BY d.day",
            (campaign_id, since, until),
        ).fetchall()
    else:
        rows = conn.execute(
            f"SELECT date_trunc('week', d.day)::date AS start, {_SUMS}, NULL::bigint AS reach"
            " FROM campaign_days d WHERE d.campaign_id = %s AND d.day BETWEEN %s AND %s GROUP BY 1 ORDER BY 1",
            (campaign_id, since, until),
        ).fetchall()
    return [MetricPoint(start=r["start"], reach=r["reach"], **totals_of(r).model_dump()) for r in rows]


def campaign_metrics(campaign_id: str, query: MetricsQuery) -> CampaignMetrics:
    """A campaign's daily (or weekly, Monday-based) series over the period; days with no row are absent."""
    campaign_id = _uuid_or_404(campaign_id)
    since, until = resolve_period(query)
    with connection() as conn:
        _campaign_row(conn, campaign_id)
        points = _series(conn, campaign_id, since, until, query.interval)
    return CampaignMetrics(campaign_id=campaign_id, interval=query.interval, from_=since, to=until, points=points)


# ---------------------------------------------------------------------------------------------- periods

# Per campaign, a period's sums from the running totals: through the last stored day up to `until` (the campaign
# counts only if that day is in the period), minus through the last day before `since`. Two index-only look-ups
# per campaign, however long the period.
RUNNING_TOTALS_THROUGH = """
    JOIN LATERAL (
        SELECT d.day, d.cum_impressions, d.cum_clicks, d.cum_spend, d.cum_conversions FROM campaign_days AS d
        WHERE d.campaign_id = {id} AND d.day <= {until} ORDER BY d.day DESC LIMIT 1
    ) AS hi ON hi.day >= {since}
    LEFT JOIN LATERAL (
        SELECT d.cum_impressions, d.cum_clicks, d.cum_spend, d.cum_conversions FROM campaign_days AS d
        WHERE d.campaign_id = {id} AND d.day < {since} ORDER BY d.day DESC LIMIT 1
    ) AS lo ON true"""
PERIOD_SUMS = (
    "hi.cum_impressions - coalesce(lo.cum_impressions, 0) AS impressions,"
    " hi.cum_clicks - coalesce(lo.cum_clicks, 0) AS clicks,"
    " hi.cum_spend - coalesce(lo.cum_spend, 0) AS spend,"
    " hi.cum_conversions - coalesce(lo.cum_conversions, 0) AS conversions"
)
_PER_CAMPAIGN = (
    f"WITH p AS (SELECT c.id AS campaign_id, {PERIOD_SUMS} FROM campaigns AS c"
    + RUNNING_TOTALS_THROUGH.format(id="c.id", since="%(since)s", until="%(until)s")
    + ")"
)


def _summary(since: dt.date, until: dt.date) -> SummaryOut:
    with connection() as conn:
        rows = conn.execute(
            _PER_CAMPAIGN + " SELECT c.platform, count(*) AS campaigns, sum(p.impressions) AS impressions,"
            " sum(p.clicks) AS clicks, sum(p.spend) AS spend, sum(p.conversions) AS conversions"
            " FROM p JOIN campaigns c ON c.id = p.campaign_id GROUP BY c.platform ORDER BY c.platform",
            {"since": since, "until": until},
        ).fetchall()
    platforms = [
        PlatformTotals(platform=r["platform"], campaigns=r["campaigns"], **totals_of(r).model_dump()) for r in rows
    ]
    overall = {
        key: sum((getattr(p, key) for p in platforms), Decimal(0))
        for key in ("impressions", "clicks", "spend", "conversions")
    }
    return SummaryOut(from_=since, to=until, overall=totals_of(overall), platforms=platforms)


def summary(query: DateRangeQuery) -> Any:
    """Totals and blended figures for the period, by platform and overall (the exact sum of the platforms)."""
    since, until = resolve_period(query)
    return _cached("summary", (since, until), lambda: _summary(since, until))


def _period_totals(conn: psycopg.Connection, ids: list[str], since: dt.date, until: dt.date) -> dict[str, Totals]:
    rows = conn.execute(
        _PER_CAMPAIGN + " SELECT p.* FROM p WHERE p.campaign_id = ANY(%(ids)s::uuid[])",
        {"ids": ids, "since": since, "until": until},
    ).fetchall()
    found = {str(r["campaign_id"]): totals_of(r) for r in rows}
    empty = totals_of({"impressions": 0, "clicks": 0, "spend": 0, "conversions": 0})
    return {campaign_id: found.get(campaign_id, empty) for campaign_id in ids}


def compare(query: CompareQuery) -> CompareOut:
    """2-10 campaigns side by side over one period, in the order asked; 404 naming the unknown ids."""
    since, until = resolve_period(query)
    ids = query.ids.split(",")
    with connection() as conn:
        rows = conn.execute(
            f"SELECT {CAMPAIGN_COLUMNS} FROM campaigns c WHERE c.id = ANY(%s::uuid[])", (ids,)
        ).fetchall()
        by_id = {str(r["id"]): r for r in rows}
        unknown = [campaign_id for campaign_id in ids if campaign_id not in by_id]
        if unknown:
            raise NotFound("Some campaigns do not exist.", details={"unknown_ids": unknown})
        totals = _period_totals(conn, ids, since, until)
    items = [CompareItem(campaign=campaign_out(by_id[i]), totals=totals[i]) for i in ids]
    return CompareOut(from_=since, to=until, campaigns=items)


def _top(query: TopQuery, since: dt.date, until: dt.date) -> TopOut:
    expression, direction, defined = _TOP_ORDER[query.metric]
    platform_filter = " AND c.platform = %(platform)s" if query.platform else ""
    with connection() as conn:
        rows = conn.execute(
            _PER_CAMPAIGN + f" SELECT {CAMPAIGN_COLUMNS}, p.impressions, p.clicks, p.spend, p.conversions,"
            f" {expression} AS value FROM p JOIN campaigns c ON c.id = p.campaign_id"
            f" WHERE {defined}{platform_filter} ORDER BY value {direction}, c.id LIMIT %(limit)s",
            {"since": since, "until": until, "platform": query.platform, "limit": query.limit},
        ).fetchall()
    items = [
        TopItem(
            rank=rank,
            campaign=campaign_out(row),
            value=Decimal(row["value"]).quantize(_RATIO) if row["value"] is not None else None,
            totals=totals_of(row),
        )
        for rank, row in enumerate(rows, start=1)
    ]
    return TopOut(metric=query.metric, from_=since, to=until, items=items)


def top(query: TopQuery) -> Any:
    """The best campaigns of the period by one metric (costs cheapest first; only where the metric is defined)."""
    since, until = resolve_period(query)
    key = (since, until, query.metric, query.limit, query.platform)
    return _cached("top", key, lambda: _top(query, since, until))


# ---------------------------------------------------------------------------------------------- platform views


def _insight_rows(conn: psycopg.Connection, where: str, params: tuple[Any, ...]) -> list[InsightRow]:
    rows = conn.execute(
        f"SELECT d.day, {_SUMS}, CASE WHEN count(*) = 1 THEN max(d.reach) END AS reach"
        f" FROM campaign_days d JOIN campaigns c ON c.id = d.campaign_id WHERE {where} GROUP BY d.day ORDER BY d.day",
        params,
    ).fetchall()
    return [InsightRow(date=r["day"], reach=r["reach"], **totals_of(r).model_dump()) for r in rows]


def _insights(platform: str, external_id: str | None, query: DateRangeQuery) -> InsightsOut:
    since, until = resolve_period(query)
    where, params = "c.platform = %s AND d.day BETWEEN %s AND %s", (platform, since, until)
    if external_id is not None:
        where, params = where + " AND c.id = %s", (*params, external_campaign_id(platform, external_id))
    with connection() as conn:
        rows = _insight_rows(conn, where, params)
    overall = {
        k: sum((getattr(r, k) for r in rows), Decimal(0)) for k in ("impressions", "clicks", "spend", "conversions")
    }
    return InsightsOut(
        platform=platform, campaign_id=external_id, from_=since, to=until, rows=rows, totals=totals_of(overall)
    )


def campaign_insights(platform: str, external_id: str, query: DateRangeQuery) -> Any:
    """One platform campaign's days (by the platform's own id), as Meta's insights or Google's performance."""
    since, until = resolve_period(query)
    key = (platform, external_id, since, until)
    return _cached("insights", key, lambda: _insights(platform, external_id, query), CACHE_TTL_S[platform])


def account_insights(platform: str, query: DateRangeQuery) -> Any:
    """The platform account's days: every campaign summed per day."""
    since, until = resolve_period(query)
    key = (platform, None, since, until)
    return _cached("insights", key, lambda: _insights(platform, None, query), CACHE_TTL_S[platform])


def list_ad_sets(query: AdSetQuery) -> Page[AdSetOut]:
    """Meta ad sets by name, of one campaign (Meta's id) or all; 404 for a campaign never synced."""
    after = AD_SETS_KEYSET.decode(query.cursor)
    conditions, params = ["c.platform = 'meta'"], []
    if query.campaign_id:
        conditions.append("c.id = %s")
        params.append(external_campaign_id("meta", query.campaign_id))
    if after:
        conditions.append("(a.name, a.id) > (%s, %s::uuid)")
        params += [after.name, after.id]
    with connection() as conn:
        rows = conn.execute(
            "SELECT a.id, a.external_id, a.campaign_id, c.external_id AS campaign_external_id, a.name, a.status,"
            " a.effective_status, a.optimization_goal, a.billing_event, a.daily_budget, a.lifetime_budget,"
            " a.start_time, a.end_time FROM campaign_ad_sets a JOIN campaigns c ON c.id = a.campaign_id"
            f" WHERE {' AND '.join(conditions)} ORDER BY a.name, a.id LIMIT %s",
            (*params, query.limit + 1),
        ).fetchall()
    page = AD_SETS_KEYSET.page(rows, query.limit, lambda row: NameIdPosition(name=row["name"], id=row["id"]))
    return page.map(AdSetOut.model_validate)
