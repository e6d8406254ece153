"""The Meta Marketing API connector against a local fake Graph API over real HTTP (no real sleeping)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest

from tests.fake_meta import FakeMeta
from warroom.campaigns.sources.base import SourceUnavailable
from warroom.campaigns.sources.meta import MetaSource

DAY = dt.date(2026, 11, 1)


def campaign(n: int) -> dict:
    return {
        "id": f"12021{n:05d}",
        "name": f"Campaign {n}",
        "status": "ACTIVE",
        "effective_status": "ACTIVE",
        "objective": "OUTCOME_TRAFFIC",
        "daily_budget": "5000",
        "start_time": "2026-11-01T10:00:00+0000",
        "special_ad_categories": ["ISSUES_ELECTIONS_POLITICS"],
    }


def insight_row(day: dt.date, spend: str, actions: list[dict] | None = None) -> dict:
    row = {
        "impressions": "1000",
        "reach": "800",
        "clicks": "25",
        "spend": spend,
        "ctr": "2.5",
        "cpc": "4.938",
        "cpm": "123.45",
        "date_start": day.isoformat(),
        "date_stop": day.isoformat(),
    }
    if actions is not None:
        row["actions"] = actions
    return row


@pytest.fixture
def fake() -> Iterator[FakeMeta]:
    with FakeMeta() as server:
        yield server


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def source(fake: FakeMeta, sleeps: list[float]) -> Iterator[MetaSource]:
    with MetaSource(
        fake.account_id, fake.token, base_url=fake.base_url, page_size=2, sleep=sleeps.append, max_attempts=3
    ) as meta:
        yield meta


def test_campaigns_are_read_across_three_pages(fake, source):
    # GIVEN five campaigns, two a page
    fake.campaigns = [campaign(n) for n in range(5)]
    # WHEN they are listed
    campaigns = source.list_campaigns()
    # THEN all five arrive in order, typed, budgets in currency units
    assert [c.name for c in campaigns] == [f"Campaign {n}" for n in range(5)]
    assert len([r for r in fake.requests if r["path"].endswith("/campaigns")]) == 3
    first = campaigns[0]
    assert first.platform == "meta" and first.account_id == fake.account_id and first.currency == "EUR"
    assert first.daily_budget == Decimal("50.00") and first.lifetime_budget is None
    assert first.start_time == dt.datetime(2026, 11, 1, 10, tzinfo=dt.UTC) and first.stop_time is None
    assert first.special_ad_categories == ("ISSUES_ELECTIONS_POLITICS",)
    assert all(r["path"].startswith("/v27.0/") for r in fake.requests)


def test_budgets_follow_the_currency_decimals_when_told(fake):
    # GIVEN a yen account, told that yen has no minor units
    fake.currency = "JPY"
    fake.campaigns = [{**campaign(1), "daily_budget": "5000", "lifetime_budget": "120000"}]
    with MetaSource(fake.account_id, fake.token, base_url=fake.base_url, minor_unit_digits={"JPY": 0}) as meta:
        # WHEN the campaigns are listed
        (record,) = meta.list_campaigns()
    # THEN the budgets are whole yen
    assert record.daily_budget == Decimal("5000") and record.lifetime_budget == Decimal("120000")


def test_insights_are_exact_decimals_across_pages(fake, source):
    # GIVEN five days of spend whose float sum is not exact
    spends = ["123.45", "0.10", "0.20", "99.99", "0.01"]
    days = [DAY + dt.timedelta(days=i) for i in range(5)]
    fake.insights["1202100001"] = [
        insight_row(
            day, spend, [{"action_type": "purchase", "value": "2"}, {"action_type": "link_click", "value": "9"}]
        )
        for day, spend in zip(days, spends, strict=True)
    ]
    # WHEN the daily metrics are read
    rows = source.daily_metrics("1202100001", days[0], days[-1])
    # THEN every day arrives, spend exact, sums exact, the request as Graph wants it
    assert [r.date for r in rows] == days
    assert rows[0].spend == Decimal("123.45") and isinstance(rows[0].spend, Decimal)
    assert sum((r.spend for r in rows), Decimal(0)) == Decimal("223.75")
    assert rows[0].impressions == 1000 and rows[0].reach == 800 and rows[0].clicks == 25
    assert rows[0].conversions == Decimal("2") and rows[0].raw["cpm"] == "123.45"
    first = fake.insight_requests()[0]["query"]
    assert first["level"] == "campaign" and first["time_increment"] == "1"
    assert first["time_range"] == '{"since":"2026-11-01","until":"2026-11-05"}'
    assert first["fields"] == "impressions,reach,clicks,spend,ctr,cpc,cpm,actions"
    assert len(fake.insight_requests()) == 3


def test_throttling_is_retried_honouring_the_usage_header(fake, source, sleeps):
    # GIVEN one day of insights and two throttled answers, the first saying "2 minutes"
    fake.insights["1"] = [insight_row(DAY, "10.00")]
    fake.faults.extend(["throttle:80000:2", "throttle:17"])
    # WHEN the day is read
    rows = source.daily_metrics("1", DAY, DAY)
    # THEN it succeeds after waiting what Meta asked, then backing off
    assert [r.spend for r in rows] == [Decimal("10.00")]
    assert sleeps == [120.0, 2.0]
    assert len(fake.insight_requests()) == 3


def test_throttling_that_never_ends_says_throttled(fake, source, sleeps):
    # GIVEN Meta throttling every attempt
    fake.insights["1"] = [insight_row(DAY, "10.00")]
    fake.faults.extend(["throttle:613"] * 3)
    # WHEN / THEN the source gives up naming the cause
    with pytest.raises(SourceUnavailable) as raised:
        source.daily_metrics("1", DAY, DAY)
    assert raised.value.cause == "throttled"
    assert len(sleeps) == 2


def test_401_is_token_rejected(fake, source, sleeps):
    # GIVEN Meta answering 401
    fake.faults.append("401")
    # WHEN / THEN
    with pytest.raises(SourceUnavailable) as raised:
        source.list_campaigns()
    assert raised.value.cause == "token_rejected" and raised.value.details["cause"] == "token_rejected"
    assert sleeps == []


def test_a_wrong_token_is_token_rejected_and_never_shown(fake):
    # GIVEN a token Meta does not know
    wrong = "EAAWrongTokenThatMustNotLeak987654321"
    # WHEN / THEN code 190 is token_rejected and the token is in no message
    with MetaSource(fake.account_id, wrong, base_url=fake.base_url) as meta, pytest.raises(SourceUnavailable) as raised:
        meta.list_campaigns()
    assert raised.value.cause == "token_rejected"
    assert wrong not in str(raised.value) and wrong not in repr(raised.value.details)


def test_a_missing_token_is_token_missing(fake):
    with MetaSource(fake.account_id, None, base_url=fake.base_url) as meta, pytest.raises(SourceUnavailable) as raised:
        meta.list_campaigns()
    assert raised.value.cause == "token_missing"
    assert fake.requests == []


def test_5xx_is_retried_then_vendor_down(fake, source, sleeps):
    # GIVEN Meta failing every attempt
    fake.faults.extend(["500", "503", "500"])
    # WHEN / THEN
    with pytest.raises(SourceUnavailable) as raised:
        source.list_campaigns()
    assert raised.value.cause == "vendor_down"
    assert sleeps == [1.0, 2.0]


def test_5xx_then_success(fake, source, sleeps):
    fake.campaigns = [campaign(1)]
    fake.faults.append("503")
    assert [c.name for c in source.list_campaigns()] == ["Campaign 1"]
    assert sleeps == [1.0]


def test_malformed_json_is_malformed_answer(fake, source):
    fake.faults.append("malformed")
    with pytest.raises(SourceUnavailable) as raised:
        source.list_campaigns()
    assert raised.value.cause == "malformed_answer"


def test_too_much_data_halves_the_range(fake, source):
    # GIVEN eight days, and Meta refusing more than two at once
    days = [DAY + dt.timedelta(days=i) for i in range(8)]
    fake.insights["1"] = [insight_row(day, f"{i}.25") for i, day in enumerate(days)]
    fake.max_insight_days = 2
    # WHEN the eight days are read
    rows = source.daily_metrics("1", days[0], days[-1])
    # THEN they all arrive once, in order, after halving 8 -> 4 -> 2
    assert [r.date for r in rows] == days
    assert sum((r.spend for r in rows), Decimal(0)) == Decimal("30.00")
    assert rows[0].conversions is None
    ranges = [r["query"]["time_range"] for r in fake.insight_requests()]
    assert ranges[0] == '{"since":"2026-11-01","until":"2026-11-08"}'
    assert ranges[1] == '{"since":"2026-11-01","until":"2026-11-04"}'
    assert ranges[2] == '{"since":"2026-11-01","until":"2026-11-02"}'


def test_the_token_never_appears_in_an_exception_or_log(fake, source, caplog, sleeps):
    # GIVEN campaigns over two pages (the next URL carries the token), then Meta failing on the second page
    fake.campaigns = [campaign(n) for n in range(3)]
    source.list_campaigns()
    next_urls = [r for r in fake.requests if "after" in r["query"]]
    assert next_urls, "the second page was asked for"
    fake.faults.extend(["500", "500", "500"])
    # WHEN it fails
    with caplog.at_level("DEBUG"), pytest.raises(SourceUnavailable) as raised:
        source.list_campaigns()
    # THEN neither the message, the details, nor any log line holds the token
    assert fake.token not in str(raised.value)
    assert fake.token not in repr(raised.value.details)
    assert all(fake.token not in record.getMessage() for record in caplog.records)
    assert source._redact(f"https://graph.facebook.com/x?access_token={fake.token}&a=1") == (
        "https://graph.facebook.com/x?access_token=[redacted]&a=1"
    )


def test_version_warning_and_deprecation_are_kept_on_the_source(fake, source):
    # GIVEN Meta warning about the version, then refusing it as deprecated
    fake.campaigns = [campaign(1)]
    fake.version_warning = "v27.0 will be deprecated on 2027-09-01"
    source.list_campaigns()
    assert source.api_version_warning == "v27.0 will be deprecated on 2027-09-01"
    assert source.api_version_deprecated is False
    fake.faults.append("deprecated")
    # WHEN / THEN
    with pytest.raises(SourceUnavailable) as raised:
        source.daily_metrics("1202100001", DAY, DAY)
    assert raised.value.cause == "version_deprecated"
    assert source.api_version_deprecated is True


def test_the_api_version_is_a_parameter(fake):
    fake.campaigns = [campaign(1)]
    with MetaSource(fake.account_id, fake.token, base_url=fake.base_url, api_version="v28.0") as meta:
        meta.list_campaigns()
    assert {r["path"].split("/")[1] for r in fake.requests} == {"v28.0"}


# ---------------------------------------------------------------------------- account-level insights


def account_rows(fake: FakeMeta, spends: dict[str, list[str]], first: dt.date = DAY) -> None:
    """Each campaign's spend, one a day from ``first``."""
    for campaign_id, by_day in spends.items():
        fake.insights[campaign_id] = [
            insight_row(first + dt.timedelta(days=i), spend, [{"action_type": "lead", "value": "1.5"}])
            for i, spend in enumerate(by_day)
        ]


