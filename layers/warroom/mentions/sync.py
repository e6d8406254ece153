"""Sync: pull the active source from its stored cursor into the ingest pipeline.

Example
-------
>>> result = sync_mentions()            # the source of the current data mode
>>> result["fetched"], result["inserted"], result["duplicates"]
(120, 118, 2)
>>> backfill_mock_history(days=7)       # `warroom dev`'s first start; a no-op once a mock cursor exists

The cursor (``ingest_cursors``, one row per provider and project) holds ``since`` -- where the next sync
starts -- and, while a window is being paged through, that window's ``until`` and the source's
``page_cursor``. It is saved after every page, in the same transaction as nothing else: a page is
ingested (committed) before the cursor moves past it, so a crash or a 429 storm re-reads at most one
page, which the unique key turns into duplicates, and loses nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from warroom.core.ingest_cursors import read_cursor, save_cursor
from warroom.core.source_status import record_source_status
from warroom.mentions.ingest import ingest_mentions
from warroom.mentions.sources import MentionSource, SourceUnavailable, source_for_mode

logger = logging.getLogger(__name__)

# Where a source with no cursor starts: the mock produces only the recent past; Mentionlytics today.
FIRST_SYNC_LOOKBACK = {"mock": dt.timedelta(minutes=5), "mentionlytics": dt.timedelta(days=1)}
BACKFILL_DAYS = 7


def _resume_point(source: MentionSource, until: dt.datetime) -> dt.datetime:
    resume = getattr(source, "resume_point", None)
    return resume(until) if resume else until


def sync_mentions(
    source: MentionSource | None = None,
    *,
    now: dt.datetime | None = None,
    since: dt.datetime | None = None,
    max_pages: int = 20,
    stream: bool = True,
) -> dict[str, Any]:
    """Fetch what is new since the cursor (at most ``max_pages`` pages) and ingest it, page by page.

    The totals carry ``window_start`` / ``window_end``: the span of the mentions that were new (None when
    none were), which :mod:`warroom.pipelines.listening` hands to crisis detection.

    Raises :class:`SourceUnavailable` (a 503 naming the cause) when the source cannot be used; what was
    ingested before the failure stays, and so does the cursor that points just past it. Either way the
    outcome is recorded for ``/health`` (:mod:`warroom.core.source_status`).
    """
    if source is None:
        from warroom.core.data_mode import get_data_mode

        source = source_for_mode(get_data_mode())
    project = getattr(source, "project", "default")
    now = now or dt.datetime.now(dt.UTC)
    stored = read_cursor(source.provider, project) or {}
    window_start = since or (
        dt.datetime.fromisoformat(stored["since"]) if "since" in stored else now - FIRST_SYNC_LOOKBACK[source.provider]
    )
    window_end = dt.datetime.fromisoformat(stored["until"]) if "until" in stored and since is None else now
    page_cursor = stored.get("page_cursor") if since is None else None
    totals: dict[str, Any] = {"provider": source.provider, "fetched": 0, "inserted": 0, "duplicates": 0, "pages": 0}
    totals.update(window_start=None, window_end=None)
    try:
        while totals["pages"] < max_pages:
            page = source.fetch(window_start, window_end, page_cursor)
            result = ingest_mentions(page.mentions, stream=stream)
            if result.window_start is not None:
                totals["window_start"] = min(filter(None, (totals["window_start"], result.window_start)))
                totals["window_end"] = max(filter(None, (totals["window_end"], result.window_end)))
            totals["pages"] += 1
            totals["fetched"] += result.fetched
            totals["inserted"] += result.inserted
            totals["duplicates"] += result.duplicates
            page_cursor = page.next_cursor
            if page_cursor is None:
                cursor = {"since": _resume_point(source, window_end).isoformat()}
                save_cursor(source.provider, project, cursor)
                break
            cursor = {"since": window_start.isoformat(), "until": window_end.isoformat(), "page_cursor": page_cursor}
            save_cursor(source.provider, project, cursor)
    except SourceUnavailable as error:
        record_source_status(source.provider, cause=error.cause, message=error.message)
        logger.error(
            "mention sync from %s failed (%s): %s; %d page(s) ingested before it",
            source.provider,
            error.cause,
            error.message,
            totals["pages"],
        )
        raise
    record_source_status(source.provider)
    totals["cursor"] = read_cursor(source.provider, project)
    logger.info("mention sync %s", totals)
    return totals


def backfill_mock_history(days: int = BACKFILL_DAYS, now: dt.datetime | None = None) -> dict[str, Any] | None:
    """Generate ``days`` of mock history once (the mock cursor marks it done), in MOCK mode only; None when
    there is nothing to do."""
    from warroom.core.data_mode import read_data_mode_durably
    from warroom.mentions.sources.mock import MockSource

    source = MockSource()
    if read_data_mode_durably() != "MOCK" or read_cursor(source.provider, "default") is not None:
        return None  # never mock data into LIVE (the row decides, not a cached copy); once only
    now = now or dt.datetime.now(dt.UTC)
    return sync_mentions(source, now=now, since=now - dt.timedelta(days=days), max_pages=10_000, stream=False)
