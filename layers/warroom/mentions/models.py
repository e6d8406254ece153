"""The mention as every source hands it to ingest, and the request / response models of the mention routes."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from warroom.core.pagination import PageQuery
from warroom.core.types import ApiDatetime

Provider = Literal["mock", "mentionlytics", "webhook"]  # webhook: pushed by a signed sender (warroom.webhooks)
# Channels: the mock covers the first nine; Mentionlytics' other channels arrive as "web" or "other".
SOURCES = ("twitter", "facebook", "instagram", "tiktok", "youtube", "news", "blogs", "forums", "reddit", "web", "other")
Source = Literal[
    "twitter", "facebook", "instagram", "tiktok", "youtube", "news", "blogs", "forums", "reddit", "web", "other"
]
# Sentiment bands (also in the 0006 migration's comment): the seed's crisis rule is < -0.8.
NEGATIVE_BELOW = -0.3
STRONGLY_NEGATIVE_BELOW = -0.8
POSITIVE_ABOVE = 0.3


def sentiment_label(score: float | None) -> str | None:
    if score is None:
        return None
    return "positive" if score > POSITIVE_ABOVE else "negative" if score < NEGATIVE_BELOW else "neutral"


class MentionIn(BaseModel):
    """One mention, normalised: what a source yields and ingest stores (``sentiment_score`` may be missing)."""

    model_config = ConfigDict(extra="ignore")

    provider: Provider
    external_id: str = Field(min_length=1, max_length=200)
    source: Source
    content: str
    published_at: dt.datetime
    url: str | None = None
    language: str | None = Field(None, max_length=12)
    author_name: str | None = Field(None, max_length=300)
    author_handle: str | None = Field(None, max_length=300)
    author_followers: int | None = Field(None, ge=0)
    author_influence: float | None = Field(None, ge=0, le=100)
    country: str | None = Field(None, min_length=2, max_length=2)
    region: str | None = Field(None, max_length=120)
    city: str | None = Field(None, max_length=120)
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    likes: int = Field(0, ge=0)
    shares: int = Field(0, ge=0)
    comments: int = Field(0, ge=0)
    reach: int = Field(0, ge=0)
    sentiment_score: float | None = Field(None, ge=-1, le=1)
    topics: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] | None = None


class PeriodQuery(BaseModel):
    """A time window on ``published_at`` (aggregates default to the last 24 hours)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    from_: ApiDatetime | None = Field(None, alias="from", description="Published at or after (ISO 8601; 1970-2100).")
    to: ApiDatetime | None = Field(None, description="Published before (ISO 8601; 1970-2100).")

    @field_validator("to")
    @classmethod
    def _to_after_from(cls, value: dt.datetime | None, info: ValidationInfo) -> dt.datetime | None:
        start = info.data.get("from_")
        if value is not None and start is not None and start > value:
            raise ValueError("'to' must not be before 'from'")
        return value


