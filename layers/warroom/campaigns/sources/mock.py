"""The mock campaign source: a political campaign's paid media on Meta or Google Ads, for MOCK mode and demos.

Example
-------
>>> meta = MockCampaignSource("meta", now=lambda: dt.datetime(2026, 11, 3, 15, 30, tzinfo=dt.UTC))
>>> campaigns = meta.list_campaigns()    # 13: 11 in flight (1-2 of them PAUSED), the last ended, the next one
>>> campaigns[-1].name, campaigns[-1].objective, campaigns[-1].start_time.date()
('GOTV | Early Vote Reminder | AZ | Nov26', 'OUTCOME_AWARENESS', datetime.date(2026, 11, 5))
>>> days = meta.account_daily_metrics(dt.date(2026, 9, 5), dt.date(2026, 11, 3))   # 60 days, today's so far
>>> meta.list_ad_sets()                  # 2-4 ad sets per campaign (AdSetRecord)
>>> MockCampaignSource("google_ads").list_ad_sets()   # [] (Google has no ad sets; callers treat both alike)

It answers what the live connectors answer (:class:`CampaignRecord`, :class:`DailyMetrics` with the vendor's
raw row: Meta's insights row of strings, Google's searchStream row in camelCase with ``costMicros``), and the
raw row reads back through the live connector's own parser to the same figures.

**Time is absolute.** Campaigns are launched on a fixed calendar (one every ``stagger`` days since
:data:`EPOCH`), so a day's figures are a pure function of ``(seed, platform, account, campaign, date)``:
re-syncing any window answers the same rows, and as ``now`` moves new days (and new campaigns) appear while
old ones never change. Only today's row grows: it holds the share of the day's delivery elapsed so far
(weighted by a US Eastern diurnal curve), so every figure in it is non-decreasing through the day.

The calendar is built so a demo always has the same cast, whatever ``now`` is. Campaign ``g`` runs from its
launch until campaign ``g + in_flight`` launches, so exactly ``in_flight`` campaigns deliver at any moment
(11 on Meta, 10 on Google, flights of ~88 / ~90 days) and the campaigns of one "chain" (``g % in_flight``)
follow each other with no gap. What is listed: those in flight, the one that ended last (older ones are
archived) and the next one to launch, so 13 on Meta and 12 on Google. Roles follow the chains:

* chains 0 and 5 over-pace persistently (spend ~155 % of their budget share), chains 1 and 6 under-pace
  (~40 %), and these four carry lifetime budgets, so pacing alerts always have something to show: a flight's
  first day flags nothing (one morning is not a trend), and neither does a month's first day for a daily budget
  (paced over the month), but the two chains of a role hand over half a rotation apart, and ~155 % reads over
  the 120 % threshold even on a flight's second morning (delivery follows the US day, time runs evenly: a
  morning reads up to ~9 % low; at ~130 % it read 119.5 % on 2 December);
* each ``stagger``-day block pauses one or two other chains' campaigns (PAUSED: no rows on those days);
* on Meta, one campaign has ``WITH_ISSUES`` (ads disapproved: it delivers 35-60 %) in three 3-day windows out
  of four, none in the fourth;
* the other campaigns have a few under-delivery days (20-50 % of budget) now and then.

Figures: spend tracks the daily budget (a lifetime budget spread over the flight) with ±15 % daily noise and a
weekend dip for fundraising, search and sign-up programs; CPM $6-$30 and CTR 0.4-3 % by objective (search
3-8 %), CPC derived; reach (Meta) 55-80 % of impressions; conversions for sales (donations), leads, sign-ups
and search, else none or few. Money is integer cents until it becomes a 2-decimal :class:`~decimal.Decimal`:
no float is ever involved. Meta reports conversions through ``actions`` (``purchase``, ``lead``,
``complete_registration``, as :class:`MetaSource` counts them); Google's are fractional (attribution).

Statuses are each platform's own: Meta ``ACTIVE`` / ``PAUSED`` / ``WITH_ISSUES`` (a finished or scheduled
campaign stays ``ACTIVE``, as in the Graph API: its flight says it is over or not started); Google
``ENABLED`` / ``PAUSED`` with serving status ``SERVING`` / ``ENDED`` / ``PENDING``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from warroom.campaigns.sources.base import AdSetRecord, CampaignRecord, DailyMetrics

Platform = Literal["meta", "google_ads"]

EPOCH = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)  # a Monday, 00:00 UTC: the calendar's origin (any date would do)
CURRENCY = "USD"
DEFAULT_ACCOUNT = {"meta": "1234567890", "google_ads": "9876543210"}
POLITICAL = ("ISSUES_ELECTIONS_POLITICS",)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAY = dt.timedelta(days=1)
_SECOND = dt.timedelta(seconds=1)
_FULL = 10_000  # multipliers are integer basis points: 10_000 is 100 %

# Relative delivery by hour of the campaign's day (US Eastern, UTC-5): quiet at night, peak in the evening.
_LOCAL_HOUR_WEIGHTS = (2, 1, 1, 1, 1, 2, 4, 6, 7, 8, 8, 8, 8, 8, 8, 8, 8, 9, 10, 11, 11, 10, 8, 5)
_UTC_HOUR_WEIGHTS = tuple(_LOCAL_HOUR_WEIGHTS[(hour - 5) % 24] for hour in range(24))
_WEIGHT_BEFORE_HOUR = tuple(sum(_UTC_HOUR_WEIGHTS[:hour]) for hour in range(25))
_DAY_WEIGHT = _WEIGHT_BEFORE_HOUR[24] * 3600

# Per objective: CPM in cents and CTR in "per 100 000" (1 000 is 1 %), each a [low, high) range per day.
_DELIVERY: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "OUTCOME_AWARENESS": ((600, 1100), (400, 900)),
    "OUTCOME_ENGAGEMENT": ((800, 1400), (900, 2200)),
    "OUTCOME_TRAFFIC": ((1000, 1800), (1200, 3000)),
    "OUTCOME_LEADS": ((1400, 2400), (900, 2200)),
    "OUTCOME_SALES": ((1800, 3000), (800, 1800)),
    "SEARCH": ((1800, 3000), (3000, 8000)),
    "DISPLAY": ((600, 1200), (400, 900)),
    "VIDEO": ((800, 1600), (400, 800)),
    "PERFORMANCE_MAX": ((1000, 2000), (1000, 2500)),
}
# Meta conversion actions per objective: the type MetaSource counts, then the aliases Meta reports beside it.
_META_CONVERSIONS: dict[str, tuple[str, ...]] = {
    "OUTCOME_SALES": ("purchase", "offsite_conversion.fb_pixel_purchase", "omni_purchase"),
    "OUTCOME_LEADS": ("lead", "onsite_conversion.lead_grouped", "leadgen_grouped"),
    "OUTCOME_TRAFFIC": ("complete_registration", "offsite_conversion.fb_pixel_complete_registration"),
}
_OPTIMIZATION_GOALS: dict[str, tuple[str, ...]] = {
    "OUTCOME_AWARENESS": ("REACH", "IMPRESSIONS", "THRUPLAY"),
    "OUTCOME_ENGAGEMENT": ("THRUPLAY", "POST_ENGAGEMENT"),
    "OUTCOME_TRAFFIC": ("LINK_CLICKS", "LANDING_PAGE_VIEWS"),
    "OUTCOME_LEADS": ("LEAD_GENERATION", "OFFSITE_CONVERSIONS"),
    "OUTCOME_SALES": ("OFFSITE_CONVERSIONS", "VALUE"),
}


@dataclass(frozen=True)
class _Program:
    """A recurring line of work of the paid-media team; each flight of it is one campaign."""

    name: str
    objective: str
    budget: Literal["daily", "lifetime"]
    daily_usd: int  # the typical daily budget (a lifetime budget is this times the flight's days)
    conversion_bp: tuple[int, int]  # conversions per click, in basis points, [low, high)
    weekend_bp: int = _FULL  # delivery on Saturdays and Sundays
    audiences: tuple[str, ...] = ()  # Meta: one ad set per audience, 2-4 of them


_META_PROGRAMS = (
    _Program("Persuasion | Suburban Women 35-54 | PA", "OUTCOME_AWARENESS", "daily", 900, (0, 1), _FULL,
             ("Women 35-54 | Bucks-Chester-Montgomery", "Women 35-54 | Delaware-Lehigh",
              "Women 35-54 | Allegheny suburbs", "Advantage+ audience | PA suburbs")),
    _Program("Persuasion | Independents 25-44 | MI", "OUTCOME_ENGAGEMENT", "lifetime", 700, (0, 1), _FULL,
             ("Independents 25-44 | Oakland-Macomb", "Independents 25-44 | Kent-Ottawa",
              "Lookalike 2% | Persuadables", "Video viewers 50% | 30d")),
    _Program("GOTV | Early Vote Reminder | AZ", "OUTCOME_AWARENESS", "daily", 650, (0, 1), _FULL,
             ("Low-propensity Dems | Maricopa", "Low-propensity Dems | Pima", "Young voters 18-29 | Tempe-Tucson",
              "Spanish-language | Maricopa")),
    _Program("GOTV | Young Voters 18-29 | WI", "OUTCOME_TRAFFIC", "daily", 450, (30, 120), 9500,
             ("18-29 | Madison", "18-29 | Milwaukee", "Students | UW campuses", "18-29 | Green Bay-Appleton")),
    _Program("Fundraising | Donor Acquisition | National", "OUTCOME_SALES", "daily", 1400, (200, 500), 8800,
             ("Lookalike 1% | Past donors", "Interests | Progressive causes", "Advantage+ audience | US",
              "Lookalike 3% | Email list")),
    _Program("Fundraising | Retargeting | Site Visitors 30d", "OUTCOME_SALES", "daily", 500, (500, 1000), 8800,
             ("Site visitors 30d", "Video viewers 75% | 60d", "Email list | Non-donors", "Page engagers 90d")),
    _Program("Issue | Healthcare Costs | Seniors 65+ | PA", "OUTCOME_ENGAGEMENT", "lifetime", 600, (0, 1), _FULL,
             ("65+ | Philadelphia metro", "65+ | Pittsburgh metro", "Caregivers 45-64 | PA",
              "65+ | Scranton-Wilkes-Barre")),
    _Program("Issue | Economy & Prices | Working Families | MI", "OUTCOME_AWARENESS", "lifetime", 800, (0, 1),
             _FULL, ("Parents 25-49 | Detroit metro", "Union households | MI", "25-54 | Grand Rapids-Lansing",
                     "Advantage+ audience | MI")),
    _Program("Issue | Education | Parents 30-50 | GA", "OUTCOME_TRAFFIC", "daily", 400, (30, 120), 9200,
             ("Parents 30-50 | Atlanta metro", "Teachers | GA", "Parents 30-50 | Savannah-Augusta",
              "Lookalike 1% | Petition signers")),
    _Program("List Building | Petition: Lower Drug Prices | National", "OUTCOME_LEADS", "daily", 750, (800, 2000),
             9000, ("Interests | Healthcare reform", "Lookalike 1% | Signers", "45-64 | Battleground states",
                    "Advantage+ audience | US")),
    _Program("List Building | Volunteer Sign-ups | NC", "OUTCOME_LEADS", "daily", 350, (800, 2000), 9000,
             ("Supporters | Charlotte", "Supporters | Raleigh-Durham", "Page engagers 180d | NC",
              "Students | NC campuses")),
    _Program("Brand | Meet Maria Alvarez | Battlegrounds", "OUTCOME_AWARENESS", "lifetime", 1100, (0, 1), _FULL,
             ("Broad 18+ | PA-MI-WI", "Broad 18+ | AZ-GA-NV", "Broad 18+ | NC", "Video viewers 25% | 30d")),
)  # fmt: skip
# Google teams name campaigns in one token string (channel_program_detail_geo); conversions are fractional.
_GOOGLE_PROGRAMS = (
    _Program("SRCH_Brand_CandidateName_NATL", "SEARCH", "daily", 300, (200, 500), 9000),
    _Program("SRCH_Fundraising_DonateKWs_NATL", "SEARCH", "daily", 600, (400, 900), 8500),
    _Program("SRCH_GOTV_WhereToVote_PA", "SEARCH", "daily", 250, (50, 200)),
    _Program("SRCH_Issue_Healthcare_PA-MI-WI", "SEARCH", "daily", 200, (30, 120), 8500),
    _Program("YT_Persuasion_Women35-54_PA", "VIDEO", "lifetime", 1200, (0, 20)),
    _Program("YT_NameID_MeetMaria_Battlegrounds", "VIDEO", "daily", 900, (0, 20)),
    _Program("DSP_GOTV_EarlyVote_AZ", "DISPLAY", "daily", 400, (0, 30)),
    _Program("DSP_Issue_Economy_MI", "DISPLAY", "daily", 350, (0, 30)),
    _Program("PMAX_Fundraising_Donors_NATL", "PERFORMANCE_MAX", "daily", 800, (200, 500), 8800),
    _Program("PMAX_ListBuilding_Petition_NATL", "PERFORMANCE_MAX", "daily", 500, (600, 1500), 9000),
    _Program("DSP_Remarketing_SiteVisitors30d", "DISPLAY", "daily", 250, (50, 200), 9500),
    _Program("YT_Issue_Education_GA", "VIDEO", "daily", 450, (0, 20)),
)


@dataclass(frozen=True)
class _Calendar:
    """How one platform's campaigns are laid out in time (see the module docstring)."""

    epoch: dt.datetime
    stagger_days: int
    in_flight: int
    programs: tuple[_Program, ...]


