"""What every benchmark prints its figures with: nearest-rank percentiles and an aligned report."""

from __future__ import annotations


def percentile(samples: list[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` 0-1) of ``samples``."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def ms(samples: list[float], fraction: float) -> float:
    """:func:`percentile` of seconds, in milliseconds."""
    return percentile(samples, fraction) * 1000


def report(title: str, rows: list[tuple[str, str]]) -> None:
    """Print ``rows`` as an aligned two-column table under ``title``."""
    width = max((len(name) for name, _ in rows), default=0)
    print(f"\n{title}")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
