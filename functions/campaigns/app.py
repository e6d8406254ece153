"""Campaigns: Meta and Google Ads side by side -- list, one campaign, series, summary, compare, top, pacing, sync."""

from __future__ import annotations

from warroom.auth.guard import authenticate_request
from warroom.campaigns import queries
from warroom.campaigns.models import (
    CampaignDetail,
    CampaignListQuery,
    CampaignMetrics,
    CampaignOut,
    CompareOut,
    CompareQuery,
    DateRangeQuery,
    MetricsQuery,
    PacingOut,
    PacingQuery,
    SummaryOut,
    SyncBody,
    SyncOut,
    TopOut,
    TopQuery,
)
from warroom.campaigns.pacing import pacing_report
from warroom.core.http import RequestContext, WarRoomApp
from warroom.core.pagination import Page
from warroom.pipelines.campaigns import manual_sync

app = WarRoomApp("campaigns", authenticate=authenticate_request)


@app.endpoint("GET", "/api/v1/campaigns", role="readonly", query=CampaignListQuery, response=Page[CampaignOut])
def list_campaigns(query: CampaignListQuery) -> Page[CampaignOut]:
    """Both platforms' campaigns by name; filters: platform, status (or effective status), objective, `q` (name)."""
    return queries.list_campaigns(query)


@app.endpoint("GET", "/api/v1/campaigns/summary", role="readonly", query=DateRangeQuery, response=SummaryOut)
def summary(query: DateRangeQuery) -> SummaryOut:
    """Totals and blended CTR, CPC, CPM and CPA for a period (default the last 30 days), by platform and overall.

    The overall figures are the exact sum of the platforms'; money is a decimal string in the account currency.
    """
    return queries.summary(query)


@app.endpoint(
    "GET", "/api/v1/campaigns/compare", role="readonly", query=CompareQuery, response=CompareOut, errors=(404,)
)
def compare(query: CompareQuery) -> CompareOut:
    """2-10 campaigns (`ids`, comma-separated) side by side over one period; 404 naming unknown ids."""
    return queries.compare(query)


@app.endpoint("GET", "/api/v1/campaigns/top", role="readonly", query=TopQuery, response=TopOut)
def top(query: TopQuery) -> TopOut:
    """The period's best campaigns by `metric` (spend, impressions, clicks, conversions, ctr; cpc, cpm and cpa
    rank cheapest first, among campaigns where they are defined)."""
    return queries.top(query)


@app.endpoint("GET", "/api/v1/campaigns/pacing", role="readonly", query=PacingQuery, response=PacingOut)
def pacing(query: PacingQuery) -> PacingOut:
    """Per campaign with a budget: spend to date against a linear flight, pacing %, projection, required daily
    spend, and the over / under flag (thresholds are the settings `pacing_over_threshold_pct` / `..._under_...`)."""
    return pacing_report(platform=query.platform)


@app.endpoint("POST", "/api/v1/campaigns/sync", role="manager", body=SyncBody, response=SyncOut)
def sync(body: SyncBody, ctx: RequestContext) -> SyncOut:
    """Sync both platforms now (or those named) and evaluate campaign alerts; reports each platform's outcome.

    A platform that cannot sync (credentials, quota, vendor down) is reported with its cause while the other
    syncs. At most 12 manual syncs per platform and hour (429 with `Retry-After`); audited.
    """
    return manual_sync(list(dict.fromkeys(body.platforms)), ctx.actor())


@app.endpoint("GET", "/api/v1/campaigns/{campaign_id}", role="readonly", response=CampaignDetail, errors=(404,))
def get_campaign(campaign_id: str) -> CampaignDetail:
    """One campaign with its lifetime totals and the span of its stored days."""
    return queries.get_campaign(campaign_id)


@app.endpoint(
    "GET",
    "/api/v1/campaigns/{campaign_id}/metrics",
    role="readonly",
    query=MetricsQuery,
    response=CampaignMetrics,
    errors=(404,),
)
def campaign_metrics(campaign_id: str, query: MetricsQuery) -> CampaignMetrics:
    """The campaign's daily series over a period (`interval=week`: weeks from Monday), derived figures per point."""
    return queries.campaign_metrics(campaign_id, query)
