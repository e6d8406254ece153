"""The live Google Ads connector over real HTTP against a local fake answering in Google's REST shapes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest

from tests.fake_google_ads import FakeGoogleAds
from warroom.campaigns.sources.base import SourceUnavailable
from warroom.campaigns.sources.google_ads import GoogleAdsSource, micros_to_decimal

SINCE, UNTIL = dt.date(2026, 11, 23), dt.date(2026, 11, 24)


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake() -> Iterator[FakeGoogleAds]:
    with FakeGoogleAds() as server:
        yield server


@pytest.fixture
def slept() -> list[float]:
    return []


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _source(fake: FakeGoogleAds, slept: list[float], clock: Clock, **options) -> GoogleAdsSource:
    settings = {
        "customer_id": "123-456-7890",
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "refresh_token": fake.refresh_token,
        "developer_token": fake.developer_token,
        "base_url": fake.base_url,
        "token_url": fake.token_url,
        "sleep": slept.append,
        "clock": clock,
    }
    return GoogleAdsSource(**{**settings, **options})


def _secrets(fake: FakeGoogleAds) -> list[str]:
    return [fake.client_secret, fake.refresh_token, fake.developer_token, *fake.access_tokens, "SECRET"]


def test_search_stream_batches_are_parsed_with_money_exact_to_the_micro(fake, slept, clock):
    # GIVEN four campaign-days answered in two batches (three results per batch)
    source = _source(fake, slept, clock)

    # WHEN the account's days are read
    days = source.account_daily_metrics(SINCE, UNTIL)

    # THEN every row of every batch is a typed DailyMetrics, money converted from micros as Decimal
    assert [(d.external_id, d.date) for d in days] == [
        ("111", SINCE),
        ("111", UNTIL),
        ("222", SINCE),
        ("222", UNTIL),
    ]
    first = days[0]
    assert (first.platform, first.impressions, first.clicks, first.reach) == ("google_ads", 10500, 312, None)
    assert first.spend == Decimal("1234.56") and isinstance(first.spend, Decimal)
    assert str(first.spend) == "1234.56"
    assert first.conversions == Decimal("12.5") and isinstance(first.conversions, Decimal)
    assert days[2].spend == Decimal("0.01") and days[3].spend == Decimal("333.333333")
    assert first.raw["campaign"]["name"] == "Get out the vote"
    # AND the request was a REST searchStream of the configured version, with BETWEEN dates and the headers
    (request,) = fake.search_requests()
    assert request["path"] == "/v26/customers/1234567890/googleAds:searchStream"
    assert "segments.date BETWEEN '2026-11-23' AND '2026-11-24'" in request["body"]["query"]
    assert request["body"]["query"].startswith("SELECT campaign.id, campaign.name, campaign.status")
    assert request["headers"]["developer-token"] == fake.developer_token
    assert request["headers"]["authorization"].startswith("Bearer ya29.")
    assert "login-customer-id" not in request["headers"]


def test_micros_convert_exactly_and_refuse_floats():
    assert micros_to_decimal("1234560000") == Decimal("1234.56")
    assert micros_to_decimal("1") == Decimal("0.000001")
    assert micros_to_decimal(0) == Decimal("0")
    with pytest.raises(ValueError):
        micros_to_decimal(1.5)


def test_one_campaign_days_and_the_campaign_list(fake, slept, clock):
    source = _source(fake, slept, clock, api_version="v25", login_customer_id="999-000-1111", developer_token=None)

    # WHEN one campaign's days, then the campaign list, are read through a manager account
    days = source.daily_metrics("222", SINCE, UNTIL)
    campaigns = source.list_campaigns()

    # THEN only that campaign's days come back, and each campaign once with its daily budget in units
    assert {d.external_id for d in days} == {"222"} and len(days) == 2
    by_id = {c.external_id: c for c in campaigns}
    assert set(by_id) == {"111", "222"}
    assert by_id["222"].daily_budget == Decimal("20.00") and by_id["222"].status == "PAUSED"
    assert (by_id["111"].currency, by_id["111"].account_id, by_id["111"].objective) == ("USD", "1234567890", "SEARCH")
    # AND the manager header was sent, the developer token was not (none configured), the version is the parameter
    for request in fake.search_requests():
        assert request["path"].startswith("/v25/customers/1234567890/")
        assert request["headers"]["login-customer-id"] == "9990001111"
        assert "developer-token" not in request["headers"]


def test_the_access_token_is_exchanged_once_and_reused(fake, slept, clock):
    source = _source(fake, slept, clock)

    # WHEN three calls are made within the token's lifetime
    for _ in range(3):
        source.account_daily_metrics(SINCE, UNTIL)

    # THEN one refresh-token exchange served them all, sent as Google's form
    (exchange,) = fake.token_requests()
    assert exchange["body"] == {
        "grant_type": "refresh_token",
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "refresh_token": fake.refresh_token,
    }
    assert len({r["headers"]["authorization"] for r in fake.search_requests()}) == 1


def test_an_expiring_token_is_exchanged_again_just_before_expires_in(fake, slept, clock):
    source = _source(fake, slept, clock)
    source.account_daily_metrics(SINCE, UNTIL)

    # WHEN time moves to within the margin (60 s) of expires_in (3599 s)
    clock.now += 3599 - 59
    source.account_daily_metrics(SINCE, UNTIL)

    # THEN a second exchange happened and the new token was used
    assert len(fake.token_requests()) == 2
    first, second = fake.search_requests()
    assert first["headers"]["authorization"] != second["headers"]["authorization"]


def test_a_401_refreshes_the_token_once_then_succeeds(fake, slept, clock):
    source = _source(fake, slept, clock)
    source.account_daily_metrics(SINCE, UNTIL)

    # GIVEN Google no longer accepts the cached access token
    fake.expire_access_tokens()

    # WHEN the next call is made
    days = source.account_daily_metrics(SINCE, UNTIL)

    # THEN it was refused once, a fresh token was exchanged, and the retry succeeded
    assert len(days) == 4
    assert len(fake.token_requests()) == 2 and len(fake.search_requests()) == 3
    assert slept == []


def test_a_401_after_a_fresh_token_is_token_rejected(fake, slept, clock):
    source = _source(fake, slept, clock)
    fake.faults.extend(["auth_error", "auth_error"])

    with pytest.raises(SourceUnavailable) as raised:
        source.account_daily_metrics(SINCE, UNTIL)

    assert raised.value.cause == "token_rejected"
    assert len(fake.token_requests()) == 2 and len(fake.search_requests()) == 2


def test_temporary_quota_is_retried_after_its_retry_delay_with_backoff(fake, slept, clock):
    source = _source(fake, slept, clock)
    fake.faults.extend(["quota_temporary:30s", "quota_temporary:30s"])

    # WHEN the quota is temporarily exhausted twice
    days = source.account_daily_metrics(SINCE, UNTIL)

    # THEN the call waited the retryDelay, then longer, and succeeded on the third attempt
    assert len(days) == 4
    assert slept == [30.0, 60.0]
    assert len(fake.search_requests()) == 3


def test_an_error_wrapped_in_the_stream_array_is_understood(fake, slept, clock):
    source = _source(fake, slept, clock)
    fake.faults.append("quota_temporary_in_array:2.5s")

    days = source.account_daily_metrics(SINCE, UNTIL)

    assert len(days) == 4 and slept == [2.5]


def test_temporary_quota_that_never_clears_gives_up(fake, slept, clock):
    source = _source(fake, slept, clock, max_attempts=3)
    fake.faults.extend(["quota_temporary:1s"] * 3)

    with pytest.raises(SourceUnavailable) as raised:
        source.account_daily_metrics(SINCE, UNTIL)

    assert raised.value.cause == "rate_limited" and slept == [1.0, 2.0]


def test_the_daily_quota_stops_at_once_and_is_recorded(fake, slept, clock):
    source = _source(fake, slept, clock)
    fake.faults.append("daily_quota")

    with pytest.raises(SourceUnavailable) as raised:
        source.account_daily_metrics(SINCE, UNTIL)

    # THEN no retry, no wait, and the failure is kept for the health record
    assert raised.value.cause == "daily_quota_exhausted"
    assert raised.value.details == {"dependency": "google_ads", "cause": "daily_quota_exhausted"}
    assert slept == [] and len(fake.search_requests()) == 1
    assert source.last_failure is raised.value


def test_5xx_is_retried_then_succeeds_or_is_vendor_down(fake, slept, clock):
    source = _source(fake, slept, clock, max_attempts=3, backoff_base_s=0.5)
    fake.faults.extend(["500", "503"])
    assert len(source.account_daily_metrics(SINCE, UNTIL)) == 4
    assert slept == [0.5, 1.0]

    fake.faults.extend(["503"] * 3)
    with pytest.raises(SourceUnavailable) as raised:
        source.account_daily_metrics(SINCE, UNTIL)
    assert raised.value.cause == "vendor_down"


def test_an_unreachable_google_is_vendor_down(fake, slept, clock):
    source = _source(fake, slept, clock, max_attempts=2, token_url="http://127.0.0.1:9/token")

    with pytest.raises(SourceUnavailable) as raised:
        source.account_daily_metrics(SINCE, UNTIL)

    assert raised.value.cause == "vendor_down" and slept == [1.0]


def test_a_malformed_answer_is_malformed_answer(fake, slept, clock):
    source = _source(fake, slept, clock)
    fake.faults.append("malformed")

    with pytest.raises(SourceUnavailable) as raised:
        source.account_daily_metrics(SINCE, UNTIL)
    assert raised.value.cause == "malformed_answer"

    # AND a row without its date is malformed too
    del fake.rows[0]["segments"]
    with pytest.raises(SourceUnavailable) as raised:
        source.account_daily_metrics(dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert raised.value.cause == "malformed_answer"


def test_invalid_grant_is_token_rejected_and_no_secret_leaks(fake, slept, clock):
    source = _source(fake, slept, clock, refresh_token="1//revoked-refresh-token-SECRET")

    with pytest.raises(SourceUnavailable) as raised:
        source.account_daily_metrics(SINCE, UNTIL)

    assert raised.value.cause == "token_rejected"
    assert "invalid_grant" in raised.value.message
    assert fake.search_requests() == [] and slept == []
    for secret in [*_secrets(fake), "revoked-refresh-token"]:
        assert secret not in raised.value.message
        assert secret not in str(raised.value)


def test_a_wrong_client_secret_is_token_rejected(fake, slept, clock):
    source = _source(fake, slept, clock, client_secret="GOCSPX-wrong")

    with pytest.raises(SourceUnavailable) as raised:
        source.list_campaigns()

    assert raised.value.cause == "token_rejected" and "GOCSPX-wrong" not in raised.value.message


@pytest.mark.parametrize("missing", ["customer_id", "client_id", "client_secret", "refresh_token"])
def test_missing_credentials_are_token_missing_without_a_request(fake, slept, clock, missing):
    source = _source(fake, slept, clock, **{missing: None})

    with pytest.raises(SourceUnavailable) as raised:
        source.account_daily_metrics(SINCE, UNTIL)

    assert raised.value.cause == "token_missing" and fake.requests == []


def test_tokens_are_never_in_exception_messages_or_logs(fake, slept, clock, caplog):
    source = _source(fake, slept, clock, max_attempts=2)
    source.account_daily_metrics(SINCE, UNTIL)
    fake.faults.extend(["quota_temporary:1s", "503", "daily_quota"])
    caught: list[SourceUnavailable] = []

    # WHEN several failures happen with a live access token in hand
    with caplog.at_level("DEBUG", logger="warroom"):
        for _ in range(2):
            try:
                source.account_daily_metrics(SINCE, UNTIL)
            except SourceUnavailable as error:
                caught.append(error)

    # THEN neither the exceptions nor the log lines carry any token or secret
    assert [e.cause for e in caught] == ["vendor_down", "daily_quota_exhausted"]
    texts = [e.message for e in caught] + [str(e) for e in caught] + [r.getMessage() for r in caplog.records]
    for secret in _secrets(fake):
        assert all(secret not in text for text in texts)


def _campaigns(source: GoogleAdsSource) -> dict:
    return {c.external_id: c for c in source.list_campaigns()}


def test_the_account_id_is_the_customer_id_in_digits(fake, slept, clock):
    assert _source(fake, slept, clock).account_id == "1234567890"
    assert _source(fake, slept, clock, customer_id=None).account_id == ""


def test_campaigns_carry_their_flight_as_utc_days_the_end_day_included(fake, slept, clock):
    source = _source(fake, slept, clock)

    # WHEN the campaigns are listed (111 runs 2026-10-01 .. 2026-11-03, 222 from 2026-11-20 indefinitely)
    by_id = _campaigns(source)

    # THEN the start is that day's midnight UTC and the stop the END of the last day (the next midnight)
    assert by_id["111"].start_time == dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    assert by_id["111"].stop_time == dt.datetime(2026, 11, 4, tzinfo=dt.UTC)
    assert by_id["222"].start_time == dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    assert by_id["222"].stop_time is None
    assert by_id["111"].account_id == source.account_id == "1234567890"
    # AND the query asked for v26's field names, never the ones v23 removed
    (request,) = fake.search_requests()
    query = request["body"]["query"]
    assert "campaign.start_date_time, campaign.end_date_time" in query
    assert "campaign.start_date," not in query and "campaign.end_date," not in query
    assert "campaign_budget.total_amount_micros" in query


def test_flight_edge_cases(fake, slept, clock):
    # GIVEN a campaign still carrying the pre-v23 "indefinitely" end, and one answered with bare dates
    fake.flights = {"111": ("2026-10-01 00:00:00", "2037-12-30 23:59:59"), "222": ("2026-12-01", "2026-12-31")}

    by_id = _campaigns(_source(fake, slept, clock))

    assert by_id["111"].stop_time is None
    assert by_id["222"].start_time == dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert by_id["222"].stop_time == dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


def test_a_malformed_flight_is_malformed_answer(fake, slept, clock):
    fake.flights = {"111": ("2026-10-01 00:00:00", "2026-13-01 00:00:00")}

    with pytest.raises(SourceUnavailable) as raised:
        _source(fake, slept, clock).list_campaigns()

    assert raised.value.cause == "malformed_answer"


def test_a_campaign_total_budget_is_its_lifetime_budget(fake, slept, clock):
    # GIVEN campaign 222 on a campaign total budget (CUSTOM_PERIOD, total_amount_micros, no daily amount)
    for row in fake.rows:
        if row["campaign"]["id"] == "222":
            row["campaignBudget"] = {
                "resourceName": "customers/1234567890/campaignBudgets/9222",
                "period": "CUSTOM_PERIOD",
                "totalAmountMicros": "1500000001",
            }

    by_id = _campaigns(_source(fake, slept, clock))

    # THEN its budget is a lifetime one, exact to the micro; 111 keeps its daily budget
    assert by_id["222"].lifetime_budget == Decimal("1500.000001") and by_id["222"].daily_budget is None
    assert isinstance(by_id["222"].lifetime_budget, Decimal)
    assert by_id["111"].daily_budget == Decimal("50.00") and by_id["111"].lifetime_budget is None


def test_the_campaign_query_needs_api_v23_or_later(fake, slept, clock):
    # GIVEN an API version from before start_date_time existed
    source = _source(fake, slept, clock, api_version="v22")

    # WHEN / THEN Google refuses the unknown field and the source says the request was bad, without retrying
    with pytest.raises(SourceUnavailable) as raised:
        source.list_campaigns()

    assert raised.value.cause == "bad_request" and "queryError.UNRECOGNIZED_FIELD" in raised.value.message
    assert slept == [] and len(fake.search_requests()) == 1
