"""Ingest, then detect: the hand-off from social listening to crisis detection.

Example
-------
>>> result, outcome = ingest_then_detect(page.mentions)         # a page of mentions from anywhere
>>> totals = sync_then_detect()                                 # the active source, from its cursor
>>> totals["inserted"], totals["detection"]["opened"]

Detection runs here on every ingest that stored something new, over the window of the new mentions, as
well as on its own 5-minute schedule (``CrisisScanFunction``), so an alert reaches the dashboards seconds
after the mentions that cause it. A failing detection is logged and never fails the ingest: the mentions
are stored, and the schedule looks again within 5 minutes.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from warroom.crisis.detection import DetectionOutcome, Trigger, detect_crises
from warroom.mentions.ingest import IngestResult, ingest_mentions
from warroom.mentions.models import MentionIn
from warroom.mentions.sources import MentionSource
from warroom.mentions.sync import sync_mentions

logger = logging.getLogger(__name__)


def detect_new_window(
    window_start: dt.datetime | None, *, trigger: Trigger = "ingest", now: dt.datetime | None = None
) -> DetectionOutcome | None:
    """Crisis detection over what an ingest added (None when it added nothing, or when detection failed)."""
    if window_start is None:
        return None
    try:
        return detect_crises(now, window_start=window_start, trigger=trigger)
    except Exception:  # logged; the 5-minute scan is the safety net
        logger.exception("crisis detection after ingest failed for the window from %s", window_start)
        return None


def ingest_then_detect(
    mentions: list[MentionIn], *, stream: bool = True, trigger: Trigger = "ingest", now: dt.datetime | None = None
) -> tuple[IngestResult, DetectionOutcome | None]:
    """Store the mentions (idempotently), then detect crises on the window of those that were new."""
    result = ingest_mentions(mentions, stream=stream)
    return result, detect_new_window(result.window_start, trigger=trigger, now=now)


def sync_then_detect(source: MentionSource | None = None, **options: Any) -> dict[str, Any]:
    """:func:`~warroom.mentions.sync.sync_mentions` (same options), then one detection over everything it added.

    The totals gain ``detection``: the detection run's outcome, or None when nothing new arrived.
    """
    totals = sync_mentions(source, **options)
    outcome = detect_new_window(totals["window_start"])
    return {**totals, "detection": outcome.as_dict() if outcome is not None else None}
