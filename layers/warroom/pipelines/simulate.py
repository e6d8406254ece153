"""MOCK-only scenarios pushed through the real pipeline, so a frontend developer can watch the whole chain.

Example
-------
>>> simulate("crisis", topic="healthcare")      # POST /api/v1/admin/simulate (admin, MOCK only)
{'scenario': 'crisis', 'inserted': 96, 'opened': ['6f1c...'], ...}

Each scenario writes mock mentions of one topic (the mock source's authors, places and texts, with a
scenario-specific sentiment mix) and hands them to :func:`warroom.pipelines.listening.ingest_then_detect` -- the
same COPY, rollups and ``dashboard:mention-stream`` as every sync, then crisis detection on their window,
exactly as every sync does. Sizes scale with the topic's own recent volume so the burst stands out on a busy
campaign as well as on a quiet one:

* ``crisis``: about 6x the topic's usual volume over the last 20 minutes, still rising, 80 % negative (35 %
  strongly): ``crisis:detected`` within seconds of the ingest.
* ``viral-positive``: the same surge, 85 % positive: streamed, charted, and no alert.
* ``slow-burn``: the last 4 hours, volume rising from the usual level to 4x and the negative share from
  25 % to 75 %: the detector catches it on ingest (its window covers the whole burn).
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

from warroom.core.data_mode import read_data_mode_durably
from warroom.core.db import connection
from warroom.core.errors import Conflict, ValidationFailed
from warroom.crisis.models import Scenario
from warroom.mentions.rollups import floor_minute, window_totals
from warroom.mentions.sources.mock import TOPICS, MockSource
from warroom.pipelines.listening import ingest_then_detect

DEFAULT_TOPIC = "healthcare"
CRISIS_MIX = [("positive", 0.05), ("neutral", 0.15), ("negative", 0.45), ("strongly_negative", 0.35)]
POSITIVE_MIX = [("positive", 0.85), ("neutral", 0.12), ("negative", 0.03), ("strongly_negative", 0.0)]


def _usual_per_minute(topic: str, now: dt.datetime) -> float:
    """The topic's mentions per minute over the last 24 hours, from the rollups."""
    end = floor_minute(now)
    with connection() as conn:
        totals = window_totals(conn, "topic", end - dt.timedelta(hours=24), end).get(topic)
    return (totals.mentions if totals else 0) / (24 * 60)


def _surge_times(rng: random.Random, now: dt.datetime, count: int, minutes: float) -> list[dt.datetime]:
    """``count`` moments in the last ``minutes``, denser towards now (a burst that is still growing)."""
    return sorted(now - dt.timedelta(minutes=minutes * (1 - rng.random() ** 0.5)) for _ in range(count))


def _burn(rng: random.Random, now: dt.datetime, per_minute: float) -> list[tuple[dt.datetime, float]]:
    """(moment, share of negativity) over 4 hours, the rate rising linearly from 1x to 4x the usual."""
    moments = []
    for minute in range(240):
        progress = minute / 239
        rate = per_minute * (1 + 3 * progress)
        for _ in range(rng.choices([int(rate), int(rate) + 1], [1 - rate % 1, rate % 1])[0]):
            moment = now - dt.timedelta(minutes=240 - minute - rng.random())
            moments.append((moment, 0.25 + 0.5 * progress))
    return moments


def simulate(scenario: Scenario, topic: str | None = None, now: dt.datetime | None = None) -> dict[str, Any]:
    """Ingest the scenario through the real pipeline and run detection on its window (MOCK mode only: 409)."""
    topic = topic or DEFAULT_TOPIC
    if topic not in TOPICS:
        raise ValidationFailed(
            f"Unknown topic '{topic}'.",
            details=[{"loc": ["body", "topic"], "msg": f"one of {', '.join(TOPICS)}", "type": "enum"}],
        )
    if read_data_mode_durably() != "MOCK":  # the row, not a cached copy: LIVE data must never get fakes
        raise Conflict("Scenarios can only be simulated in MOCK mode: LIVE data is real.")
    now = now or dt.datetime.now(dt.UTC)
    label = f"{scenario}-{uuid.uuid4().hex[:12]}"
    rng = random.Random(label)  # noqa: S311  (variety, not secrecy)
    usual = max(_usual_per_minute(topic, now), 0.5)
    source = MockSource()
    if scenario == "slow-burn":
        mentions = []
        for n, (moment, negative_share) in enumerate(_burn(rng, now, usual)):
            mix = [
                ("positive", (1 - negative_share) * 0.45),
                ("neutral", (1 - negative_share) * 0.55),
                ("negative", negative_share * 0.7),
                ("strongly_negative", negative_share * 0.3),
            ]
            mentions += source.scripted(f"{label}-{n}", [moment], topic, mix)
    else:
        count = max(80, int(usual * 20 * 6))
        mix = CRISIS_MIX if scenario == "crisis" else POSITIVE_MIX
        mentions = source.scripted(label, _surge_times(rng, now, count, 20), topic, mix)
    result, outcome = ingest_then_detect(mentions, trigger="simulation", now=now)
    return {
        "scenario": scenario,
        "topic": topic,
        "fetched": result.fetched,
        "inserted": result.inserted,
        "window_start": result.window_start,
        "window_end": result.window_end,
        "opened": outcome.opened,
        "updated": outcome.updated,
    }
