"""Realtime: the WebSocket API's $connect, $default and $disconnect routes (one Lambda, three integrations)."""

from __future__ import annotations

from typing import Any

from warroom.core.logs import configure_logging
from warroom.realtime.websocket import on_connect, on_disconnect, on_message

logger = configure_logging("realtime")
ROUTES = {"$connect": on_connect, "$disconnect": on_disconnect}


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return ROUTES.get(event["requestContext"]["routeKey"], on_message)(event)
