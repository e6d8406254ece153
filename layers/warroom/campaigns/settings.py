"""The campaign domain's global settings (composed into the settings routes by :mod:`warroom.system.settings`)."""

from __future__ import annotations

from typing import Annotated, Any

import psycopg
from pydantic import Field

from warroom.core.settings import define_setting, read_settings

META_API_VERSION = define_setting(
    "meta_api_version",
    Annotated[str, Field(pattern=r"^v\d{2}\.\d$")],
    "v27.0",
    "Graph API version the Meta connector speaks (versions expire about a year after release; /health warns).",
)
GOOGLE_ADS_API_VERSION = define_setting(
    "google_ads_api_version",
    Annotated[str, Field(pattern=r"^v\d{2}$")],
    "v26",
    "Google Ads API version the connector speaks (a major version lives about a year).",
)
CAMPAIGN_BACKFILL_DAYS = define_setting(
    "campaign_backfill_days",
    Annotated[int, Field(ge=1, le=730)],
    60,
    "How many days of campaign history the first sync of a platform reads.",
)
CAMPAIGN_RESTATEMENT_DAYS = define_setting(
    "campaign_restatement_days",
    Annotated[int, Field(ge=0, le=90)],
    28,
    "Every sync reads these trailing days again: the platforms restate recent days (conversions, invalid clicks).",
)
CAMPAIGN_MAX_RANGE_DAYS = define_setting(
    "campaign_max_range_days",
    Annotated[int, Field(ge=1, le=1096)],
    366,
    "The longest from/to span a campaign route accepts.",
)
PACING_OVER_PCT = define_setting(
    "pacing_over_threshold_pct",
    Annotated[int, Field(ge=100, le=1000)],
    120,
    "A campaign pacing at or above this percentage is overspending (flagged and alerted).",
)
PACING_UNDER_PCT = define_setting(
    "pacing_under_threshold_pct",
    Annotated[int, Field(ge=0, le=100)],
    80,
    "A campaign pacing at or below this percentage is underspending (flagged and alerted).",
)
COST_SPIKE_FACTOR = define_setting(
    "campaign_cost_spike_factor",
    Annotated[float, Field(ge=1.1, le=20)],
    2.0,
    "A day's CPC or CPA this many times the campaign's median of its previous 14 days is a cost spike.",
)
CAMPAIGN_ALERT_COOLDOWN_HOURS = define_setting(
    "campaign_alert_cooldown_hours",
    Annotated[int, Field(ge=0, le=7 * 24)],
    24,
    "After a campaign alert is resolved, the same campaign and reason stay quiet for this many hours.",
)
SETTINGS = (
    META_API_VERSION,
    GOOGLE_ADS_API_VERSION,
    CAMPAIGN_BACKFILL_DAYS,
    CAMPAIGN_RESTATEMENT_DAYS,
    CAMPAIGN_MAX_RANGE_DAYS,
    PACING_OVER_PCT,
    PACING_UNDER_PCT,
    COST_SPIKE_FACTOR,
    CAMPAIGN_ALERT_COOLDOWN_HOURS,
)


def read_campaign_settings(conn: psycopg.Connection | None = None) -> dict[str, Any]:
    """The campaign settings by key, in one query (in ``conn`` when given)."""
    return read_settings(SETTINGS, conn)