class MentionListQuery(PeriodQuery, PageQuery):
    """Filters of ``GET /mentionlytics/mentions`` (all optional; newest first)."""

    source: Source | None = Field(None, description="Channel: " + ", ".join(SOURCES) + ".")
    sentiment_min: float | None = Field(None, ge=-1, le=1)
    sentiment_max: float | None = Field(None, ge=-1, le=1)
    q: str | None = Field(None, min_length=1, max_length=200, description="Full-text search (web search syntax).")
    topic: str | None = Field(None, max_length=100)
    crisis_id: uuid.UUID | None = None
    country: str | None = Field(None, pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2 code.")

    @field_validator("sentiment_max")
    @classmethod
    def _max_above_min(cls, value: float | None, info: ValidationInfo) -> float | None:
        low = info.data.get("sentiment_min")
        if value is not None and low is not None and low > value:
            raise ValueError("'sentiment_max' must not be below 'sentiment_min'")
        return value


# The longest series each interval may answer: ~2,900 minute, ~2,200 hour or ~730 day buckets per source,
# so no answer comes near Lambda's 6 MB response limit however much history there is.
MAX_SERIES_SPAN = {"minute": dt.timedelta(hours=48), "hour": dt.timedelta(days=90), "day": dt.timedelta(days=731)}
_SPAN_LABEL = {"minute": "48 hours", "hour": "90 days", "day": "2 years"}


class SentimentQuery(PeriodQuery):
    interval: Literal["minute", "hour", "day"] = "hour"
    source: Source | None = None

    @model_validator(mode="after")
    def _span_within_the_intervals_limit(self) -> SentimentQuery:
        if self.from_ is not None:
            span = (self.to or dt.datetime.now(dt.UTC)) - self.from_
            limit = MAX_SERIES_SPAN[self.interval]
            if span > limit:
                raise ValueError(
                    f"a {self.interval} series spans at most {_SPAN_LABEL[self.interval]}: "
                    "narrow from/to or use a coarser interval"
                )
        return self


class InfluencersQuery(PeriodQuery):
    limit: int = Field(20, ge=1, le=200)
    source: Source | None = None


class TrendingQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    window_hours: int = Field(6, ge=1, le=72, description="The recent window compared with its own baseline.")
    baseline_hours: int = Field(72, ge=6, le=24 * 14, description="The baseline that precedes it.")
    limit: int = Field(10, ge=1, le=50)


class SyncBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_pages: int = Field(20, ge=1, le=100, description="At most this many pages from the live source.")


class Author(BaseModel):
    name: str | None
    handle: str | None
    followers: int | None
    influence: float | None


class Location(BaseModel):
    country: str | None
    region: str | None
    city: str | None
    latitude: float | None
    longitude: float | None


class Engagement(BaseModel):
    likes: int
    shares: int
    comments: int
    reach: int


class MentionOut(BaseModel):
    id: uuid.UUID
    provider: Provider
    external_id: str
    source: str
    content: str
    published_at: dt.datetime
    url: str | None
    language: str | None
    author: Author
    location: Location
    engagement: Engagement
    sentiment_score: float | None
    sentiment_label: str | None
    topics: list[str]
    keywords: list[str]
    crisis_id: uuid.UUID | None


class SyncOut(BaseModel):
    provider: Provider
    fetched: int
    inserted: int
    duplicates: int
    pages: int
    cursor: dict[str, Any] | None


class Window(BaseModel):
    """A time window ``[from, to)``, as the aggregates report the one they cover."""

    model_config = ConfigDict(populate_by_name=True)

    from_: dt.datetime = Field(alias="from", description="Start (included).")
    to: dt.datetime = Field(description="End (excluded).")


class SentimentPoint(BaseModel):
    bucket: dt.datetime = Field(description="Start of the minute, hour or day.")
    mentions: int
    avg_sentiment: float | None = Field(description="Mean score of the scored mentions; empty when none was scored.")
    positive: int
    negative: int
    strongly_negative: int


class SentimentSeriesOut(Window):
    """``GET /mentionlytics/sentiment``: the series overall (or of ``source``) and, without ``source``, per source."""

    interval: Literal["minute", "hour", "day"]
    source: Source | None
    series: list[SentimentPoint]
    by_source: dict[str, list[SentimentPoint]] = Field(description="Each source's series; empty with `source`.")


class RegionFigures(BaseModel):
    region: str
    mentions: int
    avg_sentiment: float | None
    negative_share: float | None = Field(description="Share of negative mentions, 0-1.")


class CountryFigures(BaseModel):
    country: str = Field(description="ISO 3166-1 alpha-2 code.")
    mentions: int
    avg_sentiment: float | None
    negative_share: float | None = Field(description="Share of negative mentions, 0-1.")
    regions: list[RegionFigures] = Field(description="The country's regions, most mentioned first.")


class GeoOut(Window):
    """``GET /mentionlytics/geo``: countries, most mentioned first."""

    countries: list[CountryFigures]


class InfluencerOut(BaseModel):
    handle: str
    name: str | None
    followers: int | None
    influence: float | None
    mentions: int
    reach: int
    engagement: int = Field(description="Likes, shares and comments of the author's mentions in the period.")
    avg_sentiment: float | None
    sources: list[str]


class InfluencersOut(Window):
    """``GET /mentionlytics/influencers``: authors by reach, then engagement."""

    items: list[InfluencerOut]


class TrendingTerm(BaseModel):
    term: str
    mentions: int = Field(description="Mentions in the recent window.")
    baseline_expected: float = Field(description="Mentions the baseline rate predicts for a window this long.")
    growth: float | None = Field(description="mentions / baseline_expected; empty for a term new in the window.")
    score: float = Field(description="Excess over the baseline in Poisson standard deviations.")
    avg_sentiment: float | None


class TrendingOut(Window):
    """``GET /mentionlytics/trending``: rising topics and keywords, highest score first."""

    baseline_from: dt.datetime = Field(description="Start of the baseline, which ends at `from`.")
    topics: list[TrendingTerm]
    keywords: list[TrendingTerm]
