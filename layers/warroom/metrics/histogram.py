"""The latency histogram of the rollups: fixed log-spaced buckets, so histograms of any period add up.

Example
-------
>>> bucket_of(0), bucket_of(15), bucket_of(16), bucket_of(250)
(0, 15, 16, 47)
>>> percentiles({0: 0, 5: 2, 47: 1}, [0.5], minimum=5, maximum=251)   # bucket -> count
{0.5: 5.0}

Precision. ``response_time_ms`` is a whole number of milliseconds. ``BOUNDS`` are the buckets' lower
bounds, as PostgreSQL's ``width_bucket(value, BOUNDS)`` numbers them: bucket 0 holds 0 ms, buckets 1-15
one millisecond each (exact), then each bucket is about 2^(1/8) = 1.09 times as wide as the last, up to
60,097 ms; the last bucket holds everything slower. A percentile is computed as ``percentile_cont`` does
(the values at ranks floor(p(n-1)) and the next, interpolated), each value read as the middle of its
bucket and clamped to the period's observed minimum and maximum: so it is exact below 16 ms and within
:data:`RELATIVE_ERROR` (4.53 %) of the exact ``percentile_cont`` above, and the slowest bucket reads as the
maximum. Stored rollups are numbered by these bounds: never change them without rebuilding the rollups.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping


def _bounds(ratio: float = 2 ** (1 / 8), exact_below: int = 16, top: int = 60_000) -> tuple[int, ...]:
    bounds = list(range(1, exact_below + 1))
    value = float(exact_below)
    while bounds[-1] < top:
        value *= ratio
        if round(value) > bounds[-1]:
            bounds.append(round(value))
    return tuple(bounds)


BOUNDS: tuple[int, ...] = _bounds()
BUCKETS = len(BOUNDS) + 1


def bucket_range(bucket: int) -> tuple[int, int | None]:
    """The whole milliseconds bucket ``bucket`` holds: ``(first, last)``, ``last`` None for the open top one."""
    first = 0 if bucket == 0 else BOUNDS[bucket - 1]
    return first, (BOUNDS[bucket] - 1 if bucket < len(BOUNDS) else None)


def _half_width_share(bucket: int) -> float:
    first, last = bucket_range(bucket)
    return 0.0 if last is None or first == 0 else (last - first) / 2 / first


RELATIVE_ERROR: float = max(_half_width_share(b) for b in range(BUCKETS))


def bucket_of(value_ms: int) -> int:
    """The bucket of a response time (``width_bucket(value, BOUNDS)``)."""
    return bisect.bisect_right(BOUNDS, value_ms)


def _representative(bucket: int, minimum: float, maximum: float) -> float:
    first, last = bucket_range(bucket)
    value = maximum if last is None else (first + last) / 2
    return min(max(value, minimum), maximum)


def percentiles(
    histogram: Mapping[int, int], quantiles: Iterable[float], *, minimum: float, maximum: float
) -> dict[float, float | None]:
    """Each quantile (0-1) of the counts per bucket, as ``percentile_cont`` over the raw values would give it
    within the bucket precision; None for each when the histogram is empty."""
    cells = sorted((bucket, count) for bucket, count in histogram.items() if count > 0)
    total = sum(count for _, count in cells)
    wanted = list(quantiles)
    if total == 0:
        return dict.fromkeys(wanted)
    cumulative: list[int] = []
    running = 0
    for _, count in cells:
        running += count
        cumulative.append(running)

    def at_rank(rank: int) -> float:  # 0-based rank in the sorted values
        return _representative(cells[bisect.bisect_right(cumulative, rank)][0], minimum, maximum)

    answer: dict[float, float | None] = {}
    for quantile in wanted:
        position = quantile * (total - 1)
        low = math.floor(position)
        value = at_rank(low)
        if position > low:
            value += (position - low) * (at_rank(low + 1) - value)
        answer[quantile] = value
    return answer