_CALENDARS: dict[str, _Calendar] = {
    "meta": _Calendar(EPOCH, 8, 11, _META_PROGRAMS),
    "google_ads": _Calendar(EPOCH + dt.timedelta(days=3), 9, 10, _GOOGLE_PROGRAMS),
}
# The chains that over- and under-pace (the others are "normal"): two of each, half a rotation apart, so one of
# each is always a day or more into its flight (a flight's first day flags nothing) when the other hands over.
_OVER, _UNDER = (0, 5), (1, 6)


@dataclass(frozen=True)
class _Campaign:
    index: int  # g: the campaign's place in the launch order
    program: _Program
    external_id: str
    name: str
    start: dt.datetime
    stop: dt.datetime  # when delivery ends (the next campaign of its chain launches)
    open_ended: bool  # listed without a stop time while it runs (the team turns it off)
    daily_budget_cents: int | None
    lifetime_budget_cents: int | None
    day_budget_cents: int  # what a full day should spend: the daily budget, or the lifetime one per day of flight
    pace_bp: int  # the campaign's delivery against its budget
    normal: bool  # not one of the pacing chains: may be paused, have issues or slump


def _rng(*parts: object) -> random.Random:
    # A string seed is hashed (SHA-512) by random.Random: reproducible across runs and machines.
    return random.Random(":".join(map(str, parts)))  # noqa: S311  (reproducible demo data)


