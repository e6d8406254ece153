"""WebSocket sweeper: every minute, drop connections that missed three 30 s heartbeats."""

from __future__ import annotations

from typing import Any

from warroom.core.config import get_settings
from warroom.core.job_runs import recorded_job
from warroom.core.logs import configure_logging
from warroom.realtime.websocket import sweep_stale

logger = configure_logging("ws_sweeper")


@logger.inject_lambda_context
@recorded_job("ws_sweeper")
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    return {"dropped": sweep_stale(get_settings().websocket_management_endpoint)}
