"""Request and response models of the Intelligence Hub: the analysis and the daily brief.

Example
-------
>>> AnalyzeBody(text="Alvarez dodged the question on medicare again.")
>>> AnalyzeBody(mention_ids=["6f1c2a9e-8b1d-4c51-9d53-2f0a6b7c8d90"])
>>> AnalyzeBody()                    # ValidationError naming both 'text' and 'mention_ids'

:class:`AnalysisResult` and :class:`BriefNarrative` are what a model (OpenAI in LIVE, the local rules in
MOCK) produces; their JSON schema, made strict, is the ``response_format`` sent to OpenAI, and the answer
is validated against them, so a value out of range (a score of 1.5) is a malformed answer, never stored.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from warroom.core.config import DataMode

# Long enough for a speech transcript or a long article, short enough to keep one prompt well inside
# every current chat model's context (about 5,000 tokens) and the request body small.
MAX_TEXT_CHARS = 20_000
MAX_MENTION_IDS = 100

RiskLevel = Literal["low", "medium", "high", "critical"]
RISK_LEVELS: tuple[RiskLevel, ...] = ("low", "medium", "high", "critical")
SentimentLabel = Literal["positive", "neutral", "negative"]
EntityType = Literal["person", "organization", "location", "account", "other"]


class AnalyzeBody(BaseModel):
    """``POST /intelligence/analyze``: a text, stored mentions, or both (analysed together)."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_TEXT_CHARS,
        description=f"Text to analyse (a post, an article, a transcript), at most {MAX_TEXT_CHARS:,} characters.",
    )
    mention_ids: list[uuid.UUID] | None = Field(
        None,
        min_length=1,
        max_length=MAX_MENTION_IDS,
        description=f"Ids of stored mentions to analyse together (1 to {MAX_MENTION_IDS}); unknown ids are a 404.",
    )

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank")
        return value

    @model_validator(mode="after")
    def _something_to_analyse(self) -> AnalyzeBody:
        if self.text is None and self.mention_ids is None:
            # Raised as a ValidationError so the 422 names both fields, not the body as a whole.
            message = "give 'text', 'mention_ids' or both"
            raise ValidationError.from_exception_data(
                "AnalyzeBody",
                [
                    InitErrorDetails(type=PydanticCustomError("missing_input", message), loc=(name,), input=None)
                    for name in ("text", "mention_ids")
                ],
            )
        return self


class Sentiment(BaseModel):
    score: float = Field(ge=-1, le=1, description="-1 (hostile) .. 1 (enthusiastic).")
    label: SentimentLabel


class Entity(BaseModel):
    name: str
    type: EntityType


class Risk(BaseModel):
    level: RiskLevel
    reasons: list[str] = Field(description="Why this level, one short reason each.")


class AnalysisResult(BaseModel):
    """What an analysis says about the text: the part a model produces (OpenAI or the local rules)."""

    summary: str = Field(description="One or two sentences on what is being said.")
    sentiment: Sentiment
    themes: list[str] = Field(description="Campaign themes the text is about, most prominent first.")
    keywords: list[str] = Field(description="The words and hashtags that carry the text, most frequent first.")
    entities: list[Entity] = Field(description="People, organisations, places and accounts named.")
    risk: Risk
    suggested_response: str = Field(description="What the communications team should do or say.")


class AnalysisOut(AnalysisResult):
    """The answer of ``POST /intelligence/analyze``."""

    mode: DataMode = Field(description="MOCK: the local rules; LIVE: OpenAI.")
    model: str = Field(description="The model that produced the analysis.")
    cached: bool = Field(description="True when this is a stored answer to an identical request (1 hour).")
    mentions_analysed: int
    analysed_at: dt.datetime


class BriefingQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    generate: bool = Field(
        False, description="Build today's brief now (manager and up) and answer it; replaces today's brief."
    )


class BriefNarrative(BaseModel):
    """The prose of a daily brief: what a model (OpenAI in LIVE, the template otherwise) writes from the figures."""

    headline: str = Field(description="One line, at most about 15 words.")
    narrative: str = Field(description="Two or three short paragraphs for the campaign's leadership.")
    highlights: list[str] = Field(description="The facts that matter most, one line each.")
    recommendations: list[str] = Field(description="What to do today, one action each.")


class Period(BaseModel):
    start: dt.datetime
    end: dt.datetime


class SourceCount(BaseModel):
    source: str
    mentions: int


class MentionFigures(BaseModel):
    """Volume and sentiment of the covered day against the day before it (from the hourly rollups)."""

    mentions: int
    mentions_previous_day: int
    mentions_change_pct: float | None
    avg_sentiment: float | None
    avg_sentiment_previous_day: float | None
    sentiment_change: float | None
    negative_share: float | None
    strongly_negative: int
    reach: int
    top_sources: list[SourceCount]


class DayPart(BaseModel):
    """The report day from its midnight to the moment the brief was built ("today so far")."""

    period: Period
    mentions: int
    avg_sentiment: float | None


class TopicFigure(BaseModel):
    topic: str
    mentions: int
    mentions_previous_day: int
    avg_sentiment: float | None


class KeywordTrend(BaseModel):
    """A keyword that rose above its own baseline (the 7 days before), scored as in ``/mentionlytics/trending``."""

    term: str
    mentions: int
    baseline_expected: float
    growth: float | None
    score: float
    avg_sentiment: float | None


class CrisisItem(BaseModel):
    id: uuid.UUID
    kind: str
    title: str | None
    subject: str | None
    severity: int | None
    status: str
    detected_at: dt.datetime
    resolved_at: dt.datetime | None


class CrisisFigures(BaseModel):
    opened: list[CrisisItem]
    resolved: list[CrisisItem]
    open_now: int


class PlatformFigures(BaseModel):
    platform: str
    campaigns: int
    spend: float | None
    impressions: int | None
    clicks: int | None
    conversions: int | None
    ctr: float | None = Field(description="clicks / impressions.")


class CampaignFigures(BaseModel):
    available: bool
    note: str | None = None
    platforms: list[PlatformFigures] = Field(default_factory=list)
    total_spend: float | None = None


class BriefFigures(BaseModel):
    """The figures of a daily brief: what the narrative is written from (and all a model is shown)."""

    report_date: dt.date = Field(description="The campaign day the brief is for (in the campaign's time zone).")
    timezone: str
    covers: Period = Field(description="The previous campaign day, which the figures describe.")
    mode: DataMode
    mentions: MentionFigures
    today_so_far: DayPart
    top_topics: list[TopicFigure]
    trending_keywords: list[KeywordTrend]
    crises: CrisisFigures
    campaigns: CampaignFigures


class DailyBrief(BriefNarrative, BriefFigures):
    """The daily intelligence report of one campaign day, as stored in ``reports.generated_data``."""

    narrative_source: Literal["ai", "template"]
    narrative_model: str | None = Field(description="The OpenAI model that wrote the narrative, if one did.")
    narrative_note: str | None = Field(None, description="Why the template was used in LIVE (OpenAI failed).")


class BriefingOut(DailyBrief):
    """The answer of ``GET /intelligence/briefing``."""

    id: uuid.UUID
    generated_at: dt.datetime
    generated_by: uuid.UUID | None = Field(description="The user who generated it now; empty for the 06:00 run.")
