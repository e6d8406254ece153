"""Meta Ads: the synced Meta campaigns, their ad sets and daily insights, and a manual sync."""

from __future__ import annotations

from warroom.auth.guard import authenticate_request
from warroom.campaigns import queries
from warroom.campaigns.models import (
    AdSetOut,
    AdSetQuery,
    CampaignOut,
    DateRangeQuery,
    InsightsOut,
    PlatformCampaignListQuery,
    SyncOut,
)
from warroom.core.http import RequestContext, WarRoomApp
from warroom.core.pagination import Page
from warroom.pipelines.campaigns import manual_sync

app = WarRoomApp("meta", authenticate=authenticate_request)


@app.endpoint(
    "GET", "/api/v1/meta/campaigns", role="readonly", query=PlatformCampaignListQuery, response=Page[CampaignOut]
)
def list_campaigns(query: PlatformCampaignListQuery) -> Page[CampaignOut]:
    """Meta campaigns by name (as last synced), with budgets, flights and special ad categories."""
    return queries.list_campaigns(query, platform="meta")


@app.endpoint("GET", "/api/v1/meta/adsets", role="readonly", query=AdSetQuery, response=Page[AdSetOut], errors=(404,))
def list_ad_sets(query: AdSetQuery) -> Page[AdSetOut]:
    """Ad sets by name, of one campaign (`campaign_id`: Meta's id) or of every campaign."""
    return queries.list_ad_sets(query)


@app.endpoint(
    "GET",
    "/api/v1/meta/campaigns/{campaign_id}/insights",
    role="readonly",
    query=DateRangeQuery,
    response=InsightsOut,
    errors=(404,),
)
def campaign_insights(campaign_id: str, query: DateRangeQuery) -> InsightsOut:
    """A Meta campaign's daily insights (by Meta's campaign id) over `from`..`to` (default the last 30 days)."""
    return queries.campaign_insights("meta", campaign_id, query)


@app.endpoint("POST", "/api/v1/meta/sync", role="manager", response=SyncOut)
def sync(ctx: RequestContext) -> SyncOut:
    """Sync Meta now and evaluate campaign alerts (at most 12 manual syncs an hour; audited).

    503 naming the cause (`token_missing`, `token_rejected`, `throttled`, ...) when it cannot sync; stored data
    stays readable."""
    return manual_sync(["meta"], ctx.actor(), strict=True)
