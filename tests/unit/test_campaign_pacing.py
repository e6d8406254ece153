"""Budget pacing on hand-made campaigns: the flight each budget is paced against, and the figures derived."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from warroom.campaigns.pacing import Flight, flight_of, pace


def at(day: str, hour: int = 0) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=dt.UTC)


def campaign(**fields) -> dict:
    base = {
        "id": uuid.uuid4(),
        "platform": "meta",
        "external_id": "1",
        "account_id": "a",
        "name": "GOTV",
        "objective": None,
        "status": "ACTIVE",
        "effective_status": "ACTIVE",
        "daily_budget": None,
        "lifetime_budget": None,
        "currency": "USD",
        "start_time": None,
        "stop_time": None,
        "special_ad_categories": [],
        "synced_at": at("2026-11-01"),
    }
    return {**base, **fields}


def test_a_lifetime_budget_is_paced_over_its_whole_flight():
    row = campaign(lifetime_budget=Decimal("3000"), start_time=at("2026-11-01", 10), stop_time=at("2026-11-30", 18))
    flight = flight_of(row, at("2026-11-16"))
    # whole days: from the start's day to the end of the stop's day
    assert flight == Flight(at("2026-11-01"), at("2026-12-01"), Decimal("3000"))
    assert (flight.first_day, flight.last_day) == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))


def test_a_daily_budget_is_paced_over_this_month_clipped_to_the_flight():
    row = campaign(daily_budget=Decimal("100.00"), start_time=at("2026-11-10"))
    assert flight_of(row, at("2026-11-20")) == Flight(at("2026-11-10"), at("2026-12-01"), Decimal("2100.00"))
    open_ended = campaign(daily_budget=Decimal("50"))
    assert flight_of(open_ended, at("2026-02-10")).budget == Decimal("1400")  # 28 days of February
    ended = campaign(daily_budget=Decimal("10"), start_time=at("2026-09-01"), stop_time=at("2026-10-15"))
    assert flight_of(ended, at("2026-11-20")) == Flight(at("2026-10-01"), at("2026-10-15"), Decimal("140"))


def test_campaigns_without_a_budget_or_dates_are_not_paced():
    assert flight_of(campaign(), at("2026-11-20")) is None
    assert flight_of(campaign(lifetime_budget=Decimal("900"), start_time=at("2026-11-01")), at("2026-11-20")) is None


@pytest.mark.parametrize(
    ("spent", "status", "pacing"),
    [("1500.00", "on_track", "100.0"), ("2000.00", "over", "133.3"), ("600.00", "under", "40.0")],
)
def test_pacing_compares_the_share_spent_with_the_share_elapsed(spent, status, pacing):
    # a stop at midnight ends the day before: the flight is 1-30 November, 30 days, half gone on the 16th
    row = campaign(lifetime_budget=Decimal("3000"), start_time=at("2026-11-01"), stop_time=at("2026-12-01"))
    flight = flight_of(row, at("2026-11-16"))
    item = pace(row, flight, Decimal(spent), at("2026-11-16"), over_pct=120, under_pct=80)
    assert item.elapsed_share == Decimal("0.5000")
    assert item.expected_to_date == Decimal("1500.00")
    assert (item.status, item.pacing_pct) == (status, Decimal(pacing))
    assert item.projected_end_spend == Decimal(spent) * 2
    # what each of the 15 remaining days must spend to end on budget (nothing when already past it)
    left = max(Decimal("3000") - Decimal(spent), Decimal(0))
    assert item.required_daily_spend == (left / 15).quantize(Decimal("0.01"))


def test_flags_wait_for_a_full_day_and_the_flight_bounds_say_not_started_or_ended():
    row = campaign(lifetime_budget=Decimal("3000"), start_time=at("2026-11-01"), stop_time=at("2026-11-30"))
    flight = flight_of(row, at("2026-11-01", 12))
    morning = pace(row, flight, Decimal("900"), at("2026-11-01", 12), over_pct=120, under_pct=80)
    assert morning.status == "on_track" and morning.pacing_pct > 120  # half a day is not a trend
    assert pace(row, flight, Decimal(0), at("2026-10-20"), over_pct=120, under_pct=80).status == "not_started"
    done = pace(row, flight, Decimal("2990"), at("2026-12-05"), over_pct=120, under_pct=80)
    assert (done.status, done.elapsed_share, done.required_daily_spend) == ("ended", Decimal(1), None)
