"""The answer of ``GET /metrics/dashboard`` (also the data of the ``dashboard:kpi-update`` event)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from warroom.campaigns.models import Money


class KpiWindow(BaseModel):
    """The last 24 hours, ``[from, to)`` in whole minutes."""

    model_config = ConfigDict(populate_by_name=True)

    from_: dt.datetime = Field(alias="from")
    to: dt.datetime


class TopValue(BaseModel):
    value: str
    mentions: int


class DashboardKpisOut(BaseModel):
    """The last 24 hours against the 24 before them."""

    window: KpiWindow
    mentions_24h: int
    mentions_previous_24h: int
    mentions_change_pct: float | None = Field(description="Empty when the previous 24 hours had no mentions.")
    avg_sentiment: float | None
    avg_sentiment_previous_24h: float | None
    sentiment_trend: float | None = Field(description="avg_sentiment minus avg_sentiment_previous_24h.")
    negative_share: float | None
    positive_share: float | None
    strongly_negative_24h: int
    reach_24h: int
    top_source: TopValue | None
    top_topic: TopValue | None
    active_crises: int = Field(description="Crises not yet resolved (acknowledged ones included).")
    campaign_spend_today: Money | None = Field(
        description="Ad spend recorded today (UTC), both platforms, as a decimal string; empty without campaign data."
    )
    campaign_spend_week: Money | None = Field(
        description="Ad spend from this week's Monday (UTC) to today, as a decimal string; empty without data."
    )
    computed_at: dt.datetime
