"""Sync, then alert: the hand-off from the campaign syncs to the Alert Center.

Example
-------
>>> outcome = sync_campaigns()                       # both platforms, the data mode's sources
>>> [p.status for p in outcome.platforms]
['synced', 'failed']
>>> outcome.alerts["opened"]

Each platform syncs on its own: one that cannot be used (credentials missing or rejected, a quota, the vendor
down) is reported with its cause while the other keeps syncing, and what was stored stays readable. After the
syncs, cached campaign answers are invalidated and the campaign alerts are evaluated over the new figures
(:mod:`warroom.crisis.campaign_alerts`); a failing evaluation is logged and never fails the sync.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from warroom.audit import record_audit
from warroom.campaigns.models import PlatformSyncOutcome, SyncOut
from warroom.campaigns.queries import bump_data_version
from warroom.campaigns.sources import PLATFORMS, CampaignSource, Platform, SourceUnavailable, sources_for
from warroom.campaigns.sync import sync_source
from warroom.core import ratelimit
from warroom.core.data_mode import get_data_mode
from warroom.core.db import connection
from warroom.core.errors import TooManyRequests
from warroom.crisis.campaign_alerts import evaluate_campaign_alerts

logger = logging.getLogger(__name__)

# Manual syncs (POST .../sync) per platform and hour, whoever asks: each one spends the platform's API quota.
MANUAL_SYNCS_PER_HOUR = 12


def sync_platform(
    platform: Platform, *, sources: Sequence[CampaignSource] | None = None, now: dt.datetime | None = None
) -> PlatformSyncOutcome:
    """Sync every account of one platform; the outcome says which synced, which were skipped, and why not."""
    try:
        chosen = list(sources) if sources is not None else sources_for(platform, get_data_mode())
    except SourceUnavailable as error:
        return PlatformSyncOutcome(
            platform=platform, status="failed", accounts=[], cause=error.cause, message=error.message
        )
    accounts, failure = [], None
    for source in chosen:
        try:
            accounts.append(sync_source(source, now=now))
        except SourceUnavailable as error:
            failure = failure or error
            accounts.append({"account": source.account_id, "cause": error.cause, "message": error.message})
        finally:
            close = getattr(source, "close", None)
            if sources is None and close is not None:  # only the clients this call made
                close()
    if failure is not None:
        return PlatformSyncOutcome(
            platform=platform, status="failed", accounts=accounts, cause=failure.cause, message=failure.message
        )
    skipped = accounts and all("skipped" in a for a in accounts)
    return PlatformSyncOutcome(
        platform=platform,
        status="skipped" if skipped else "synced",
        accounts=accounts,
        cause=accounts[0]["skipped"] if skipped else None,
    )


def sync_campaigns(
    platforms: Sequence[Platform] = PLATFORMS,
    *,
    sources: dict[str, Sequence[CampaignSource]] | None = None,
    now: dt.datetime | None = None,
) -> SyncOut:
    """Sync the platforms (the data mode's sources unless given), then evaluate the campaign alerts."""
    outcomes = [sync_platform(p, sources=(sources or {}).get(p), now=now) for p in platforms]
    bump_data_version()
    alerts: dict = {}
    try:
        alerts = evaluate_campaign_alerts(now).as_dict()
    except Exception:  # logged; the next sync evaluates again
        logger.exception("campaign alert evaluation after the sync failed")
        alerts = {"error": "evaluation_failed"}
    return SyncOut(platforms=outcomes, alerts=alerts)


def manual_sync(platforms: Sequence[Platform], actor: dict, *, strict: bool = False) -> SyncOut:
    """A manager's ``POST .../sync``: limited per platform (429 with ``Retry-After``), audited, then synced.

    ``strict`` (one platform's own sync route): a platform that could not sync is a 503 naming the cause,
    rather than an outcome in a 200 (the unified route reports each platform and lets the other one sync).

    Without Redis the limit is not counted (fails open): a sync is idempotent and the connectors keep within
    the platforms' own limits, so the worst case is spent quota, never wrong figures.
    """
    for platform in platforms:
        state = ratelimit.hit("campaign_sync", platform, limit=MANUAL_SYNCS_PER_HOUR, window_s=3600)
        if state is not None and not state.allowed:
            raise TooManyRequests(
                f"{platform} was synced {MANUAL_SYNCS_PER_HOUR} times in the last hour; the schedule syncs it "
                "every 15 minutes.",
                retry_after_s=state.retry_after_s,
                details={"platform": platform},
            )
    outcome = sync_campaigns(platforms)
    with connection() as conn:
        summary = {p.platform: p.status for p in outcome.platforms}
        record_audit(conn, "campaigns.sync", "campaigns", None, {"platforms": summary}, actor)
    failed = next((p for p in outcome.platforms if p.status == "failed"), None)
    if strict and failed is not None:
        raise SourceUnavailable(
            failed.cause or "vendor_down", failed.message or "The sync failed.", platform=failed.platform
        )
    return outcome
