"""The pure detector's cost (``make bench``): one 3-day busy series, against reading that series once.

Baseline, measured in the same run: one pass over the same buckets summing their counts (what any detector
must at least do). The detector's figure is the best of 15 runs; it must stay well inside a detection run's
budget per subject (5 ms at the default width), which the ratio makes comparable across machines.
"""

from __future__ import annotations

import time

from tests.crisis_series import generate
from warroom.crisis.detector import DEFAULT_PARAMS, detect

MAX_DETECT_MS = 5.0
RUNS = 15


def _best_ms(work, runs: int = RUNS) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        work()
        best = min(best, (time.perf_counter() - started) * 1000)
    return best


def test_detector_cost_against_one_pass_over_the_series() -> None:
    buckets = generate(1, 3.0, weeks=0, events={}).buckets  # 3 days of a busy campaign
    assert len(buckets) == 3 * DEFAULT_PARAMS.day_buckets
    detector_ms = _best_ms(lambda: detect(buckets))
    baseline_ms = _best_ms(lambda: sum(b.total + b.negative + b.strongly_negative for b in buckets))
    print(
        f"\ndetect() on a 3-day series ({len(buckets)} buckets): {detector_ms:.2f} ms;"
        f" one pass over it: {baseline_ms:.3f} ms; ratio {detector_ms / baseline_ms:.0f}x"
    )
    assert detector_ms < MAX_DETECT_MS
