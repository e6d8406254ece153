"""Source sync: every 5 minutes, pull the active data mode's mention source from its cursor into ingest."""

from __future__ import annotations

from typing import Any

from warroom.core.logs import configure_logging
from warroom.mentions.sources import SourceUnavailable
from warroom.pipelines.listening import sync_then_detect

logger = configure_logging("source_sync")


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """MOCK generates the mentions since the cursor; LIVE pulls Mentionlytics since its cursor.

    A source that cannot be used (token missing or rejected, vendor down) is logged as an error naming the
    cause and reported in the result rather than raised: the next tick retries, and nothing is lost.
    """
    try:
        return sync_then_detect()
    except SourceUnavailable as error:
        return {"error": {"dependency": "mentionlytics", "cause": error.cause, "message": error.message}}