def test_account_insights_are_every_campaign_across_pages(fake, source):
    # GIVEN three campaigns with three days each (nine rows, two a page)
    account_rows(
        fake,
        {
            "1202100001": ["0.10", "0.20", "0.30"],
            "1202100002": ["123.45", "0.01", "99.99"],
            "1202100003": ["1", "2", "3"],
        },
    )
    # WHEN the account's days are read
    rows = source.account_daily_metrics(DAY, DAY + dt.timedelta(days=2))
    # THEN every campaign's every day arrives, named by the row's campaign_id, money exact
    assert [(r.external_id, r.date.day) for r in rows] == [
        (campaign_id, day) for campaign_id in ("1202100001", "1202100002", "1202100003") for day in (1, 2, 3)
    ]
    assert sum((r.spend for r in rows), Decimal(0)) == Decimal("230.05")
    assert rows[3].spend == Decimal("123.45") and rows[3].conversions == Decimal("1.5")
    assert rows[0].raw["campaign_id"] == "1202100001"
    # AND in one synchronous paged call of the account's insights edge (five pages), as Graph wants it
    requests = fake.insight_requests()
    assert len(requests) == 5 and {r["method"] for r in requests} == {"GET"}
    assert {r["path"] for r in requests} == {f"/v27.0/act_{fake.account_id}/insights"}
    query = requests[0]["query"]
    assert query["level"] == "campaign" and query["time_increment"] == "1"
    assert query["time_range"] == '{"since":"2026-11-01","until":"2026-11-03"}'
    assert query["fields"] == "campaign_id,impressions,reach,clicks,spend,ctr,cpc,cpm,actions"
    assert fake.report_runs == {}


