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
