"""Overlapping bursts in real PostgreSQL: k topic crises a few seconds apart, at every hour of the day, open
exactly k topic alerts -- their channels and the campaign are the same bursts seen from further away -- while a
channel's own burst next to them still opens its own alert.

Each case back-fills the history the detector reads (two days and two hours of mock mentions) ending at its clock
offset, so night cases have night volumes (5-10x lower), then simulates the crises through the real ingest and
detection, then runs the 5-minute scan.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest

from warroom.crisis.detection import detect_crises
from warroom.mentions.sources.mock import TOPICS, MockSource
from warroom.mentions.sync import sync_mentions
from warroom.pipelines.listening import ingest_then_detect
from warroom.pipelines.simulate import CRISIS_MIX, simulate

DAY = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
KS = (1, 2, 3, 6, 12)
# Every hour of the day, each k at about five different hours (k rotates with the hour).
CASES = [(hour, KS[hour % len(KS)]) for hour in range(24)]


def backfill(now: dt.datetime) -> None:
    """The detector's history: the same time of day on the two previous days, and today's level."""
    since = now - dt.timedelta(days=2, hours=2)
    sync_mentions(MockSource(), now=now, since=since, max_pages=10_000, stream=False)


def open_alerts(db) -> list[dict]:
    return db.execute(
        "SELECT subject_dimension, subject_value, title, metadata FROM crisis_events"
        " WHERE kind = 'detected' AND status <> 'resolved' ORDER BY subject_dimension, subject_value"
    ).fetchall()


@pytest.mark.parametrize(("hour", "k"), CASES, ids=[f"{hour:02d}h-k{k}" for hour, k in CASES])
def test_k_simultaneous_topic_crises_open_exactly_k_topic_alerts(services, db, hour, k):
    now = DAY + dt.timedelta(hours=hour, minutes=5)
    backfill(now)
    topics = random.Random(hour).sample(sorted(TOPICS), k)
    for n, topic in enumerate(topics):  # a few seconds apart, as staff would see them on a busy evening
        simulate("crisis", topic=topic, now=now + dt.timedelta(seconds=3 * n))
    detect_crises(now + dt.timedelta(minutes=1), trigger="schedule")

    alerts = open_alerts(db)
    assert [(a["subject_dimension"], a["subject_value"]) for a in alerts] == [("topic", t) for t in sorted(topics)]
    assert all(f"topic '{a['subject_value']}'" in a["title"] for a in alerts)


@pytest.mark.parametrize("hour", [3, 22])
def test_a_channel_only_burst_next_to_a_topic_crisis_opens_its_own_alert(services, db, hour):
    now = DAY + dt.timedelta(hours=hour, minutes=5)
    backfill(now)
    simulate("crisis", topic="economy", now=now)
    # a burst on reddit about nothing the topics know (no topic, no keyword): the channel's own crisis
    rng = random.Random(hour)
    times = sorted(now - dt.timedelta(minutes=20 * (1 - rng.random() ** 0.5)) for _ in range(90))
    burst = [
        m.model_copy(update={"source": "reddit", "topics": [], "keywords": []})
        for m in MockSource().scripted(f"reddit-{hour}", times, "economy", CRISIS_MIX)
    ]
    ingest_then_detect(burst, trigger="simulation", now=now + dt.timedelta(seconds=5))

    alerts = {(a["subject_dimension"], a["subject_value"]): a for a in open_alerts(db)}
    assert ("topic", "economy") in alerts and ("source", "reddit") in alerts
    reddit = alerts[("source", "reddit")]
    assert "reddit" in reddit["title"]
    attribution = reddit["metadata"]["attribution"]
    assert attribution["explained_by"] == [{"dimension": "topic", "value": "economy"}]
    assert attribution["residual"] > attribution["explained"]  # most of the burst is the channel's own
    assert ("all", "") not in alerts  # the campaign's surge is the two crises together