def test_too_much_data_halves_the_account_range(fake, source):
    # GIVEN two campaigns over eight days, and Meta refusing more than two days at once
    account_rows(fake, {"1": [f"{i}.25" for i in range(8)], "2": [f"0.0{i}" for i in range(8)]})
    fake.max_insight_days = 2
    # WHEN the eight days are read
    rows = source.account_daily_metrics(DAY, DAY + dt.timedelta(days=7))
    # THEN every campaign-day arrives once, after halving 8 -> 4 -> 2
    assert sorted((r.external_id, r.date.day) for r in rows) == [(c, d) for c in ("1", "2") for d in range(1, 9)]
    assert sum((r.spend for r in rows), Decimal(0)) == Decimal("30.28")
    ranges = [r["query"]["time_range"] for r in fake.insight_requests()]
    assert ranges[:3] == [
        '{"since":"2026-11-01","until":"2026-11-08"}',
        '{"since":"2026-11-01","until":"2026-11-04"}',
        '{"since":"2026-11-01","until":"2026-11-02"}',
    ]


def test_one_day_still_too_much_is_too_much_data(fake, source):
    account_rows(fake, {"1": ["1.00", "2.00"]})
    fake.max_insight_days = 0
    with pytest.raises(SourceUnavailable) as raised:
        source.account_daily_metrics(DAY, DAY + dt.timedelta(days=1))
    assert raised.value.cause == "too_much_data" and "the ad account" in raised.value.message


