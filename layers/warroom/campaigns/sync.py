"""Campaign sync: one source (a platform's account) from its stored cursor into the campaign tables.

Example
-------
>>> outcome = sync_source(MockCampaignSource("meta"))
>>> outcome["days"]
{'inserted': 720, 'restated': 0, 'unchanged': 0, 'unknown_campaign': 0}
>>> outcome["window"]
{'since': '2026-10-03', 'until': '2026-12-01'}

What a sync reads: the campaigns (and Meta's ad sets), then every campaign's days from the cursor's last
synced day minus ``campaign_restatement_days`` (the platforms revise recent days) up to today (UTC; the
platforms answer nothing for days that have not started in the account's own time zone), or the last
``campaign_backfill_days`` on a first sync. The days are read in chunks; each chunk is stored and the
cursor moved past it in one transaction, so a sync that fails halfway (a throttle, a timeout, a crash)
resumes at the first day it did not store and loses none. Network calls never run inside a transaction.

A platform that says to stop -- Google's daily quota, or a Meta throttle longer than the connector waits --
pauses the source until the time it gave (``paused_until`` in the cursor): later syncs skip it without a
call and say so. Every outcome is recorded for ``/health`` (:mod:`warroom.core.source_status`), with the
vendor's version warning when it gave one.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from typing import Any

from warroom.campaigns.settings import read_campaign_settings
from warroom.campaigns.sources import CampaignSource, SourceUnavailable
from warroom.campaigns.store import DayCounts, campaign_ids, upsert_ad_sets, upsert_campaigns, upsert_days
from warroom.core.db import connection
from warroom.core.ingest_cursors import read_cursor, save_cursor
from warroom.core.source_status import record_source_status

logger = logging.getLogger(__name__)

# Days per read: Meta's asynchronous report runs take long ranges in one job; Google's searchStream answers a
# month of a few hundred campaigns in one stream.
CHUNK_DAYS = {"meta": 92, "google_ads": 31}
# Google's daily quota resets at midnight Pacific time.
_QUOTA_ZONE = zoneinfo.ZoneInfo("America/Los_Angeles")


def _pause_until(error: SourceUnavailable, now: dt.datetime) -> dt.datetime | None:
    if error.cause == "daily_quota_exhausted":
        local = now.astimezone(_QUOTA_ZONE)
        midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), tzinfo=_QUOTA_ZONE)
        return midnight.astimezone(dt.UTC)
    if error.cause == "throttled":
        return now + dt.timedelta(seconds=max(60, error.retry_after_s))
    return None


def _window(stored: dict[str, Any], today: dt.date, settings: dict[str, Any]) -> tuple[dt.date, dt.date, bool]:
    """``(since, until, resumed)``: where this sync reads, and whether it continues an interrupted one."""
    if "next" in stored:
        return dt.date.fromisoformat(stored["next"]), max(dt.date.fromisoformat(stored["until"]), today), True
    if "synced_through" in stored:
        last = dt.date.fromisoformat(stored["synced_through"])
        since = last - dt.timedelta(days=settings["campaign_restatement_days"])
        return min(since, today), today, False
    return today - dt.timedelta(days=settings["campaign_backfill_days"] - 1), today, False


def _chunks(since: dt.date, until: dt.date, days: int) -> list[tuple[dt.date, dt.date]]:
    spans = []
    start = since
    while start <= until:
        end = min(until, start + dt.timedelta(days=days - 1))
        spans.append((start, end))
        start = end + dt.timedelta(days=1)
    return spans


def sync_source(
    source: CampaignSource, *, now: dt.datetime | None = None, chunk_days: int | None = None
) -> dict[str, Any]:
    """Sync one source; answers what it did (campaigns, ad sets, day counts, window, chunks).

    Raises :class:`SourceUnavailable` when the platform cannot be used; the days stored before the failure
    stay, and the cursor points at the first day that was not.
    """
    platform, account = source.platform, source.account_id
    now = now or dt.datetime.now(dt.UTC)
    today = now.astimezone(dt.UTC).date()
    stored = read_cursor(platform, account) or {}
    outcome: dict[str, Any] = {"platform": platform, "account": account}
    paused = stored.get("paused_until")
    if paused and dt.datetime.fromisoformat(paused) > now:
        outcome.update(skipped=stored.get("paused_cause", "paused"), paused_until=paused)
        return outcome
    settings = read_campaign_settings()
    since, until, resumed = _window(stored, today, settings)
    span = chunk_days or CHUNK_DAYS.get(platform, 31)
    counts, done = DayCounts(), 0
    try:
        records = source.list_campaigns()
        list_ad_sets = getattr(source, "list_ad_sets", None)
        ad_sets = list_ad_sets() if list_ad_sets is not None else []
        with connection() as conn:
            upsert_campaigns(conn, records)
            ids = campaign_ids(conn, platform)
            outcome["ad_sets"] = upsert_ad_sets(conn, ids, ad_sets)
        for start, end in _chunks(since, until, span):
            days = source.account_daily_metrics(start, end)
            with connection() as conn:
                counts += upsert_days(conn, platform, ids, days)
                following = end + dt.timedelta(days=1)
                cursor = {"next": following.isoformat(), "until": until.isoformat()} if end < until else {}
                save_cursor(platform, account, cursor or {"synced_through": until.isoformat()}, conn)
            done += 1
    except SourceUnavailable as error:
        pause = _pause_until(error, now)
        if pause is not None:
            with connection() as conn:
                current = read_cursor(platform, account, conn) or {}
                paused_cursor = {**current, "paused_until": pause.isoformat(), "paused_cause": error.cause}
                save_cursor(platform, account, paused_cursor, conn)
        record_source_status(platform, cause=error.cause, message=error.message)
        logger.error(
            "campaign sync of %s %s failed (%s) after %d of its chunks: %s",
            platform,
            account,
            error.cause,
            done,
            error.message,
        )
        raise
    warning = getattr(source, "api_version_warning", None)
    record_source_status(platform, warning=warning)
    if warning:
        logger.warning("%s says of API version %s: %s", platform, getattr(source, "api_version", "?"), warning)
    outcome.update(
        campaigns=len(records),
        days=counts.as_dict(),
        window={"since": since.isoformat(), "until": until.isoformat()},
        chunks=done,
        resumed=resumed,
    )
    logger.info("campaign sync %s", outcome)
    return outcome
