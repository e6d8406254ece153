"""Campaign syncs through the live connectors against the local fakes, into real PostgreSQL.

What a paid-media team relies on: every day stored once and to the cent, re-syncs that change nothing, restated
days replaced, an interrupted sync that resumes where it stopped, a platform that stops for its quota while the
other keeps syncing, and unified totals that are exactly the sum of the platforms'.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest

from tests.fake_google_ads import FakeGoogleAds, metrics_row
from tests.fake_meta import FakeMeta
from warroom.campaigns.models import DateRangeQuery
from warroom.campaigns.queries import summary
from warroom.campaigns.sources.base import SourceUnavailable
from warroom.campaigns.sources.google_ads import GoogleAdsSource
from warroom.campaigns.sources.meta import MetaSource
from warroom.campaigns.sync import sync_source
from warroom.core.ingest_cursors import read_cursor
from warroom.pipelines.campaigns import sync_campaigns

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
BACKFILL = [TODAY - dt.timedelta(days=n) for n in range(59, -1, -1)]  # the default 60 days, oldest first


def meta_campaign(n: int) -> dict:
    return {
        "id": f"2385000000000{n:04d}",
        "name": f"Persuasion {n}",
        "status": "ACTIVE",
        "effective_status": "ACTIVE",
        "objective": "OUTCOME_AWARENESS",
        "daily_budget": "15000",
        "start_time": "2026-09-01T00:00:00+0000",
        "special_ad_categories": ["ISSUES_ELECTIONS_POLITICS"],
    }


def meta_row(day: dt.date, n: int, campaign: int) -> dict:
    # cents that do not add up in binary floating point (0.1 + 0.2 ...)
    return {
        "impressions": str(1000 + n),
        "reach": str(700 + n),
        "clicks": str(10 + n % 7),
        "spend": f"{100 + n}.{(n * 7 + campaign) % 100:02d}",
        "date_start": day.isoformat(),
        "date_stop": day.isoformat(),
    }


@pytest.fixture
def meta(services) -> Iterator[FakeMeta]:
    with FakeMeta() as fake:
        fake.currency = "USD"
        fake.campaigns = [meta_campaign(n) for n in range(3)]
        fake.insights = {
            c["id"]: [meta_row(day, i, n) for i, day in enumerate(BACKFILL)] for n, c in enumerate(fake.campaigns)
        }
        fake.report_statuses = ["Job Running", "Job Completed"]
        yield fake


@pytest.fixture
def google(services) -> Iterator[FakeGoogleAds]:
    with FakeGoogleAds() as fake:
        fake.rows = [
            metrics_row(
                cid,
                name,
                day.isoformat(),
                impressions=5000 + i,
                clicks=100 + i,
                conversions=float(i % 4),
                cost_micros=(50 + i) * 1_000_000 + 123_456,
            )
            for cid, name in (("111", "GOTV Search"), ("222", "Fundraising Search"))
            for i, day in enumerate(BACKFILL)
        ]
        fake.flights = {"111": ("2026-09-01 00:00:00", None), "222": ("2026-09-15 00:00:00", "2026-12-31 23:59:59")}
        yield fake


def meta_source(fake: FakeMeta) -> MetaSource:
    return MetaSource(fake.account_id, fake.token, base_url=fake.base_url, sleep=lambda s: None, max_attempts=2)


def google_source(fake: FakeGoogleAds) -> GoogleAdsSource:
    return GoogleAdsSource(
        customer_id=fake.customer_id,
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        refresh_token=fake.refresh_token,
        base_url=fake.base_url,
        token_url=fake.token_url,
        sleep=lambda s: None,
        max_attempts=2,
    )


def stored_days(db, platform: str) -> dict[tuple[str, dt.date], Decimal]:
    rows = db.execute(
        "SELECT c.external_id, d.day, d.spend FROM campaign_days d JOIN campaigns c ON c.id = d.campaign_id"
        " WHERE c.platform = %s",
        (platform,),
    ).fetchall()
    return {(r["external_id"], r["day"]): r["spend"] for r in rows}


def running_totals_wrong(db) -> int:
    """Days whose stored running totals are not the sums of the campaign's days through them."""
    return db.execute(
        "SELECT count(*) AS n FROM (SELECT cum_impressions, cum_clicks, cum_spend, cum_conversions,"
        " sum(impressions) OVER w AS i, sum(clicks) OVER w AS k, sum(spend) OVER w AS s,"
        " sum(coalesce(conversions, 0)) OVER w AS c FROM campaign_days"
        " WINDOW w AS (PARTITION BY campaign_id ORDER BY day)) AS t"
        " WHERE (cum_impressions, cum_clicks, cum_spend, cum_conversions) <> (i, k, s, c)"
    ).fetchone()["n"]


