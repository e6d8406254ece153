"""Request and response models of the report, export and schedule routes, and one data schema per report type.

Every report type has three models: its **parameters** (what ``POST /reports`` takes under ``parameters``,
closed: an unknown field is a 422), its **data** (what is stored in ``reports.generated_data`` and answered as
``generated_data``: the documented JSON schema of that type, in the OpenAPI document), and its **report** (the
answer, discriminated by ``type``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

from warroom.campaigns.models import Money, Platform, SummaryOut, TopItem
from warroom.core.pagination import PageQuery
from warroom.core.types import ApiDate, ApiDatetime
from warroom.crisis.models import Status as AlertStatus
from warroom.crisis.models import TimelineEntry
from warroom.intelligence.models import DailyBrief
from warroom.mentions.models import SentimentPoint, Source

ReportType = Literal["sentiment_summary", "crisis_log", "campaign_performance", "mentions_digest", "daily_brief"]
REPORT_TYPES: tuple[str, ...] = ReportType.__args__  # type: ignore[attr-defined]
ExportFormat = Literal["csv", "pdf", "json"]
# The longest period each type covers (the sentiment series' own caps: hourly 90 days, daily 2 years).
MAX_PERIOD = {"hour": dt.timedelta(days=90), "day": dt.timedelta(days=731)}
MAX_LOG_DAYS = 366


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class _TimeWindow(_Params):
    """``from`` / ``to`` on publication (or detection) time; default the 7 days to now."""

    from_: ApiDatetime | None = Field(None, alias="from", description="Start (ISO 8601, included).")
    to: ApiDatetime | None = Field(None, description="End (ISO 8601, excluded); default now.")

    @model_validator(mode="after")
    def _ordered(self) -> _TimeWindow:
        if self.from_ is not None and self.to is not None and self.from_ >= self.to:
            raise ValueError("'from' must be before 'to'")
        return self

    def window(self, now: dt.datetime, default: dt.timedelta = dt.timedelta(days=7)) -> tuple[dt.datetime, dt.datetime]:
        end = self.to or now
        start = self.from_ or end - default
        return start.replace(second=0, microsecond=0), end.replace(second=0, microsecond=0)


class SentimentSummaryParams(_TimeWindow):
    interval: Literal["hour", "day"] = Field("day", description="Bucket of the series.")
    source: Source | None = Field(None, description="Only this channel.")

    @model_validator(mode="after")
    def _span(self) -> SentimentSummaryParams:
        if self.from_ is not None and (self.to or dt.datetime.now(dt.UTC)) - self.from_ > MAX_PERIOD[self.interval]:
            raise ValueError(f"a {self.interval} series covers at most {MAX_PERIOD[self.interval].days} days")
        return self


class CrisisLogParams(_TimeWindow):
    status: AlertStatus | None = None
    severity_min: int | None = Field(None, ge=1, le=10)

    @model_validator(mode="after")
    def _span(self) -> CrisisLogParams:
        if self.from_ is not None and (self.to or dt.datetime.now(dt.UTC)) - self.from_ > dt.timedelta(MAX_LOG_DAYS):
            raise ValueError(f"a crisis log covers at most {MAX_LOG_DAYS} days")
        return self


class CampaignPerformanceParams(_Params):
    from_: ApiDate | None = Field(None, alias="from", description="First day; default 30 days back.")
    to: ApiDate | None = Field(None, description="Last day, included; default today (UTC).")
    platform: Platform | None = None
    top: int = Field(10, ge=1, le=50, description="How many campaigns the ranking by spend lists.")

    @model_validator(mode="after")
    def _ordered(self) -> CampaignPerformanceParams:
        if self.from_ is not None and self.to is not None and self.from_ > self.to:
            raise ValueError("'from' must not be after 'to'")
        return self


class MentionsDigestParams(_TimeWindow):
    source: Source | None = None
    topic: str | None = Field(None, min_length=1, max_length=100)
    q: str | None = Field(None, min_length=1, max_length=200, description="Full-text search (web search syntax).")
    sentiment_max: float | None = Field(None, ge=-1, le=1)
    limit: int = Field(20, ge=1, le=100, description="Mentions in each list of the digest.")


class DailyBriefParams(_Params):
    date: ApiDate | None = Field(None, description="The campaign day the brief is for; default today.")


PARAMS_BY_TYPE: dict[str, type[_Params]] = {
    "sentiment_summary": SentimentSummaryParams,
    "crisis_log": CrisisLogParams,
    "campaign_performance": CampaignPerformanceParams,
    "mentions_digest": MentionsDigestParams,
    "daily_brief": DailyBriefParams,
}
# What a schedule decides itself (the period), so a subscription may not set it.
PERIOD_FIELDS = {"from_", "to", "date"}


# ------------------------------------------------------------------------------------------------ report data


class Period(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    start: dt.datetime = Field(description="Included.")
    end: dt.datetime = Field(description="Excluded.")


class SentimentTotals(BaseModel):
    mentions: int
    scored: int = Field(description="Mentions with a sentiment score.")
    avg_sentiment: float | None
    positive: int = Field(description="Score above 0.3.")
    neutral: int
    negative: int = Field(description="Score below -0.3.")
    strongly_negative: int = Field(description="Score below -0.8.")
    negative_share: float | None = Field(description="negative / mentions, 0-1.")
    reach: int


class SourceFigures(BaseModel):
    source: str
    mentions: int
    avg_sentiment: float | None
    negative_share: float | None


class TopicFigures(BaseModel):
    topic: str
    mentions: int
    avg_sentiment: float | None


class SentimentSummaryData(BaseModel):
    """``sentiment_summary``: volume and sentiment over a period, its series, by channel and top topics."""

    period: Period
    interval: Literal["hour", "day"]
    source: str | None
    totals: SentimentTotals
    series: list[SentimentPoint]
    by_source: list[SourceFigures]
    top_topics: list[TopicFigures]


class CrisisLogEntry(BaseModel):
    id: uuid.UUID
    kind: str
    status: AlertStatus
    severity: int
    title: str
    subject: str | None = Field(description='What it is about, e.g. "topic: healthcare"; empty for manual alerts.')
    detected_at: dt.datetime
    acknowledged_at: dt.datetime | None
    resolved_at: dt.datetime | None
    minutes_open: int | None = Field(description="Detection to resolution; empty while open.")
    linked_mentions: int
    timeline: list[TimelineEntry]


class CrisisLogData(BaseModel):
    """``crisis_log``: every alert detected in the period (newest first) with its timeline, and the counts."""

    period: Period
    total: int
    by_status: dict[str, int]
    by_kind: dict[str, int]
    by_day: dict[str, int] = Field(description="Alerts detected per UTC day (YYYY-MM-DD).")
    entries: list[CrisisLogEntry]
    truncated: bool = Field(description="True when more alerts matched than the log lists (`total` counts all).")


class DailySpend(BaseModel):
    date: dt.date
    platform: Platform
    impressions: int
    clicks: int
    spend: Money
    conversions: Money


class CampaignPerformanceData(BaseModel):
    """``campaign_performance``: the period's totals by platform, the campaigns ranked by spend, spend per day."""

    period_from: dt.date
    period_to: dt.date
    platform: Platform | None
    summary: SummaryOut
    top_by_spend: list[TopItem]
    daily: list[DailySpend]


