"""The one interface every paid-campaign source implements, and the typed values it answers.

Example
-------
>>> source = MetaSource(account_id="1234", access_token=token)
>>> campaigns = source.list_campaigns()                          # list[CampaignRecord]
>>> days = source.daily_metrics(campaigns[0].external_id, since, until)   # list[DailyMetrics]
>>> every_day = source.account_daily_metrics(since, until)      # every campaign's days (what a sync uses)
>>> source.list_ad_sets()                                        # Meta only (``AdSetSource``)

Money is :class:`~decimal.Decimal` in currency units (never float): each connector converts the platform's
own representation (Meta's minor-unit budget strings, Google's micros) at the edge.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from warroom.core.errors import DependencyUnavailable


@dataclass(frozen=True)
class CampaignRecord:
    """One campaign as the platform describes it; budgets in currency units (None when not set)."""

    platform: str
    external_id: str
    account_id: str
    name: str
    objective: str | None = None
    status: str | None = None
    effective_status: str | None = None
    daily_budget: Decimal | None = None
    lifetime_budget: Decimal | None = None
    currency: str | None = None
    start_time: dt.datetime | None = None
    stop_time: dt.datetime | None = None
    special_ad_categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class DailyMetrics:
    """One campaign's figures for one day; ``raw`` keeps the platform's row as it came."""

    platform: str
    external_id: str
    date: dt.date
    impressions: int
    reach: int | None
    clicks: int
    spend: Decimal
    conversions: Decimal | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AdSetRecord:
    """One Meta ad set (a campaign's targeting and budget unit); budgets in currency units."""

    platform: str
    external_id: str
    campaign_external_id: str
    name: str
    status: str | None = None
    effective_status: str | None = None
    optimization_goal: str | None = None
    billing_event: str | None = None
    daily_budget: Decimal | None = None
    lifetime_budget: Decimal | None = None
    start_time: dt.datetime | None = None
    end_time: dt.datetime | None = None


class CampaignSource(Protocol):
    platform: str
    account_id: str

    def list_campaigns(self) -> list[CampaignRecord]:
        """Every campaign of the configured account."""
        ...

    def daily_metrics(self, external_id: str, since: dt.date, until: dt.date) -> list[DailyMetrics]:
        """One row per day in ``[since, until]`` (both inclusive) for the campaign ``external_id``."""
        ...

    def account_daily_metrics(self, since: dt.date, until: dt.date) -> list[DailyMetrics]:
        """Every campaign's rows for the days in ``[since, until]``, in as few calls as the platform allows."""
        ...


class AdSetSource(CampaignSource, Protocol):
    """A source whose campaigns are made of ad sets (Meta)."""

    def list_ad_sets(self) -> list[AdSetRecord]:
        """Every ad set of the configured account."""
        ...


class SourceUnavailable(DependencyUnavailable):
    """A campaign source cannot be used now; ``cause`` says why in one word (``token_missing``, ...)."""

    def __init__(self, cause: str, message: str, *, platform: str = "campaigns", retry_after_s: int = 60):
        super().__init__(platform, message, retry_after_s=retry_after_s)
        self.cause = cause
        self.platform = platform
        self.details = {"dependency": platform, "cause": cause}
