"""Attribution by explained excess: is a broader subject's surge its own, or the open crises it contains?

Example
-------
>>> attribution = attribute(finding, residual_buckets, params, evaluate_from=since, stale_before=stale)
>>> attribution.own            # None: the channel's surge is the topic crises seen from further away
>>> attribution.explained      # how many of the window's mentions the crises account for

When a channel or the whole campaign surges while crises are open on subjects inside it (a topic's mentions
inside a channel, keywords inside a topic, everything inside the campaign), the surge is judged again with
those subjects' mentions taken out -- from the window and from the history the baseline is made of, so both
sides are measured the same way. ``residual`` is that series. Only if what is left still meets the detector's
rules on its own is the surge a crisis of its own (``own``: the finding on what is left); otherwise it is
explained, whatever the number of crises that share it, the order they arrived in or the hour (at night a
small topic burst moves its channel and the campaign much more, and is taken out just the same).

Pure: the series come from :func:`warroom.mentions.subjects.residual_series`; nothing here reads a clock or
a database, so it is tested on synthetic series (``tests/unit/test_crisis_attribution.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from warroom.crisis.detector import Bucket, DetectorParams, Finding, detect


@dataclass(frozen=True)
class Attribution:
    """``own``: the finding on what is left once the claimed subjects are out (None: fully explained).
    ``observed`` / ``excess``: the subject's mentions in the window at its peak and their excess over expected;
    ``explained``: how many of them the claimed subjects account for; ``residual``: those left."""

    own: Finding | None
    observed: int
    excess: float
    explained: int
    residual: int


def _overlaps(a: Finding, b: Finding) -> bool:
    return a.start < b.end and b.start < a.end


def _window_sum(buckets: Sequence[Bucket], start: dt.datetime, end: dt.datetime) -> int:
    return sum(b.total for b in buckets if start <= b.start < end)


def attribute(
    finding: Finding,
    residual: Sequence[Bucket],
    params: DetectorParams,
    *,
    evaluate_from: dt.datetime | None = None,
    last_bucket_fraction: float = 1.0,
    stale_before: dt.datetime | None = None,
) -> Attribution:
    """Judge ``finding`` (on a broader subject) against its ``residual`` series (see the module docstring)."""
    left = [
        f
        for f in detect(residual, params, evaluate_from=evaluate_from, last_bucket_fraction=last_bucket_fraction)
        if _overlaps(f, finding) and (stale_before is None or f.end > stale_before)
    ]
    own = max(left, key=lambda f: (f.severity, f.score), default=None)
    # The finding's figures are those of the window that ends with its peak bucket.
    width = dt.timedelta(minutes=params.bucket_minutes)
    window_start = finding.peak + width - dt.timedelta(minutes=params.window_minutes)
    remaining = min(_window_sum(residual, window_start, finding.peak + width), finding.observed)
    return Attribution(
        own=own,
        observed=finding.observed,
        excess=max(finding.observed - finding.baseline, 0.0),
        explained=max(finding.observed - remaining, 0),
        residual=remaining,
    )