def test_a_first_sync_backfills_sixty_days_of_both_platforms_to_the_cent(meta, google, db):
    outcome = sync_campaigns(sources={"meta": [meta_source(meta)], "google_ads": [google_source(google)]}, now=NOW)

    assert [(p.platform, p.status) for p in outcome.platforms] == [("meta", "synced"), ("google_ads", "synced")]
    meta_days, google_days = stored_days(db, "meta"), stored_days(db, "google_ads")
    assert len(meta_days) == 3 * 60 and len(google_days) == 2 * 60
    # Meta's 60 days went through one asynchronous report run (longer than the connector's 31-day threshold)
    assert any(r["method"] == "POST" for r in meta.requests)
    first = meta.campaigns[1]["id"]
    assert meta_days[(first, BACKFILL[3])] == Decimal(meta_row(BACKFILL[3], 3, 1)["spend"])
    assert google_days[("222", BACKFILL[5])] == Decimal("55.123456")  # micros, exactly
    # the seed's campaign_data mirrors each day once, figures exact and the vendor's raw row kept
    mirror = db.execute(
        "SELECT metrics FROM campaign_data WHERE platform = 'google' AND campaign_id = '222' AND date_recorded = %s",
        (BACKFILL[5],),
    ).fetchall()
    assert len(mirror) == 1 and Decimal(str(mirror[0]["metrics"]["spend"])) == Decimal("55.123456")
    assert mirror[0]["metrics"]["raw"]["metrics"]["costMicros"] == "55123456"
    expected_meta = sum(Decimal(meta_row(day, i, n)["spend"]) for n in range(3) for i, day in enumerate(BACKFILL))
    expected_google = sum(Decimal(50 + i) + Decimal("0.123456") for _ in range(2) for i in range(60))
    totals = summary(DateRangeQuery(**{"from": BACKFILL[0].isoformat(), "to": TODAY.isoformat()}))
    by_platform = {p.platform: p.spend for p in totals.platforms}
    assert by_platform == {"meta": expected_meta, "google_ads": expected_google}
    assert totals.overall.spend == expected_meta + expected_google  # exactly: decimals, never floats
    assert totals.overall.clicks == sum(p.clicks for p in totals.platforms)


def test_a_second_sync_changes_nothing_and_a_restated_day_is_replaced(meta, google, db):
    sources = {"meta": [meta_source(meta)], "google_ads": [google_source(google)]}
    sync_campaigns(sources=sources, now=NOW)
    mirrored = db.execute("SELECT count(*) AS n FROM campaign_data").fetchone()["n"]

    again = sync_campaigns(sources=sources, now=NOW + dt.timedelta(minutes=15))
    meta_outcome = again.platforms[0].accounts[0]
    # the trailing 28 days (plus today) are read again, and none of them changed
    assert meta_outcome["window"] == {"since": (TODAY - dt.timedelta(days=28)).isoformat(), "until": TODAY.isoformat()}
    assert meta_outcome["days"] == {"inserted": 0, "restated": 0, "unchanged": 3 * 29, "unknown_campaign": 0}
    assert db.execute("SELECT count(*) AS n FROM campaign_data").fetchone()["n"] == mirrored

    # Meta revises a day ten days back (late conversions, invalid clicks refunded)
    campaign = meta.campaigns[0]["id"]
    restated_day = TODAY - dt.timedelta(days=10)
    row = next(r for r in meta.insights[campaign] if r["date_start"] == restated_day.isoformat())
    row["spend"] = "77.07"
    third = sync_campaigns(sources=sources, now=NOW + dt.timedelta(minutes=30))
    assert third.platforms[0].accounts[0]["days"]["restated"] == 1
    assert stored_days(db, "meta")[(campaign, restated_day)] == Decimal("77.07")
    assert db.execute("SELECT count(*) AS n FROM campaign_days").fetchone()["n"] == 5 * 60
    # the running totals every period answer is made of moved with it, on that day and every later one
    assert running_totals_wrong(db) == 0
    totals = summary(DateRangeQuery(**{"from": restated_day.isoformat(), "to": TODAY.isoformat()}))
    meta_spend = sum(v for (c, day), v in stored_days(db, "meta").items() if day >= restated_day)
    assert {p.platform: p.spend for p in totals.platforms}["meta"] == meta_spend


