"""Attribution by explained excess on synthetic series: a broader subject's surge that open crises inside it
explain is not a crisis of its own, at any hour and whatever the number of crises; an excess they do not
explain still is."""

from __future__ import annotations

import datetime as dt
import math
import random

import pytest

from warroom.crisis.attribution import attribute
from warroom.crisis.detector import DEFAULT_PARAMS, Bucket, detect

WIDTH = dt.timedelta(minutes=DEFAULT_PARAMS.bucket_minutes)
EVENING = dt.datetime(2026, 11, 20, 22, 5, tzinfo=dt.UTC)
HISTORY = dt.timedelta(days=2, hours=2)
JUDGED = dt.timedelta(minutes=35)  # the evaluated window: the 20-minute burst and the window before it


def background(scale: float, seed: int, end: dt.datetime = EVENING) -> list[list[int]]:
    """[total, negative, strongly negative] per bucket: a day-night rhythm (night 5-10x lower), 25 % negative."""
    rng = random.Random(seed)
    series = []
    moment = end - HISTORY
    while moment < end:
        hour = moment.hour + moment.minute / 60
        rate = scale * (0.55 + 0.45 * math.cos((hour - 18) / 24 * 2 * math.pi)) ** 2 + 0.05 * scale
        total = sum(1 for _ in range(60) if rng.random() < rate / 60)
        negative = sum(1 for _ in range(total) if rng.random() < 0.25)
        series.append([total, negative, sum(1 for _ in range(negative) if rng.random() < 0.2)])
        moment += WIDTH
    return series


def burst(size: int, seed: int) -> list[list[int]]:
    """A crisis in the last 20 minutes: ``size`` mentions, rising, 80 % negative."""
    rng = random.Random(seed)
    counts = [0, 0, 0, 0]
    for _ in range(size):
        counts[min(3, int(4 * (1 - rng.random() ** 0.5)))] += 1
    length = HISTORY // WIDTH
    out = [[0, 0, 0] for _ in range(length)]
    for k, n in enumerate(counts):
        out[length - 4 + k] = [n, int(n * 0.8), int(n * 0.35)]
    return out


def add(*series: list[list[int]]) -> list[list[int]]:
    return [[sum(cells) for cells in zip(*rows, strict=True)] for rows in zip(*series, strict=True)]


def buckets(series: list[list[int]], end: dt.datetime = EVENING) -> list[Bucket]:
    return [Bucket(end - HISTORY + WIDTH * k, *row) for k, row in enumerate(series)]


def finding_of(series: list[list[int]], end: dt.datetime = EVENING):
    found = detect(buckets(series, end), evaluate_from=end - JUDGED)
    assert found, "the broader subject surges"
    return found[-1]


@pytest.mark.parametrize("k", [1, 2, 3, 6, 12])
@pytest.mark.parametrize("hour_shift", [0, 6, 12, 18])
def test_a_surge_made_of_the_open_crises_inside_it_is_explained(k, hour_shift):
    end = EVENING + dt.timedelta(hours=hour_shift)  # the same shapes at another time of day
    base = background(scale=6.0, seed=k, end=end)
    crises = [burst(80, seed=100 + n) for n in range(k)]
    finding = finding_of(add(base, *crises), end)
    # the crises' subjects taken out of the window and the history: the campaign's own series is what is left
    explained = attribute(finding, buckets(base, end), DEFAULT_PARAMS, evaluate_from=end - JUDGED)
    assert explained.own is None
    assert explained.explained > 0 and explained.residual < explained.observed


def test_an_excess_the_crises_do_not_explain_is_a_crisis_of_its_own():
    base = background(scale=6.0, seed=7)
    topic_crisis, channel_burst = burst(80, seed=1), burst(90, seed=2)
    channel = add(base, topic_crisis, channel_burst)
    left = buckets(add(base, channel_burst))
    result = attribute(finding_of(channel), left, DEFAULT_PARAMS, evaluate_from=EVENING - JUDGED)
    assert result.own is not None and result.own.observed > 0
    assert result.residual > result.explained


def test_a_finished_burst_in_what_is_left_does_not_count_once_stale():
    base = background(scale=6.0, seed=3)
    channel_burst = burst(90, seed=4)
    channel = add(base, channel_burst)
    finding = finding_of(channel)
    result = attribute(finding, buckets(channel), DEFAULT_PARAMS, stale_before=EVENING + dt.timedelta(hours=1))
    assert result.own is None and result.explained == 0