# ---------------------------------------------------------------------------- asynchronous report runs

LONG_SINCE, LONG_UNTIL = dt.date(2026, 10, 1), dt.date(2026, 11, 9)  # 40 days: past the 31-day threshold


def test_a_long_range_runs_a_report_polled_to_completion_and_paged(fake, sleeps):
    # GIVEN two campaigns with days in a 40-day range, and an app secret (its proof goes in the POST form)
    account_rows(fake, {"11": ["0.10", "0.20", "0.30"], "22": ["10.00", "0.05"]}, first=dt.date(2026, 10, 30))
    with MetaSource(
        fake.account_id, fake.token, base_url=fake.base_url, page_size=2, sleep=sleeps.append, app_secret="s3cr3t"
    ) as meta:
        # WHEN the 40 days are read
        rows = meta.account_daily_metrics(LONG_SINCE, LONG_UNTIL)
    # THEN all five rows arrive, exact
    assert [(r.external_id, r.date) for r in rows] == [
        ("11", dt.date(2026, 10, 30)),
        ("11", dt.date(2026, 10, 31)),
        ("11", dt.date(2026, 11, 1)),
        ("22", dt.date(2026, 10, 30)),
        ("22", dt.date(2026, 10, 31)),
    ]
    assert sum((r.spend for r in rows), Decimal(0)) == Decimal("10.65")
    # AND a report run was started by a POST with the parameters as a form, the token only in the header
    (run_id,) = fake.report_runs
    (post,) = [r for r in fake.requests if r["method"] == "POST"]
    assert post["path"] == f"/v27.0/act_{fake.account_id}/insights" and post["query"] == {}
    assert post["form"]["level"] == "campaign" and post["form"]["time_increment"] == "1"
    assert post["form"]["time_range"] == '{"since":"2026-10-01","until":"2026-11-09"}'
    assert post["form"]["fields"] == "campaign_id,impressions,reach,clicks,spend,ctr,cpc,cpm,actions"
    assert "appsecret_proof" in post["form"] and "access_token" not in post["form"]
    assert post["token"] == fake.token
    # AND it was polled Not Started -> Running -> Completed, waiting the poll interval between polls
    polls = fake.report_polls()
    assert [p["path"] for p in polls] == [f"/v27.0/{run_id}"] * 3
    assert polls[0]["query"]["fields"] == "async_status,async_percent_completion"
    assert sleeps == [5.0, 5.0]
    # AND its rows were read in three pages from the run's insights edge, none from the account's
    results = fake.insight_requests()
    assert [r["path"] for r in results] == [f"/v27.0/act_{fake.account_id}/insights"] + [
        f"/v27.0/{run_id}/insights"
    ] * 3
    assert results[0]["method"] == "POST"