class DigestMention(BaseModel):
    id: uuid.UUID
    published_at: dt.datetime
    source: str
    author: str | None
    content: str = Field(description="At most 500 characters.")
    sentiment_score: float | None
    reach: int
    url: str | None


class MentionsDigestData(BaseModel):
    """``mentions_digest``: the matching mentions' figures, the widest-reaching, most negative and latest ones."""

    period: Period
    filters: dict[str, Any]
    totals: SentimentTotals
    top_by_reach: list[DigestMention]
    most_negative: list[DigestMention]
    latest: list[DigestMention]


class _ReportBase(BaseModel):
    id: uuid.UUID
    title: str
    generated_at: dt.datetime
    generated_by: uuid.UUID | None = Field(description="The author; empty for reports made by a schedule or job.")
    schedule_id: uuid.UUID | None = Field(None, description="The schedule that made it, if one did.")
    period_start: dt.datetime | None = Field(None, description="The scheduled period it covers, if scheduled.")


class SentimentSummaryReport(_ReportBase):
    type: Literal["sentiment_summary"]
    parameters: SentimentSummaryParams
    generated_data: SentimentSummaryData


class CrisisLogReport(_ReportBase):
    type: Literal["crisis_log"]
    parameters: CrisisLogParams
    generated_data: CrisisLogData


