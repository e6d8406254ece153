"""Mentions: the social-listening routes under /api/v1/mentionlytics (readonly and up; sync needs manager)."""

from __future__ import annotations

from typing import Any

from warroom.auth.guard import authenticate_request
from warroom.core.http import WarRoomApp
from warroom.core.pagination import Page
from warroom.mentions.models import (
    GeoOut,
    InfluencersOut,
    InfluencersQuery,
    MentionListQuery,
    MentionOut,
    PeriodQuery,
    SentimentQuery,
    SentimentSeriesOut,
    SyncBody,
    SyncOut,
    TrendingOut,
    TrendingQuery,
)
from warroom.mentions.queries import (
    fetch_mention,
    fetch_mention_page,
    geo_breakdown,
    influencers,
    sentiment_series,
    trending,
)
from warroom.pipelines.listening import sync_then_detect

app = WarRoomApp("mentions", authenticate=authenticate_request)


@app.endpoint(
    "GET", "/api/v1/mentionlytics/mentions", role="readonly", query=MentionListQuery, response=Page[MentionOut]
)
def list_mentions(query: MentionListQuery) -> Page[MentionOut]:
    """Mentions, newest first, filtered by time, source, sentiment, full text, topic, crisis and country."""
    return fetch_mention_page(query)


@app.endpoint("GET", "/api/v1/mentionlytics/mentions/{mention_id}", role="readonly", response=MentionOut, errors=(404,))
def get_mention(mention_id: str) -> dict[str, Any]:
    """One mention by id."""
    return fetch_mention(mention_id)


@app.endpoint(
    "GET", "/api/v1/mentionlytics/sentiment", role="readonly", query=SentimentQuery, response=SentimentSeriesOut
)
def get_sentiment(query: SentimentQuery) -> dict[str, Any]:
    """Mentions and average sentiment per minute, hour or day, with the breakdown by source."""
    return sentiment_series(query)


@app.endpoint("GET", "/api/v1/mentionlytics/geo", role="readonly", query=PeriodQuery, response=GeoOut)
def get_geo(query: PeriodQuery) -> dict[str, Any]:
    """Mentions and average sentiment by country and region."""
    return geo_breakdown(query)


@app.endpoint(
    "GET", "/api/v1/mentionlytics/influencers", role="readonly", query=InfluencersQuery, response=InfluencersOut
)
def get_influencers(query: InfluencersQuery) -> dict[str, Any]:
    """Authors ranked by reach and engagement in the period, with their sentiment."""
    return influencers(query)


@app.endpoint("GET", "/api/v1/mentionlytics/trending", role="readonly", query=TrendingQuery, response=TrendingOut)
def get_trending(query: TrendingQuery) -> dict[str, Any]:
    """Topics and keywords whose volume rose most against their own baseline."""
    return trending(query)


@app.endpoint("POST", "/api/v1/mentionlytics/sync", role="manager", body=SyncBody, response=SyncOut, errors=(503,))
def post_sync(body: SyncBody) -> dict[str, Any]:
    """Pull from the active source now (manager): counts fetched, inserted and duplicates.

    503 naming the cause when the live source cannot be used (token missing or rejected, vendor down).
    """
    return sync_then_detect(max_pages=body.max_pages)