def test_the_threshold_and_polling_are_parameters(fake, sleeps):
    account_rows(fake, {"11": ["1.11", "2.22", "3.33"]})
    with MetaSource(
        fake.account_id,
        fake.token,
        base_url=fake.base_url,
        sleep=sleeps.append,
        async_threshold_days=2,
        report_poll_interval_s=0.5,
    ) as meta:
        # WHEN three days are read with a two-day threshold
        rows = meta.account_daily_metrics(DAY, DAY + dt.timedelta(days=2))
        # AND two days with it
        short = meta.account_daily_metrics(DAY, DAY + dt.timedelta(days=1))
    # THEN three days went through a report run, two did not
    assert [r.spend for r in rows] == [Decimal("1.11"), Decimal("2.22"), Decimal("3.33")]
    assert [r.spend for r in short] == [Decimal("1.11"), Decimal("2.22")]
    assert len(fake.report_runs) == 1 and sleeps == [0.5, 0.5]


@pytest.mark.parametrize("ending", ["Job Failed", "Job Skipped"])
def test_a_failed_report_run_is_report_failed(fake, source, sleeps, ending):
    # GIVEN a report run that runs, then fails
    account_rows(fake, {"11": ["1.00"]})
    fake.report_statuses = ["Job Running", ending]
    # WHEN / THEN the source says so, having never asked for the run's rows
    with pytest.raises(SourceUnavailable) as raised:
        source.account_daily_metrics(LONG_SINCE, LONG_UNTIL)
    assert raised.value.cause == "report_failed" and ending in raised.value.message
    assert len(fake.report_polls()) == 2 and sleeps == [5.0]
    assert [r["method"] for r in fake.insight_requests()] == ["POST"]


def test_a_report_run_that_never_completes_is_report_timeout(fake, sleeps):
    # GIVEN a report run that stays running
    account_rows(fake, {"11": ["1.00"]})
    fake.report_statuses = ["Job Running"]
    with (
        MetaSource(
            fake.account_id, fake.token, base_url=fake.base_url, sleep=sleeps.append, report_max_polls=4
        ) as meta,
        pytest.raises(SourceUnavailable) as raised,
    ):
        # WHEN it is waited for
        meta.account_daily_metrics(LONG_SINCE, LONG_UNTIL)
    # THEN after four polls (three waits between them) the source gives up
    assert raised.value.cause == "report_timeout"
    assert len(fake.report_polls()) == 4 and sleeps == [5.0, 5.0, 5.0]


def test_throttling_while_starting_and_polling_a_report_is_honoured(fake, source, sleeps):
    # GIVEN the POST throttled once (no usage header), then, after it succeeds, the first poll throttled "2 minutes"
    account_rows(fake, {"11": ["7.77"]}, first=dt.date(2026, 10, 15))
    fake.faults.extend(["throttle:17", "ok", "throttle:80000:2"])
    # WHEN the long range is read
    rows = source.account_daily_metrics(LONG_SINCE, LONG_UNTIL)
    # THEN the POST was retried after the backoff, the poll after what Meta asked, then polling went on
    assert [r.spend for r in rows] == [Decimal("7.77")]
    assert sleeps == [1.0, 120.0, 5.0, 5.0]
    assert len([r for r in fake.requests if r["method"] == "POST"]) == 2
    assert len(fake.report_runs) == 1 and len(fake.report_polls()) == 4