class CampaignPerformanceReport(_ReportBase):
    type: Literal["campaign_performance"]
    parameters: CampaignPerformanceParams
    generated_data: CampaignPerformanceData


class MentionsDigestReport(_ReportBase):
    type: Literal["mentions_digest"]
    parameters: MentionsDigestParams
    generated_data: MentionsDigestData


class DailyBriefReport(_ReportBase):
    type: Literal["daily_brief"]
    parameters: DailyBriefParams
    generated_data: DailyBrief


class ReportOut(
    RootModel[
        Annotated[
            SentimentSummaryReport
            | CrisisLogReport
            | CampaignPerformanceReport
            | MentionsDigestReport
            | DailyBriefReport,
            Field(discriminator="type"),
        ]
    ]
):
    """A report: its ``type`` decides the schema of ``parameters`` and ``generated_data``."""


DATA_BY_TYPE: dict[str, type[BaseModel]] = {
    "sentiment_summary": SentimentSummaryData,
    "crisis_log": CrisisLogData,
    "campaign_performance": CampaignPerformanceData,
    "mentions_digest": MentionsDigestData,
    "daily_brief": DailyBrief,
}


# ------------------------------------------------------------------------------------------------ requests


class _Create(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, min_length=1, max_length=300, description="Default: the type and period.")


class SentimentSummaryCreate(_Create):
    type: Literal["sentiment_summary"]
    parameters: SentimentSummaryParams = Field(default_factory=SentimentSummaryParams)


class CrisisLogCreate(_Create):
    type: Literal["crisis_log"]
    parameters: CrisisLogParams = Field(default_factory=CrisisLogParams)


class CampaignPerformanceCreate(_Create):
    type: Literal["campaign_performance"]
    parameters: CampaignPerformanceParams = Field(default_factory=CampaignPerformanceParams)


class MentionsDigestCreate(_Create):
    type: Literal["mentions_digest"]
    parameters: MentionsDigestParams = Field(default_factory=MentionsDigestParams)


class DailyBriefCreate(_Create):
    type: Literal["daily_brief"]
    parameters: DailyBriefParams = Field(default_factory=DailyBriefParams)


class ReportCreate(
    RootModel[
        Annotated[
            SentimentSummaryCreate
            | CrisisLogCreate
            | CampaignPerformanceCreate
            | MentionsDigestCreate
            | DailyBriefCreate,
            Field(discriminator="type"),
        ]
    ]
):
    """``POST /reports``: a ``type`` and its ``parameters`` (each type's own, validated; an unknown type is a 422)."""


class ReportListQuery(PageQuery):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    type: ReportType | None = None
    author: uuid.UUID | None = Field(None, description="Only reports this user made.")
    from_: ApiDatetime | None = Field(None, alias="from", description="Generated at or after (ISO 8601).")
    to: ApiDatetime | None = Field(None, description="Generated before (ISO 8601).")


# ------------------------------------------------------------------------------------------------ exports


