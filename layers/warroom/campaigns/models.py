"""Request and response models of the campaign routes (``/campaigns``, ``/meta``, ``/google-ads``).

Money is a decimal string in the account's currency (``"1234.56"``; Google's micros can give up to six
decimals), never a JSON float, so a client that sums it gets the same cents as the platforms. ``ctr`` is a
percentage, ``cpc`` / ``cpm`` / ``cpa`` money, each derived from the period's sums (never averaged across days).
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, ValidationInfo, field_validator

from warroom.core.pagination import PageQuery
from warroom.core.types import ApiDate

Platform = Literal["meta", "google_ads"]
TopMetric = Literal["spend", "impressions", "clicks", "conversions", "ctr", "cpc", "cpm", "cpa"]
TOP_METRICS: tuple[str, ...] = TopMetric.__args__  # type: ignore[attr-defined]


def _money_text(value: Decimal) -> str:
    # Cents when the amount is whole cents (most are), every stored digit otherwise (micros); never exponents.
    cents = value.quantize(Decimal("0.01"))
    return f"{cents:f}" if cents == value else f"{value.normalize():f}"


Money = Annotated[Decimal, PlainSerializer(_money_text, return_type=str, when_used="json")]


class DateRangeQuery(BaseModel):
    """``from`` / ``to``: calendar days, both included (the platforms' own day boundaries)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    from_: ApiDate | None = Field(None, alias="from", description="First day (YYYY-MM-DD); default 30 days back.")
    to: ApiDate | None = Field(None, description="Last day (YYYY-MM-DD), included; default today (UTC).")

    @field_validator("to")
    @classmethod
    def _to_after_from(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        start = info.data.get("from_")
        if value is not None and start is not None and start > value:
            raise ValueError("'to' must not be before 'from'")
        return value


class PlatformCampaignListQuery(PageQuery):
    """Filters of one platform's campaign list (alphabetical by name)."""

    status: str | None = Field(None, max_length=32, pattern=r"^[A-Z_]+$", description="e.g. ACTIVE, PAUSED.")


class CampaignListQuery(PlatformCampaignListQuery):
    """Filters of ``GET /campaigns`` (alphabetical by name)."""

    platform: Platform | None = None
    objective: str | None = Field(None, max_length=64, pattern=r"^[A-Z_]+$")
    q: str | None = Field(None, min_length=1, max_length=200, description="Part of the campaign's name.")


class AdSetQuery(PageQuery):
    campaign_id: str | None = Field(
        None, max_length=64, pattern=r"^\d{1,64}$", description="Meta's campaign id (digits); all when empty."
    )


class MetricsQuery(DateRangeQuery):
    interval: Literal["day", "week"] = Field("day", description="Weeks start on Monday.")


class CompareQuery(DateRangeQuery):
    ids: str = Field(max_length=400, description="2-10 campaign ids, comma-separated.")

    @field_validator("ids")
    @classmethod
    def _two_to_ten(cls, value: str) -> str:
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if not 2 <= len(parts) <= 10:
            raise ValueError("give 2 to 10 campaign ids")
        try:
            unique = list(dict.fromkeys(str(uuid.UUID(part)) for part in parts))
        except ValueError as error:
            raise ValueError("each id must be a campaign id (a UUID)") from error
        if len(unique) != len(parts):
            raise ValueError("an id is given twice")
        return ",".join(unique)


class TopQuery(DateRangeQuery):
    metric: TopMetric = Field("spend", description="What to rank by: " + ", ".join(TOP_METRICS) + ".")
    limit: int = Field(10, ge=1, le=50)
    platform: Platform | None = None


class Period(BaseModel):
    """The days an answer covers, both included."""

    model_config = ConfigDict(populate_by_name=True)

    from_: dt.date = Field(alias="from")
    to: dt.date


class PacingQuery(BaseModel):
    platform: Platform | None = None


class SyncBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platforms: list[Platform] = Field(
        default_factory=lambda: ["meta", "google_ads"], min_length=1, max_length=2, description="Default both."
    )


class Totals(BaseModel):
    """A period's sums and the figures derived from them (null where the divisor is zero)."""

    impressions: int
    clicks: int
    spend: Money
    conversions: Money
    ctr: Decimal | None = Field(description="Clicks per 100 impressions (percent).")
    cpc: Money | None
    cpm: Money | None
    cpa: Money | None = Field(description="Spend per conversion.")


class CampaignOut(BaseModel):
    id: uuid.UUID
    platform: Platform
    external_id: str = Field(description="The platform's own id.")
    account_id: str
    name: str
    objective: str | None
    status: str | None
    effective_status: str | None = Field(description="What is delivering (Meta effective_status, Google serving).")
    daily_budget: Money | None
    lifetime_budget: Money | None
    currency: str | None
    start_time: dt.datetime | None
    stop_time: dt.datetime | None
    special_ad_categories: list[str]
    synced_at: dt.datetime


class CampaignDetail(CampaignOut):
    totals: Totals = Field(description="Lifetime sums of the stored days.")
    first_day: dt.date | None
    last_day: dt.date | None


class MetricPoint(Totals):
    start: dt.date = Field(description="The day, or the Monday of the week.")
    reach: int | None = Field(None, description="Meta's reach of the day (not summable, so daily only).")


class CampaignMetrics(Period):
    campaign_id: uuid.UUID
    interval: Literal["day", "week"]
    points: list[MetricPoint]


class PlatformTotals(Totals):
    platform: Platform
    campaigns: int = Field(description="Campaigns with at least one day in the period.")


class SummaryOut(Period):
    overall: Totals
    platforms: list[PlatformTotals]


class CompareItem(BaseModel):
    campaign: CampaignOut
    totals: Totals


class CompareOut(Period):
    campaigns: list[CompareItem]


class TopItem(BaseModel):
    rank: int
    campaign: CampaignOut
    value: Decimal | None = Field(description="The ranked metric's value (money as a decimal).")
    totals: Totals


class TopOut(Period):
    metric: TopMetric
    items: list[TopItem]


class PacingItem(BaseModel):
    campaign: CampaignOut
    budget: Money = Field(description="The flight's budget: the lifetime budget, or the daily budget times days.")
    flight_start: dt.date
    flight_end: dt.date
    spend_to_date: Money
    expected_to_date: Money = Field(description="What a linear flight would have spent by now.")
    elapsed_share: Decimal = Field(description="Share of the flight elapsed (0-1).")
    pacing_pct: Decimal | None = Field(description="Share of budget spent / share of flight elapsed, in percent.")
    projected_end_spend: Money | None
    required_daily_spend: Money | None = Field(description="What each remaining day must spend to end on budget.")
    status: Literal["on_track", "over", "under", "not_started", "ended"]


class PacingOut(BaseModel):
    as_of: dt.datetime
    over_threshold_pct: int
    under_threshold_pct: int
    items: list[PacingItem]


class AdSetOut(BaseModel):
    id: uuid.UUID
    external_id: str
    campaign_id: uuid.UUID
    campaign_external_id: str
    name: str
    status: str | None
    effective_status: str | None
    optimization_goal: str | None
    billing_event: str | None
    daily_budget: Money | None
    lifetime_budget: Money | None
    start_time: dt.datetime | None
    end_time: dt.datetime | None


class InsightRow(Totals):
    date: dt.date
    reach: int | None = None


class InsightsOut(Period):
    platform: Platform
    campaign_id: str | None = Field(description="The platform's campaign id; empty for account-level insights.")
    rows: list[InsightRow]
    totals: Totals


class PlatformSyncOutcome(BaseModel):
    platform: Platform
    status: Literal["synced", "skipped", "failed"]
    accounts: list[dict] = Field(description="Per account: campaigns, day counts, window, or the cause of a failure.")
    cause: str | None = None
    message: str | None = None


class SyncOut(BaseModel):
    platforms: list[PlatformSyncOutcome]
    alerts: dict = Field(description="Campaign alerts opened, updated and resolved after the sync.")