def test_throttling_that_never_ends_while_polling_says_throttled(fake, source, sleeps):
    account_rows(fake, {"11": ["1.00"]})
    fake.faults.extend(["ok", "throttle:613", "throttle:613", "throttle:613"])
    with pytest.raises(SourceUnavailable) as raised:
        source.account_daily_metrics(LONG_SINCE, LONG_UNTIL)
    assert raised.value.cause == "throttled" and sleeps == [1.0, 2.0]


def test_too_much_data_for_a_report_run_halves_it(fake, sleeps):
    # GIVEN eight days over a three-day threshold, and Meta refusing a run of more than four days
    account_rows(fake, {"11": [f"{i}.10" for i in range(8)]})
    fake.max_insight_days = 4
    with MetaSource(
        fake.account_id, fake.token, base_url=fake.base_url, sleep=sleeps.append, async_threshold_days=3
    ) as meta:
        rows = meta.account_daily_metrics(DAY, DAY + dt.timedelta(days=7))
    # THEN the eight-day run was refused and two four-day runs served every day once
    assert [r.date.day for r in rows] == list(range(1, 9))
    assert sum((r.spend for r in rows), Decimal(0)) == Decimal("28.80")
    posts = [r["form"]["time_range"] for r in fake.requests if r["method"] == "POST"]
    assert posts == [
        '{"since":"2026-11-01","until":"2026-11-08"}',
        '{"since":"2026-11-01","until":"2026-11-04"}',
        '{"since":"2026-11-05","until":"2026-11-08"}',
    ]
    assert len(fake.report_runs) == 2


# ---------------------------------------------------------------------------- ad sets


def ad_set(n: int, **fields: str) -> dict:
    return {
        "id": f"23851{n:05d}",
        "name": f"Ad set {n}",
        "campaign_id": f"12021{n % 2:05d}",
        "status": "ACTIVE",
        "effective_status": "CAMPAIGN_PAUSED" if n % 2 else "ACTIVE",
        "optimization_goal": "REACH",
        "billing_event": "IMPRESSIONS",
        "start_time": "2026-10-01T00:00:00-0400",
        **fields,
    }


def test_ad_sets_are_read_across_pages_with_budgets_in_units(fake, source):
    # GIVEN three ad sets (two a page), daily and lifetime budgets in cents
    fake.ad_sets = [
        ad_set(0, daily_budget="2550"),
        ad_set(1, lifetime_budget="1000001", end_time="2026-11-03T23:59:59-0500"),
        ad_set(2, daily_budget="1"),
    ]
    # WHEN they are listed
    ad_sets = source.list_ad_sets()
    # THEN all three arrive in order, budgets exact in euros, times aware
    assert [a.external_id for a in ad_sets] == ["2385100000", "2385100001", "2385100002"]
    first, second, third = ad_sets
    assert (first.platform, first.campaign_external_id, first.name) == ("meta", "1202100000", "Ad set 0")
    assert first.daily_budget == Decimal("25.50") and first.lifetime_budget is None
    assert second.lifetime_budget == Decimal("10000.01") and second.daily_budget is None
    assert third.daily_budget == Decimal("0.01")
    assert (second.effective_status, second.optimization_goal, second.billing_event) == (
        "CAMPAIGN_PAUSED",
        "REACH",
        "IMPRESSIONS",
    )
    assert first.start_time == dt.datetime(2026, 10, 1, 4, tzinfo=dt.UTC) and first.end_time is None
    assert second.end_time == dt.datetime(2026, 11, 4, 4, 59, 59, tzinfo=dt.UTC)
    # AND the request asked for the ad set fields, paged in two, after the currency once
    requests = [r for r in fake.requests if r["path"].endswith("/adsets")]
    assert len(requests) == 2 and requests[1]["query"]["after"]
    assert requests[0]["query"]["fields"] == (
        "id,name,campaign_id,status,effective_status,optimization_goal,billing_event,daily_budget,lifetime_budget,"
        "start_time,end_time"
    )
    assert [r["path"] for r in fake.requests].count(f"/v27.0/act_{fake.account_id}") == 1


def test_an_ad_set_without_its_campaign_is_malformed(fake, source):
    broken = ad_set(1)
    del broken["campaign_id"]
    fake.ad_sets = [broken]
    with pytest.raises(SourceUnavailable) as raised:
        source.list_ad_sets()
    assert raised.value.cause == "malformed_answer"
