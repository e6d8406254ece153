"""The mention generation counter: every ingest that adds mentions bumps it, and answers cached from the
rollups are keyed by it, so a cached aggregate never hides new mentions."""

from __future__ import annotations

from warroom.core import cache

GENERATION_KEY = "mentions:generation"


def bump_generation() -> None:
    """New data: answers cached from the rollups (keyed by this counter) are not served again."""
    cache.run("incr", lambda r: r.incr(GENERATION_KEY))


def current_generation() -> str:
    """The counter as a cache-key part ("0" before the first ingest, or while Redis is down)."""
    return str(cache.run("get", lambda r: r.get(GENERATION_KEY)) or "0")