def test_an_interrupted_sync_resumes_at_the_first_day_it_did_not_store(meta, db):
    source = meta_source(meta)
    # the third 10-day chunk fails on every attempt (two 500s: the connector's two attempts)
    # currency, campaigns, ad sets and the first two chunks are answered; the third fails on both attempts
    meta.faults.extend(["ok"] * 5 + ["500", "500"])
    with pytest.raises(SourceUnavailable) as failed:
        sync_source(source, now=NOW, chunk_days=10)
    assert failed.value.cause == "vendor_down"
    cursor = read_cursor("meta", meta.account_id)
    assert cursor["next"] == BACKFILL[20].isoformat()
    assert len(stored_days(db, "meta")) == 3 * 20  # the two chunks before the failure are kept

    resumed = sync_source(source, now=NOW + dt.timedelta(minutes=15), chunk_days=10)
    assert resumed["resumed"] is True and resumed["window"]["since"] == BACKFILL[20].isoformat()
    days = stored_days(db, "meta")
    assert len(days) == 3 * 60 and {day for _, day in days} == set(BACKFILL)
    assert read_cursor("meta", meta.account_id) == {"synced_through": TODAY.isoformat()}
    assert running_totals_wrong(db) == 0  # the chunks were stored oldest first, each continuing the last


def test_googles_daily_quota_pauses_it_until_midnight_pacific_while_meta_keeps_syncing(meta, google, db):
    google.faults.append("daily_quota")
    sources = {"meta": [meta_source(meta)], "google_ads": [google_source(google)]}
    outcome = sync_campaigns(sources=sources, now=NOW)
    meta_outcome, google_outcome = outcome.platforms
    assert meta_outcome.status == "synced" and len(stored_days(db, "meta")) == 180
    assert (google_outcome.status, google_outcome.cause) == ("failed", "daily_quota_exhausted")
    # 12:00 UTC on 25 November is 04:00 in Los Angeles: the quota comes back at 08:00 UTC on the 26th
    assert read_cursor("google_ads", google.customer_id)["paused_until"] == "2026-11-26T08:00:00+00:00"

    calls = len(google.search_requests())
    later = sync_campaigns(sources=sources, now=NOW + dt.timedelta(hours=2))
    assert later.platforms[1].status == "skipped" and later.platforms[1].cause == "daily_quota_exhausted"
    assert len(google.search_requests()) == calls  # not one call while paused

    next_day = sync_campaigns(sources=sources, now=dt.datetime(2026, 11, 26, 8, 30, tzinfo=dt.UTC))
    # its first sync backfills the 60 days to the 26th (the fake has nothing yet for the 26th itself)
    assert next_day.platforms[1].status == "synced" and len(stored_days(db, "google_ads")) == 2 * 59


def test_a_rejected_token_fails_that_platform_only_and_keeps_what_was_stored(meta, google, db):
    sources = {"meta": [meta_source(meta)], "google_ads": [google_source(google)]}
    sync_campaigns(sources=sources, now=NOW)
    broken = MetaSource(meta.account_id, "EAAwrong", base_url=meta.base_url, sleep=lambda s: None)
    outcome = sync_campaigns(sources={"meta": [broken], "google_ads": [google_source(google)]}, now=NOW)
    assert (outcome.platforms[0].status, outcome.platforms[0].cause) == ("failed", "token_rejected")
    assert outcome.platforms[1].status == "synced"
    assert len(stored_days(db, "meta")) == 180  # still readable
    assert "EAAwrong" not in outcome.model_dump_json()


def test_metas_version_warning_reaches_health_through_the_sync_record(meta, services):
    from warroom.core.source_status import source_status

    meta.version_warning = "v27.0 will be deprecated on 2027-11-04; upgrade to v28.0."
    sync_source(meta_source(meta), now=NOW)
    status = source_status("meta")
    assert status["status"] == "up" and status["warning"] == meta.version_warning
