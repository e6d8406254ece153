"""Source sync: mentions every 5 minutes, paid campaigns every 15 (``{"sync": "campaigns"}``), from their cursors."""

from __future__ import annotations

from typing import Any

from warroom.core.job_runs import recorded_job
from warroom.core.logs import configure_logging
from warroom.mentions.sources import SourceUnavailable
from warroom.pipelines.campaigns import sync_campaigns
from warroom.pipelines.listening import sync_then_detect

logger = configure_logging("source_sync")


@logger.inject_lambda_context
@recorded_job("source_sync", variant_key="sync", default_variant="mentions")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Mentions: MOCK generates the mentions since the cursor; LIVE pulls Mentionlytics since its cursor.
    Campaigns: each platform's sources from their cursors, then the campaign alerts.

    A source that cannot be used (token missing or rejected, vendor down) is logged as an error naming the
    cause and reported in the result rather than raised: the next tick retries, and nothing is lost.
    """
    if isinstance(event, dict) and event.get("sync") == "campaigns":
        return sync_campaigns().model_dump(mode="json")
    try:
        return sync_then_detect()
    except SourceUnavailable as error:
        return {"error": {"dependency": "mentionlytics", "cause": error.cause, "message": error.message}}
