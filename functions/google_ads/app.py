"""Google Ads: the synced Google Ads campaigns, their daily performance, the account's days, and a manual sync."""

from __future__ import annotations

from warroom.auth.guard import authenticate_request
from warroom.campaigns import queries
from warroom.campaigns.models import (
    CampaignOut,
    DateRangeQuery,
    InsightsOut,
    PlatformCampaignListQuery,
    SyncOut,
)
from warroom.core.http import RequestContext, WarRoomApp
from warroom.core.pagination import Page
from warroom.pipelines.campaigns import manual_sync

app = WarRoomApp("google_ads", authenticate=authenticate_request)


@app.endpoint(
    "GET", "/api/v1/google-ads/campaigns", role="readonly", query=PlatformCampaignListQuery, response=Page[CampaignOut]
)
def list_campaigns(query: PlatformCampaignListQuery) -> Page[CampaignOut]:
    """Google Ads campaigns by name (as last synced), with their daily budgets and serving status."""
    return queries.list_campaigns(query, platform="google_ads")


@app.endpoint(
    "GET",
    "/api/v1/google-ads/campaigns/{campaign_id}/performance",
    role="readonly",
    query=DateRangeQuery,
    response=InsightsOut,
    errors=(404,),
)
def campaign_performance(campaign_id: str, query: DateRangeQuery) -> InsightsOut:
    """A Google Ads campaign's days (by Google's campaign id) over `from`..`to` (default the last 30 days)."""
    return queries.campaign_insights("google_ads", campaign_id, query)


@app.endpoint("GET", "/api/v1/google-ads/insights", role="readonly", query=DateRangeQuery, response=InsightsOut)
def account_insights(query: DateRangeQuery) -> InsightsOut:
    """The account by day: every campaign's impressions, clicks, cost and conversions summed per day."""
    return queries.account_insights("google_ads", query)


@app.endpoint("POST", "/api/v1/google-ads/sync", role="manager", response=SyncOut)
def sync(ctx: RequestContext) -> SyncOut:
    """Sync Google Ads now and evaluate campaign alerts (at most 12 manual syncs an hour; audited).

    503 naming the cause (`token_missing`, `token_rejected`, `throttled`, ...) when it cannot sync; stored data
    stays readable."""
    return manual_sync(["google_ads"], ctx.actor(), strict=True)
