"""Paid-campaign sources: one :class:`CampaignSource` protocol (``base``), a mock and a live connector per platform.

Example
-------
>>> [source.platform for source in sources_for("meta", "MOCK")]
['meta']
>>> sources_for("google_ads", "LIVE")       # GoogleAdsSource from the configuration; raises when unconfigured

The data mode swaps the sources, never the pipeline: the sync, the store and the routes are the same for
both. Each live connector answers typed :class:`CampaignRecord` and :class:`DailyMetrics` values and raises
:class:`SourceUnavailable` naming the cause (``token_missing``, ``not_configured``, ``token_rejected``, ...).
"""

from __future__ import annotations

from typing import Literal

from warroom.campaigns.sources.base import (
    AdSetRecord,
    AdSetSource,
    CampaignRecord,
    CampaignSource,
    DailyMetrics,
    SourceUnavailable,
)

Platform = Literal["meta", "google_ads"]
PLATFORMS: tuple[Platform, ...] = ("meta", "google_ads")

__all__ = [
    "PLATFORMS",
    "AdSetRecord",
    "AdSetSource",
    "CampaignRecord",
    "CampaignSource",
    "DailyMetrics",
    "Platform",
    "SourceUnavailable",
    "sources_for",
]


def _secret(value: object) -> str | None:
    reveal = getattr(value, "get_secret_value", None)
    return reveal() if reveal is not None else None


def meta_sources() -> list[CampaignSource]:
    """One live Meta source per configured ad account (``WARROOM_META_AD_ACCOUNT_IDS``)."""
    from warroom.campaigns.settings import META_API_VERSION
    from warroom.campaigns.sources.meta import MetaSource
    from warroom.core.config import get_settings
    from warroom.core.settings import read_setting

    settings = get_settings()
    accounts = [a.strip().removeprefix("act_") for a in settings.meta_ad_account_ids.split(",") if a.strip()]
    if not all(a.isdigit() for a in accounts):
        raise SourceUnavailable(
            "not_configured", "WARROOM_META_AD_ACCOUNT_IDS holds an id that is not digits.", platform="meta"
        )
    if not accounts:
        raise SourceUnavailable("not_configured", "No Meta ad account is configured.", platform="meta")
    token = _secret(settings.meta_access_token)
    if not token:
        raise SourceUnavailable("token_missing", "META_ACCESS_TOKEN is not set.", platform="meta")
    version = read_setting(META_API_VERSION)
    return [
        MetaSource(
            account,
            token,
            api_version=version,
            base_url=settings.meta_base_url,
            app_secret=_secret(settings.meta_app_secret),
        )
        for account in accounts
    ]


def google_ads_sources() -> list[CampaignSource]:
    """The live Google Ads source of the configured customer."""
    from warroom.campaigns.settings import GOOGLE_ADS_API_VERSION
    from warroom.campaigns.sources.google_ads import GoogleAdsSource
    from warroom.core.config import get_settings
    from warroom.core.settings import read_setting

    settings = get_settings()
    if not settings.google_ads_customer_id or not settings.google_ads_client_id:
        raise SourceUnavailable(
            "not_configured", "The Google Ads customer id or OAuth client id is not set.", platform="google_ads"
        )
    if settings.google_ads_refresh_token is None or settings.google_ads_client_secret is None:
        raise SourceUnavailable(
            "token_missing", "GOOGLE_ADS_REFRESH_TOKEN or GOOGLE_ADS_CLIENT_SECRET is not set.", platform="google_ads"
        )
    return [
        GoogleAdsSource(
            customer_id=settings.google_ads_customer_id,
            client_id=settings.google_ads_client_id,
            client_secret=_secret(settings.google_ads_client_secret),
            refresh_token=_secret(settings.google_ads_refresh_token),
            developer_token=_secret(settings.google_ads_developer_token),
            login_customer_id=settings.google_ads_login_customer_id,
            api_version=read_setting(GOOGLE_ADS_API_VERSION),
            base_url=settings.google_ads_base_url,
            token_url=settings.google_ads_token_url,
        )
    ]


def sources_for(platform: Platform, mode: str) -> list[CampaignSource]:
    """The sources of ``platform`` the data mode selects (LIVE: from the configuration; MOCK: the generator)."""
    if mode == "LIVE":
        return meta_sources() if platform == "meta" else google_ads_sources()
    from warroom.campaigns.sources.mock import MockCampaignSource

    return [MockCampaignSource(platform)]
