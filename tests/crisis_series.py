"""Seeded synthetic mention series with known, labelled events: the crisis detector's test bench.

Example
-------
>>> series = generate(seed=7, per_minute=3.0)             # 3 warm-up days + 1 labelled week, 5-min buckets
>>> len(series.buckets), series.evaluate_from, [e.kind for e in series.events][:3]
(2880, datetime.datetime(2026, 3, 5, 0, 0, tzinfo=datetime.timezone.utc), ['blip', 'crisis', 'news_cycle'])

What normal traffic looks like (per bucket, Poisson draws of three independent parts: not negative,
negative but not strongly, strongly negative):

* ``per_minute`` mentions a minute on average: a busy campaign ~3, a channel ~0.8, a small keyword ~0.2;
* a daily rhythm: a log-cosine with a random peak around 20:00 UTC-5 and a night 5-10x quieter than the
  peak, with a random second harmonic so mornings and evenings are not mirror images;
* day-to-day level changes (log-normal, sd 0.15, interpolated so they move smoothly) and hour-to-hour
  over-dispersion (an AR(1) on the log rate, sd ~0.17): real traffic is noisier than Poisson;
* a negative share of 0.18-0.32 (random per series) drifting by the hour (an AR(1), sd ~0.035), a fifth of
  it strongly negative (the mock source's 25 % / 5 %).

Events (only in the labelled weeks, never in the warm-up, at least 3 h of normal traffic around each):

========================  =====================================================================  ======
kind                      shape                                                                  alarm
========================  =====================================================================  ======
``crisis``                volume x3..x10 for 20-120 min, the extra 60-90 % negative (30 % strongly) yes
``slow_burn``             extra volume rising linearly over 2-6 h to x3..x6, its negative share     yes
                          rising from the normal one to 60-90 %; 30 min at the top
``strongly_negative``     15-30 extra mentions < -0.8 within 15 min over normal volume              yes
``viral_positive``        volume x3..x8 for 20-60 min, the extra 3 % negative                       no
``blip``                  one bucket x3..x6 (a single viral post), the normal negative share        no
``news_cycle``            a topic heating up: x2..x3 over 3-8 h (bell-shaped), the normal share     no
========================  =====================================================================  ======

A crisis, a slow burn's top, a viral burst and a blip are at least :data:`EVENT_FLOOR_PER_MINUTE` mentions a
minute in all (a crisis of a small keyword at 4 am would otherwise be two mentions: below any minimum volume,
and not a crisis by the detector's definition; a blip would be invisible).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from warroom.crisis.detector import Bucket

START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)  # a Monday
LOCAL_OFFSET_H = -5  # the campaign's time zone (the mock source's)
EVENT_FLOOR_PER_MINUTE = 1.0
SHOULD_ALARM = {"crisis": True, "slow_burn": True, "strongly_negative": True}
# Events per labelled week: about one a day (a subject with a crisis every day is already a bad campaign; the
# baselines then hold several events in their 48 hours, which is the point).
WEEKLY_EVENTS = {"crisis": 2, "slow_burn": 1, "strongly_negative": 1, "viral_positive": 1, "blip": 1, "news_cycle": 1}
QUIET_AROUND = dt.timedelta(hours=3)
MINUTES_PER_DAY = 1440
Curve = Callable[[float, float], float]


@dataclass(frozen=True)
class Event:
    kind: str
    start: dt.datetime
    end: dt.datetime
    should_alarm: bool


@dataclass(frozen=True)
class Series:
    buckets: list[Bucket]
    events: list[Event]
    evaluate_from: dt.datetime  # end of the warm-up (no events before it)
    per_minute: float
    bucket_minutes: int


@dataclass
class _Extra:
    """Traffic an event adds to one bucket: mentions, their negative share, the strongly negative part of it."""

    mentions: float = 0.0
    negative: float = 0.0
    strongly: float = 0.0

    def add(self, mentions: float, negative_share: float, strongly_of_negative: float) -> None:
        self.mentions += mentions
        self.negative += mentions * negative_share
        self.strongly += mentions * negative_share * strongly_of_negative


def poisson(rng: random.Random, mean: float) -> int:
    """Exact Poisson draw (Knuth, in chunks so exp() never underflows)."""
    count = 0
    while mean > 0:
        chunk = min(mean, 30.0)
        mean -= chunk
        limit, product = math.exp(-chunk), rng.random()
        while product > limit:
            count += 1
            product *= rng.random()
    return count


class _Rhythm:
    """Relative volume (mean 1) by minute of the series: daily shape x day level x hourly noise."""

    def __init__(self, rng: random.Random, days: int) -> None:
        night_ratio = rng.uniform(5, 10)
        self.amplitude = math.log(night_ratio) / 2
        self.peak_h = rng.uniform(19, 21.5)
        self.harmonic = rng.uniform(0, 0.25), rng.uniform(0, 2 * math.pi)
        grid = [self._shape(m / 12) for m in range(24 * 12)]
        self.norm = sum(grid) / len(grid)
        self.day_levels = [math.exp(rng.gauss(0, 0.15)) for _ in range(days + 2)]
        noise, hourly = 0.0, []
        for _ in range(24 * (days + 2)):
            noise = 0.8 * noise + rng.gauss(0, 0.1)
            hourly.append(noise)
        self.hourly = hourly

    def _shape(self, local_hour: float) -> float:
        angle = 2 * math.pi * (local_hour - self.peak_h) / 24
        size, phase = self.harmonic
        return math.exp(self.amplitude * math.cos(angle) + size * math.cos(2 * angle + phase))

    def factor(self, minute: float) -> float:
        local_hour = (minute / 60 + LOCAL_OFFSET_H) % 24
        day = minute / MINUTES_PER_DAY + 0.5  # day levels sit at noon, cosine-interpolated between
        k, t = int(day), day - int(day)
        weight = (1 - math.cos(math.pi * t)) / 2
        level = self.day_levels[k] * (1 - weight) + self.day_levels[k + 1] * weight
        h = minute / 60
        hk, ht = int(h), h - int(h)
        noise = self.hourly[hk] * (1 - ht) + self.hourly[hk + 1] * ht
        return self._shape(local_hour) / self.norm * level * math.exp(noise)


def _draw(rng: random.Random, kind: str, bucket_minutes: int) -> tuple[float, float, float]:
    """(minutes, size, negative share of the extra traffic) of one event."""
    if kind == "crisis":
        return rng.uniform(20, 120), rng.uniform(3, 10), rng.uniform(0.6, 0.9)
    if kind == "slow_burn":  # minutes: the ramp, then 30 at the top
        return rng.uniform(120, 360) + 30, rng.uniform(3, 6), rng.uniform(0.6, 0.9)
    if kind == "strongly_negative":  # size: extra mentions < -0.8 in the 15 minutes
        return 15, rng.randint(15, 30), 1.0
    if kind == "viral_positive":
        return rng.uniform(20, 60), rng.uniform(3, 8), 0.03
    if kind == "blip":
        return bucket_minutes, rng.uniform(3, 6), -1.0  # -1: the normal share
    return rng.uniform(180, 480), rng.uniform(2, 3), -1.0  # news_cycle


def _place(rng: random.Random, minutes: list[float], first: float, last: float) -> list[float]:
    """Start minutes: one event per equal slot of [first, last), at a random place in it, with quiet around."""
    slot = (last - first) / len(minutes)
    quiet = QUIET_AROUND.total_seconds() / 60 / 2
    return [
        first + k * slot + quiet + rng.uniform(0, max(0.0, slot - length - 2 * quiet))
        for k, length in enumerate(minutes)
    ]


def generate(
    seed: int,
    per_minute: float,
    *,
    weeks: int = 1,
    warmup_days: int = 3,
    bucket_minutes: int = 5,
    events: dict[str, int] | None = None,
    negative_share: float | None = None,
    strongly_of_negative: float = 0.2,
    start: dt.datetime = START,
) -> Series:
    """``warmup_days`` of normal traffic then ``weeks`` with labelled events, in buckets of ``bucket_minutes``.

    ``events``: how many of each kind in the whole labelled span (default :data:`WEEKLY_EVENTS` a week);
    ``negative_share``: the normal share (default random in 0.18-0.32); ``strongly_of_negative``: the part of
    the negative mentions that is strongly negative.
    """
    rng = random.Random(f"crisis-series:{seed}:{per_minute}")
    days = warmup_days + 7 * weeks
    rhythm = _Rhythm(rng, days)
    count = days * MINUTES_PER_DAY // bucket_minutes
    base_share = rng.uniform(0.18, 0.32) if negative_share is None else negative_share
    share_noise, share_drift = 0.0, []
    for _ in range(24 * days + 2):
        share_noise = 0.9 * share_noise + rng.gauss(0, 0.015)
        share_drift.append(share_noise)

    def rate(minute: float) -> float:
        return per_minute * rhythm.factor(minute)

    counts = {kind: n * weeks for kind, n in WEEKLY_EVENTS.items()} if events is None else events
    kinds = [kind for kind, n in counts.items() for _ in range(n)]
    rng.shuffle(kinds)
    drawn = [_draw(rng, kind, bucket_minutes) for kind in kinds]
    warmup_end = warmup_days * MINUTES_PER_DAY
    starts = _place(rng, [d[0] for d in drawn], warmup_end, days * MINUTES_PER_DAY) if kinds else []
    extras = [_Extra() for _ in range(count)]
    labelled: list[Event] = []

    def add(begin: float, minutes: float, mentions_at: Curve, share_at: Curve, strongly: float) -> None:
        """Add an event's traffic minute by minute; the curves take (absolute minute, progress in [0, 1])."""
        for m in range(round(minutes)):
            minute = begin + m
            k = int(minute // bucket_minutes)
            if k < count:
                progress = m / max(minutes - 1, 1)
                extras[k].add(mentions_at(minute, progress), share_at(minute, progress), strongly)

    def surge(size: float) -> Curve:
        """Extra traffic making the total ``size`` x the normal rate, and at least the event floor."""
        return lambda minute, _: max((size - 1) * rate(minute), EVENT_FLOOR_PER_MINUTE - rate(minute), 0.0)

    def constant(value: float) -> Curve:
        return lambda _minute, _progress: value

    for kind, begin, (minutes, size, share) in zip(kinds, starts, drawn, strict=True):
        if kind == "crisis":
            add(begin, minutes, surge(size), constant(share), 0.3)
        elif kind == "slow_burn":
            ramp, top = minutes - 30, surge(size)(begin + minutes - 30, 1.0)
            add(
                begin,
                minutes,
                lambda minute, _, b=begin, r=ramp, t=top: t * min(1.0, (minute - b) / r),
                lambda minute, _, b=begin, r=ramp, s=share: base_share + (s - base_share) * min(1.0, (minute - b) / r),
                0.3,
            )
        elif kind == "strongly_negative":
            add(begin, minutes, constant(size / minutes), constant(1.0), 1.0)
        elif kind == "viral_positive":
            add(begin, minutes, surge(size), constant(share), 0.0)
        elif kind == "blip":
            begin = begin // bucket_minutes * bucket_minutes
            add(begin, minutes, surge(size), constant(base_share), strongly_of_negative)
        else:  # news_cycle
            add(
                begin,
                minutes,
                lambda minute, progress, s=size: (s - 1) * rate(minute) * math.sin(math.pi * progress) ** 2,
                constant(base_share),
                strongly_of_negative,
            )
        labelled.append(
            Event(
                kind,
                start + dt.timedelta(minutes=begin),
                start + dt.timedelta(minutes=begin + minutes),
                SHOULD_ALARM.get(kind, False),
            )
        )

    buckets = []
    for k in range(count):
        minute = k * bucket_minutes + bucket_minutes / 2
        mean = rate(minute) * bucket_minutes
        share = min(0.95, max(0.02, base_share + share_drift[int(minute // 60)]))
        extra = extras[k]
        negative_mean = mean * share + extra.negative
        strongly_mean = mean * share * strongly_of_negative + extra.strongly
        other = poisson(rng, mean + extra.mentions - negative_mean)
        strongly = poisson(rng, strongly_mean)
        negative = poisson(rng, negative_mean - strongly_mean) + strongly
        buckets.append(Bucket(start + dt.timedelta(minutes=k * bucket_minutes), other + negative, negative, strongly))
    return Series(buckets, labelled, start + dt.timedelta(days=warmup_days), per_minute, bucket_minutes)