class _Source(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class MentionsSource(_Source):
    """Mentions with the filters of ``GET /mentionlytics/mentions`` (newest first)."""

    kind: Literal["mentions"]
    from_: ApiDatetime | None = Field(None, alias="from")
    to: ApiDatetime | None = None
    source: Source | None = None
    sentiment_min: float | None = Field(None, ge=-1, le=1)
    sentiment_max: float | None = Field(None, ge=-1, le=1)
    q: str | None = Field(None, min_length=1, max_length=200)
    topic: str | None = Field(None, max_length=100)
    crisis_id: uuid.UUID | None = None
    country: str | None = Field(None, pattern=r"^[A-Za-z]{2}$")


class AlertsSource(_Source):
    """Alerts with the filters of ``GET /alerts`` (newest first)."""

    kind: Literal["alerts"]
    status: AlertStatus | None = None
    severity_min: int | None = Field(None, ge=1, le=10)
    severity_max: int | None = Field(None, ge=1, le=10)
    from_: ApiDatetime | None = Field(None, alias="from")
    to: ApiDatetime | None = None


class CampaignMetricsSource(_Source):
    """Per day and platform (or one campaign's days): impressions, clicks, spend, conversions."""

    kind: Literal["campaign_metrics"]
    from_: ApiDate | None = Field(None, alias="from")
    to: ApiDate | None = None
    platform: Platform | None = None
    campaign_id: uuid.UUID | None = None


class AuditLogSource(_Source):
    """The audit log (admins only), newest first, with the filters of ``GET /audit``."""

    kind: Literal["audit_log"]
    user_id: uuid.UUID | None = None
    action: str | None = Field(None, max_length=100)
    resource_type: str | None = Field(None, max_length=50)
    resource_id: str | None = Field(None, max_length=255)
    from_: ApiDatetime | None = Field(None, alias="from")
    to: ApiDatetime | None = None


ExportSource = Annotated[
    MentionsSource | AlertsSource | CampaignMetricsSource | AuditLogSource, Field(discriminator="kind")
]


class ExportBody(BaseModel):
    """What to export: a stored report (``report_id``) or a query (``query``), exactly one of them."""

    model_config = ConfigDict(extra="forbid")

    report_id: uuid.UUID | None = None
    query: ExportSource | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ExportBody:
        if (self.report_id is None) == (self.query is None):
            raise ValueError("give either 'report_id' or 'query'")
        return self


class ExportJobOut(BaseModel):
    """An export job: queued, running, done (with a download link) or failed (with why)."""

    id: uuid.UUID
    status: Literal["queued", "running", "done", "failed"]
    format: ExportFormat
    rows: int | None = Field(description="Rows written (once done).")
    bytes: int | None = None
    filename: str | None = None
    created_at: dt.datetime
    finished_at: dt.datetime | None = None
    error: str | None = None
    download_url: str | None = Field(None, description="Presigned download (once done), valid `expires_in_s`.")
    expires_in_s: int | None = None


class ExportAccepted(BaseModel):
    """``202``: the export is large; poll ``poll_url`` (``report:ready`` is also sent on the socket)."""

    job: ExportJobOut
    poll_url: str
    estimated_rows: int


class ExportLink(BaseModel):
    """``303``: the file was built but is too large for an answer: download it from ``download_url``."""

    download_url: str
    expires_in_s: int
    rows: int
    format: ExportFormat


class ExportDocument(BaseModel):
    """The JSON export of a query: what was asked, the columns and every row as an object."""

    kind: str
    filters: dict[str, Any]
    generated_at: dt.datetime
    columns: list[str]
    rows: list[dict[str, Any]]
    row_count: int


# ------------------------------------------------------------------------------------------------ schedules

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[str, ...] = Weekday.__args__  # type: ignore[attr-defined]


class ScheduleCreate(BaseModel):
    """Subscribe to a report type: built daily (covering the day before) or weekly (the week before)."""

    model_config = ConfigDict(extra="forbid")

    type: ReportType
    frequency: Literal["daily", "weekly"]
    weekday: Weekday | None = Field(None, description="Weekly schedules: the day it is built (campaign time).")
    hour: int = Field(7, ge=0, le=23, description="The hour (campaign time zone, the `timezone` setting) it is built.")
    parameters: dict[str, Any] = Field(
        default_factory=dict, description="The type's parameters, except the period (the schedule sets it)."
    )

    @model_validator(mode="after")
    def _weekday_for_weekly(self) -> ScheduleCreate:
        if self.frequency == "weekly" and self.weekday is None:
            raise ValueError("a weekly schedule needs a 'weekday'")
        if self.frequency == "daily" and self.weekday is not None:
            raise ValueError("a daily schedule takes no 'weekday'")
        model = PARAMS_BY_TYPE[self.type]
        fixed = [name for name in self.parameters if name in ("from", "to", "date")]
        if fixed:
            raise ValueError(f"the schedule sets the period; remove {', '.join(fixed)}")
        self.parameters = model.model_validate(self.parameters).model_dump(
            mode="json", by_alias=True, exclude_none=True
        )
        return self


class ScheduleOut(BaseModel):
    id: uuid.UUID
    type: ReportType
    frequency: Literal["daily", "weekly"]
    weekday: Weekday | None
    hour: int
    timezone: str = Field(description="The campaign's time zone the hour is in.")
    parameters: dict[str, Any]
    subscriber_id: uuid.UUID
    created_at: dt.datetime
    last_run_at: dt.datetime | None