def _hash(*parts: object) -> int:
    return int.from_bytes(hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest(), "big")


def _weight_until(seconds: int) -> int:
    """The day's delivery weight from 00:00 UTC to ``seconds`` later (0 to ``_DAY_WEIGHT``, non-decreasing)."""
    hour, rest = divmod(seconds, 3600)
    if hour >= 24:
        return _DAY_WEIGHT
    return _WEIGHT_BEFORE_HOUR[hour] * 3600 + _UTC_HOUR_WEIGHTS[hour] * rest


def _cents(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _ratio(numerator: Decimal | int, denominator: int) -> str:
    """Meta's way of writing a rate: six decimals, as a string."""
    return str((Decimal(numerator) / denominator).quantize(Decimal("0.000001")))


class MockCampaignSource:
    """Generated campaigns, ad sets and daily figures of one ad account; see the module docstring.

    Implements :class:`~warroom.campaigns.sources.base.CampaignSource` for both platforms and
    :class:`~warroom.campaigns.sources.base.AdSetSource` for Meta. ``list_ad_sets`` exists on both so callers
    can treat them alike: Google has no ad sets and answers ``[]``.

    Parameters
    ----------
    platform
        ``"meta"`` or ``"google_ads"``: names, objectives, ids, statuses and raw rows in that platform's style.
    account_id
        The ad account (Meta, ``act_`` optional) or customer id (Google, dashes optional).
    now
        The clock (UTC); a fixed one in tests. Today's row and which campaigns are listed depend on it.
    seed
        Another seed is another set of campaigns and figures, as stable as the first.
    """

    currency = CURRENCY

    def __init__(
        self,
        platform: Platform,
        *,
        account_id: str | None = None,
        now: Callable[[], dt.datetime] | None = None,
        seed: str = "warroom",
    ):
        if platform not in _CALENDARS:
            raise ValueError(f"unknown platform {platform!r}: 'meta' or 'google_ads'")
        self.platform: str = platform
        account = account_id or DEFAULT_ACCOUNT[platform]
        self.account_id = account.removeprefix("act_") if platform == "meta" else account.replace("-", "")
        self.seed = seed
        self._clock = now or (lambda: dt.datetime.now(dt.UTC))
        self._calendar = _CALENDARS[platform]
        self._key = f"{seed}:{platform}:{self.account_id}"
        self._campaigns: dict[int, _Campaign] = {}
        self._paused: dict[int, frozenset[int]] = {}
        self._issues: dict[int, int | None] = {}

    # ------------------------------------------------------------------ the CampaignSource protocol

    def list_campaigns(self) -> list[CampaignRecord]:
        """The account's campaigns now: those in flight, the last one that ended and the next one to launch."""
        now = self._now()
        return [self._record(c, now) for c in self._listed(now)]

    def list_ad_sets(self) -> list[AdSetRecord]:
        """Every ad set of the listed campaigns (Meta); ``[]`` for Google, which has none."""
        if self.platform != "meta":
            return []
        now = self._now()
        return [ad_set for c in self._listed(now) for ad_set in self._ad_sets(c, now)]

    def daily_metrics(self, external_id: str, since: dt.date, until: dt.date) -> list[DailyMetrics]:
        """The campaign's rows for the days in ``[since, until]`` it delivered; ``[]`` for an unknown id."""
        now = self._now()
        for campaign in self._listed(now):
            if campaign.external_id == external_id:
                return self._rows(campaign, since, until, now)
        return []

    def account_daily_metrics(self, since: dt.date, until: dt.date) -> list[DailyMetrics]:
        """Every listed campaign's rows for the days in ``[since, until]``, campaign by campaign, day by day."""
        now = self._now()
        return [row for campaign in self._listed(now) for row in self._rows(campaign, since, until, now)]

    # ------------------------------------------------------------------ the calendar

    def _now(self) -> dt.datetime:
        moment = self._clock()
        return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)

    def _listed(self, now: dt.datetime) -> list[_Campaign]:
        latest = (now - self._calendar.epoch) // dt.timedelta(days=self._calendar.stagger_days)
        if self._start(latest) > now:  # launched later in its first day
            latest -= 1
        return [self._campaign(g) for g in range(latest - self._calendar.in_flight, latest + 2)]

    def _start(self, g: int) -> dt.datetime:
        # Launched in the afternoon UTC (morning on the East Coast), on the quarter hour.
        quarter = _hash(self._key, "start", g) % 28
        return self._calendar.epoch + dt.timedelta(days=g * self._calendar.stagger_days, minutes=780 + 15 * quarter)

    def _campaign(self, g: int) -> _Campaign:
        if g in self._campaigns:
            return self._campaigns[g]
        calendar = self._calendar
        program = calendar.programs[g % len(calendar.programs)]
        rng = _rng(self._key, "campaign", g)
        start, stop = self._start(g), self._start(g + calendar.in_flight)
        flight_s = (stop - start) // _SECOND
        # dollars times a percentage is cents: the program's budget +-20 %, in $5 steps
        daily_cents = (program.daily_usd * rng.randrange(80, 121) + 250) // 500 * 500
        chain = g % calendar.in_flight
        # The pacing roles carry lifetime budgets: paced over their flight, they flag on a month's first day too
        # (a daily budget is paced over the month, and a month's first day flags nothing).
        if program.budget == "lifetime" or chain in _OVER + _UNDER:
            lifetime_cents = (daily_cents * flight_s // 86400 + 5000) // 10000 * 10000  # $100 steps
            daily_budget, lifetime_budget, day_cents = None, lifetime_cents, lifetime_cents * 86400 // flight_s
        else:
            daily_budget, lifetime_budget, day_cents = daily_cents, None, daily_cents
        pace = (15_000, 16_000) if chain in _OVER else (3_800, 4_600) if chain in _UNDER else (9_400, 10_100)
        if self.platform == "meta":
            external_id = f"2385{_hash(self._key, 'id', g) % 10**13:013d}"
            name = f"{program.name} | {MONTHS[start.month - 1]}{start:%y}"
        else:
            external_id = f"2{_hash(self._key, 'id', g) % 10**10:010d}"
            name = f"{program.name}_{MONTHS[start.month - 1]}{start:%y}"
        campaign = _Campaign(
            index=g,
            program=program,
            external_id=external_id,
            name=name,
            start=start,
            stop=stop,
            open_ended=lifetime_budget is None and rng.randrange(100) < 30,  # a lifetime budget needs its end
            daily_budget_cents=daily_budget,
            lifetime_budget_cents=lifetime_budget,
            day_budget_cents=day_cents,
            pace_bp=rng.randrange(*pace),
            normal=chain not in _OVER + _UNDER,
        )
        self._campaigns[g] = campaign
        return campaign

    def _block(self, day: dt.date) -> int:
        return (day - self._calendar.epoch.date()).days // self._calendar.stagger_days

    def _paused_on(self, campaign: _Campaign, day: dt.date) -> bool:
        """Whether the team has the campaign paused all of ``day`` (one or two chains per block)."""
        if not campaign.normal:
            return False
        block = self._block(day)
        if block not in self._paused:
            in_flight = self._calendar.in_flight
            # Not the chain whose campaign ends and whose next one launches in this block.
            chains = [c for c in range(in_flight) if c not in (*_OVER, *_UNDER, block % in_flight)]
            rng = _rng(self._key, "pause", block)
            self._paused[block] = frozenset(rng.sample(chains, 1 + rng.randrange(2)))
        return campaign.index % self._calendar.in_flight in self._paused[block]

    def _issue_on(self, campaign: _Campaign, day: dt.date) -> bool:
        """Meta: whether the campaign has disapproved ads on ``day`` (one campaign, three 3-day windows in four)."""
        if self.platform != "meta" or not campaign.normal:
            return False
        window = (day - self._calendar.epoch.date()).days // 3
        if window not in self._issues:
            rng = _rng(self._key, "issues", window)
            chains = [c for c in range(self._calendar.in_flight) if c not in _OVER + _UNDER]
            self._issues[window] = rng.choice(chains) if rng.randrange(4) else None
        return campaign.index % self._calendar.in_flight == self._issues[window] and not self._paused_on(campaign, day)

    def _slump_bp(self, campaign: _Campaign, day: dt.date) -> int:
        """Under-delivery (20-50 % of budget) for 2-4 days, starting on about one day in 50."""
        if not campaign.normal:
            return _FULL
        for back in range(4):
            h = _hash(self._key, "slump", campaign.index, (day - dt.timedelta(days=back)).toordinal())
            if h % 50 == 0 and 2 + (h >> 8) % 3 > back:
                return 2_000 + (h >> 16) % 3_001
        return _FULL

    def _state(self, campaign: _Campaign, now: dt.datetime) -> str:
        if now < campaign.start:
            return "scheduled"
        if now >= campaign.stop:
            return "ended"
        if self._paused_on(campaign, now.date()):
            return "paused"
        return "issues" if self._issue_on(campaign, now.date()) else "active"

    # ------------------------------------------------------------------ records

    def _record(self, campaign: _Campaign, now: dt.datetime) -> CampaignRecord:
        state = self._state(campaign, now)
        if self.platform == "meta":
            status = "PAUSED" if state == "paused" else "ACTIVE"
            effective = {"paused": "PAUSED", "issues": "WITH_ISSUES"}.get(state, "ACTIVE")
        else:
            status = "PAUSED" if state == "paused" else "ENABLED"
            effective = {"scheduled": "PENDING", "ended": "ENDED"}.get(state, "SERVING")
        # An open-ended campaign gets its stop time when the team turns it off.
        stop = None if campaign.open_ended and state != "ended" else campaign.stop
        return CampaignRecord(
            platform=self.platform,
            external_id=campaign.external_id,
            account_id=self.account_id,
            name=campaign.name,
            objective=campaign.program.objective,
            status=status,
            effective_status=effective,
            daily_budget=_cents(campaign.daily_budget_cents) if campaign.daily_budget_cents is not None else None,
            lifetime_budget=(
                _cents(campaign.lifetime_budget_cents) if campaign.lifetime_budget_cents is not None else None
            ),
            currency=CURRENCY,
            start_time=campaign.start,
            stop_time=stop,
            special_ad_categories=POLITICAL if self.platform == "meta" else (),
        )

    def _ad_sets(self, campaign: _Campaign, now: dt.datetime) -> list[AdSetRecord]:
        # Budgets stay on the campaign (Advantage campaign budget), so ad sets carry none, as Meta answers them.
        state = self._state(campaign, now)
        goals = _OPTIMIZATION_GOALS[campaign.program.objective]
        audiences = campaign.program.audiences
        count = 2 + _hash(self._key, "ad sets", campaign.index) % 3
        end = None if campaign.open_ended and state != "ended" else campaign.stop
        ad_sets = []
        for n in range(count):
            h = _hash(self._key, "ad set", campaign.index, n)
            starts = campaign.start + dt.timedelta(days=0 if n == 0 else h % 11)  # some added during the flight
            status, effective = "ACTIVE", "ACTIVE"
            if n > 0 and (h >> 8) % 6 == 0:
                status = effective = "PAUSED"
            elif state == "paused":
                effective = "CAMPAIGN_PAUSED"
            elif state == "issues" and n == 0:
                effective = "WITH_ISSUES"
            ad_sets.append(
                AdSetRecord(
                    platform=self.platform,
                    external_id=f"2385{h % 10**13:013d}",
                    campaign_external_id=campaign.external_id,
                    name=audiences[(campaign.index + n) % len(audiences)],
                    status=status,
                    effective_status=effective,
                    optimization_goal=goals[n % len(goals)],
                    billing_event="IMPRESSIONS",
                    start_time=min(starts, end) if end else starts,
                    end_time=end,
                )
            )
        return ad_sets

    # ------------------------------------------------------------------ daily figures

    def _rows(self, campaign: _Campaign, since: dt.date, until: dt.date, now: dt.datetime) -> list[DailyMetrics]:
        first = max(since, campaign.start.date())
        last = min(until, campaign.stop.date(), now.date())
        rows = []
        day = first
        while day <= last:
            row = self._row(campaign, day, now)
            if row is not None:
                rows.append(row)
            day += _DAY
        return rows

    def _row(self, campaign: _Campaign, day: dt.date, now: dt.datetime) -> DailyMetrics | None:
        day_start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        begin = max(day_start, campaign.start)
        end = min(day_start + _DAY, campaign.stop, now)
        if end <= begin or self._paused_on(campaign, day):
            return None
        # The share of the day's delivery inside the flight and before now: what makes today's row grow.
        share = _weight_until((end - day_start) // _SECOND) - _weight_until((begin - day_start) // _SECOND)
        # Every draw is made whatever the share, so a day's figures never depend on when they are asked for.
        rng = _rng(self._key, "day", campaign.index, day.isoformat())
        (cpm_low, cpm_high), (ctr_low, ctr_high) = _DELIVERY[campaign.program.objective]
        noise = rng.randrange(8_500, 11_501)
        cpm_cents = rng.randrange(cpm_low, cpm_high)
        ctr_pcm = rng.randrange(ctr_low, ctr_high)
        conversion_bp = rng.randrange(*campaign.program.conversion_bp)
        reach_bp = rng.randrange(5_500, 8_001)
        link_bp = rng.randrange(7_000, 8_501)
        engagement_bp = rng.randrange(100, 400)
        view_bp = rng.randrange(1_500, 3_001)
        issue_bp = rng.randrange(3_500, 6_001) if self._issue_on(campaign, day) else _FULL
        weekend_bp = campaign.program.weekend_bp if day.weekday() >= 5 else _FULL
        factors = campaign.pace_bp * noise * weekend_bp * issue_bp * self._slump_bp(campaign, day)
        spend_cents = campaign.day_budget_cents * factors * share // (_FULL**5 * _DAY_WEIGHT)
        impressions = spend_cents * 1000 // cpm_cents
        if impressions == 0:  # no delivery, no row (as both platforms answer)
            return None
        clicks = impressions * ctr_pcm // 100_000
        if self.platform == "meta":
            reach = impressions * reach_bp // _FULL
            raw, conversions = self._meta_raw(
                campaign, day, spend_cents, impressions, reach, clicks, conversion_bp, link_bp, engagement_bp, view_bp
            )
        else:
            reach = None
            raw, conversions = self._google_raw(campaign, day, spend_cents, impressions, clicks, conversion_bp)
        return DailyMetrics(
            platform=self.platform,
            external_id=campaign.external_id,
            date=day,
            impressions=impressions,
            reach=reach,
            clicks=clicks,
            spend=_cents(spend_cents),
            conversions=conversions,
            raw=raw,
        )

    def _meta_raw(
        self,
        campaign: _Campaign,
        day: dt.date,
        spend_cents: int,
        impressions: int,
        reach: int,
        clicks: int,
        conversion_bp: int,
        link_bp: int,
        engagement_bp: int,
        view_bp: int,
    ) -> tuple[dict[str, Any], Decimal | None]:
        """An insights row as Graph answers it (every value a string) and the conversions MetaSource reads."""
        spend = _cents(spend_cents)
        link_clicks = clicks * link_bp // _FULL
        counts = {
            "link_click": link_clicks,
            "landing_page_view": link_clicks * 7 // 10,
            "post_engagement": clicks + impressions * engagement_bp // 100_000,
            "page_engagement": clicks + impressions * engagement_bp // 100_000 + clicks // 50,
        }
        if campaign.program.objective in ("OUTCOME_AWARENESS", "OUTCOME_ENGAGEMENT"):
            counts["video_view"] = impressions * view_bp // _FULL
        kinds = _META_CONVERSIONS.get(campaign.program.objective, ())
        converted = link_clicks * conversion_bp // _FULL if kinds else 0
        counts.update(dict.fromkeys(kinds, converted))
        actions = [{"action_type": kind, "value": str(value)} for kind, value in counts.items() if value > 0]
        raw: dict[str, Any] = {
            "campaign_id": campaign.external_id,
            "date_start": day.isoformat(),
            "date_stop": day.isoformat(),
            "impressions": str(impressions),
            "reach": str(reach),
            "clicks": str(clicks),
            "spend": str(spend),
            "ctr": _ratio(clicks * 100, impressions),
            "cpm": _ratio(spend * 1000, impressions),
        }
        if clicks:
            raw["cpc"] = _ratio(spend, clicks)
        if not actions:  # Graph leaves the field out when nothing happened: MetaSource then reads None
            return raw, None
        raw["actions"] = actions
        return raw, Decimal(converted if kinds else 0)

    def _google_raw(
        self, campaign: _Campaign, day: dt.date, spend_cents: int, impressions: int, clicks: int, conversion_bp: int
    ) -> tuple[dict[str, Any], Decimal]:
        """A searchStream result as the live connector holds it (int64 as strings, doubles parsed as Decimal)."""
        cost_micros = spend_cents * 10_000
        conversions = Decimal(clicks * conversion_bp // 100) / 100  # hundredths: attribution splits conversions
        metrics: dict[str, Any] = {
            "clicks": str(clicks),
            "conversions": conversions,
            "costMicros": str(cost_micros),
            "ctr": (Decimal(clicks) / impressions).quantize(Decimal("1e-16")),  # a double's digits
            "impressions": str(impressions),
        }
        if clicks:
            metrics["averageCpc"] = (Decimal(cost_micros) / clicks).quantize(Decimal("0.000001"))
        budget: dict[str, Any] = {
            "resourceName": f"customers/{self.account_id}/campaignBudgets/9{campaign.external_id}"
        }
        if campaign.lifetime_budget_cents is not None:
            budget["totalAmountMicros"] = str(campaign.lifetime_budget_cents * 10_000)
        else:
            budget["amountMicros"] = str(campaign.day_budget_cents * 10_000)
        raw = {
            "campaign": {
                "resourceName": f"customers/{self.account_id}/campaigns/{campaign.external_id}",
                "status": "ENABLED",  # as on the day: a campaign paused on a day has no row for it
                "name": campaign.name,
                "id": campaign.external_id,
            },
            "metrics": metrics,
            "campaignBudget": budget,
            "segments": {"date": day.isoformat()},
        }
        return raw, conversions
