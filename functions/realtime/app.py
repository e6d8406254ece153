"""Realtime: the WebSocket API's $connect, $default and $disconnect routes (one Lambda, three integrations)."""

from __future__ import annotations

import functools
from typing import Any

from warroom.auth.guard import authenticate_request
from warroom.core.logs import configure_logging
from warroom.realtime.websocket import on_connect, on_disconnect, on_message

logger = configure_logging("realtime")
# The authenticator is handed in: realtime must not import auth (auth imports realtime for its broadcasts).
ROUTES = {"$connect": functools.partial(on_connect, authenticate=authenticate_request), "$disconnect": on_disconnect}
ON_MESSAGE = functools.partial(on_message, authenticate=authenticate_request)  # the `auth` frame checks tokens


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return ROUTES.get(event["requestContext"]["routeKey"], ON_MESSAGE)(event)
