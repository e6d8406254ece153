"""Budget pacing: is each campaign spending its budget at the rate its flight needs?

Example
-------
>>> report = pacing_report()
>>> item = report.items[0]
>>> item.pacing_pct, item.status                 # share of budget spent / share of flight elapsed
(Decimal('131.2'), 'over')

The flight and the budget it is paced against:

* a **lifetime budget** with start and end: the whole flight, the whole budget;
* a **daily budget**: the current calendar month (UTC) clipped to the campaign's own start and end, against the
  daily budget times the flight's days (the platforms bill daily budgets by the month: Google charges at most
  30.4 daily budgets a month);
* a campaign with neither (or a lifetime budget without dates) is not paced.

Elapsed time is counted to the minute, and spend to date includes today's partial day, so the two agree.
``pacing % = (spend / budget) / (elapsed / flight) x 100``; the projection is linear; the required daily spend is
what each remaining day must spend to end on budget. Flags use the settings ``pacing_over_threshold_pct`` and
``pacing_under_threshold_pct`` and wait until a day of the flight has passed (one morning is not a trend).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg

from warroom.campaigns.models import PacingItem, PacingOut, Platform
from warroom.campaigns.queries import CAMPAIGN_COLUMNS, RUNNING_TOTALS_THROUGH, campaign_out
from warroom.campaigns.settings import PACING_OVER_PCT, PACING_UNDER_PCT
from warroom.core.db import connection
from warroom.core.settings import read_settings

_CENT = Decimal("0.01")
_SHARE = Decimal("0.0001")
_PCT = Decimal("0.1")
MIN_ELAPSED = dt.timedelta(days=1)
# Each flight's spend to date from the campaign's running totals (two index look-ups per campaign).
_SPEND_TO_DATE = (
    "SELECT f.id AS campaign_id, hi.cum_spend - coalesce(lo.cum_spend, 0) AS spend"  # noqa: S608  (our constants)
    " FROM unnest(%(ids)s::uuid[], %(first)s::date[], %(last)s::date[]) AS f(id, first_day, last_day)"
    + RUNNING_TOTALS_THROUGH.format(id="f.id", since="f.first_day", until="f.last_day")
)


@dataclass(frozen=True)
class Flight:
    """What a campaign is paced against: its budget over ``[start, end)`` (UTC instants at day boundaries)."""

    start: dt.datetime
    end: dt.datetime
    budget: Decimal

    @property
    def first_day(self) -> dt.date:
        return self.start.date()

    @property
    def last_day(self) -> dt.date:
        return (self.end - dt.timedelta(microseconds=1)).date()


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _day_start(moment: dt.datetime) -> dt.datetime:
    return _midnight(moment.astimezone(dt.UTC).date())


def _day_end(moment: dt.datetime) -> dt.datetime:
    """The end of the day ``moment`` falls in (a stop time at midnight ends the day before)."""
    start = _day_start(moment)
    return start if start == moment else start + dt.timedelta(days=1)


def flight_of(campaign: dict[str, Any], now: dt.datetime) -> Flight | None:
    """The flight and budget ``campaign`` is paced against at ``now`` (None when it is not paced)."""
    start, stop = campaign.get("start_time"), campaign.get("stop_time")
    lifetime, daily = campaign.get("lifetime_budget"), campaign.get("daily_budget")
    if lifetime is not None and start is not None and stop is not None:
        flight_start, flight_end = _day_start(start), _day_end(stop)
        if flight_end <= flight_start:
            return None
        return Flight(flight_start, flight_end, Decimal(lifetime))
    if daily is None:
        return None
    # The month that holds now; before the flight its first month, after it its last one.
    anchor = now
    if start is not None and now < start:
        anchor = start
    elif stop is not None and now >= stop:
        anchor = stop - dt.timedelta(microseconds=1)
    month_start = _midnight(anchor.astimezone(dt.UTC).date().replace(day=1))
    next_month = _midnight((month_start.date() + dt.timedelta(days=32)).replace(day=1))
    flight_start = max(month_start, _day_start(start)) if start is not None else month_start
    flight_end = min(next_month, _day_end(stop)) if stop is not None else next_month
    if flight_end <= flight_start:
        return None
    days = (flight_end - flight_start).days
    return Flight(flight_start, flight_end, Decimal(daily) * days)


def pace(
    campaign: dict[str, Any], flight: Flight, spend_to_date: Decimal, now: dt.datetime, over_pct: int, under_pct: int
) -> PacingItem:
    """The pacing figures of one campaign (pure: everything it needs is passed in)."""
    length = flight.end - flight.start
    elapsed = min(max(now - flight.start, dt.timedelta(0)), length)
    share = Decimal(elapsed / length).quantize(_SHARE) if length else Decimal(1)
    budget = flight.budget
    expected = (budget * share).quantize(_CENT)
    pacing = ((spend_to_date / budget) / share * 100).quantize(_PCT) if budget and share else None
    projected = (spend_to_date / share).quantize(_CENT) if share else None
    remaining_days = Decimal((length - elapsed) / dt.timedelta(days=1))
    required = (max(budget - spend_to_date, Decimal(0)) / remaining_days).quantize(_CENT) if remaining_days else None
    if now < flight.start:
        status = "not_started"
    elif now >= flight.end:
        status = "ended"
    elif pacing is not None and elapsed >= MIN_ELAPSED and pacing >= over_pct:
        status = "over"
    elif pacing is not None and elapsed >= MIN_ELAPSED and pacing <= under_pct:
        status = "under"
    else:
        status = "on_track"
    return PacingItem(
        campaign=campaign_out(campaign),
        budget=budget,
        flight_start=flight.first_day,
        flight_end=flight.last_day,
        spend_to_date=spend_to_date,
        expected_to_date=expected,
        elapsed_share=share,
        pacing_pct=pacing,
        projected_end_spend=projected,
        required_daily_spend=required,
        status=status,
    )


def pacing_items(
    conn: psycopg.Connection,
    now: dt.datetime,
    *,
    platform: Platform | None = None,
    thresholds: dict[str, Any] | None = None,
) -> list[PacingItem]:
    """Every paced campaign's figures at ``now`` (alphabetical), in ``conn``."""
    thresholds = thresholds or read_settings([PACING_OVER_PCT, PACING_UNDER_PCT], conn)
    over, under = thresholds[PACING_OVER_PCT.key], thresholds[PACING_UNDER_PCT.key]
    where = " WHERE c.platform = %s" if platform else ""
    campaigns = conn.execute(
        f"SELECT {CAMPAIGN_COLUMNS} FROM campaigns c{where} ORDER BY c.name, c.id",  # noqa: S608  (our constants)
        (platform,) if platform else (),
    ).fetchall()
    flights = [(row, flight) for row in campaigns if (flight := flight_of(row, now)) is not None]
    if not flights:
        return []
    today = now.astimezone(dt.UTC).date()
    spent = {
        str(r["campaign_id"]): Decimal(r["spend"])
        for r in conn.execute(
            _SPEND_TO_DATE,
            {
                "ids": [row["id"] for row, _ in flights],
                "first": [flight.first_day for _, flight in flights],
                # spend to date: through today, or the flight's last day when it has ended
                "last": [min(flight.last_day, today) for _, flight in flights],
            },
        )
    }
    return [
        pace(row, flight, spent.get(str(row["id"]), Decimal(0)), now, over, under)
        for row, flight in flights
        if flight.budget > 0
    ]


def pacing_report(*, platform: Platform | None = None, now: dt.datetime | None = None) -> PacingOut:
    """``GET /campaigns/pacing``: every paced campaign, with the thresholds its flags used."""
    now = now or dt.datetime.now(dt.UTC)
    with connection() as conn:
        thresholds = read_settings([PACING_OVER_PCT, PACING_UNDER_PCT], conn)
        items = pacing_items(conn, now, platform=platform, thresholds=thresholds)
    return PacingOut(
        as_of=now,
        over_threshold_pct=thresholds[PACING_OVER_PCT.key],
        under_threshold_pct=thresholds[PACING_UNDER_PCT.key],
        items=items,
    )
