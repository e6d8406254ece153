"""The WebSocket API's routes: ``$connect`` (authenticate), ``$default`` (client actions), ``$disconnect``.

Client actions are JSON frames ``{"action": ...}``:

- ``ping`` -> ``{"event": "pong", ...}``; also the heartbeat (every 30 s; 3 missed and the sweep drops you);
- ``subscribe`` / ``unsubscribe`` with ``{"channels": [...]}`` -> ``{"event": "subscribed", "data": {"channels"}}``;
- ``auth`` with ``{"token": "<access token>"}`` -> ``{"event": "authenticated", "data": {"expires_at"}}``: a
  socket lives no longer than the access token it was opened with (15 minutes) unless the dashboard hands it
  the next one (after each refresh); the token must be the same user's, and its role becomes the socket's.

Anything else is answered with an ``error`` event on the socket; the connection stays open. A socket is
closed by the server when its token expires without an ``auth`` frame (the sweep), and at once when its
user's access ends: logout (that session), logout-all, a revoked session, a role change or deactivation,
or a revoked API key (:func:`warroom.realtime.close_connections_of`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator

from warroom.core.errors import WarRoomError
from warroom.core.security import Authenticated
from warroom.realtime import connections, envelope

logger = logging.getLogger(__name__)


class ChannelsAction(BaseModel):
    action: str
    channels: list[str] = Field(min_length=1, max_length=connections.MAX_CHANNELS)

    @field_validator("channels")
    @classmethod
    def _valid_names(cls, channels: list[str]) -> list[str]:
        bad = [c for c in channels if not connections.CHANNEL_NAME.match(c)]
        if bad:
            raise ValueError(f"invalid channel names: {bad[:3]}")
        return channels


def _reply(event: str, data: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": json.dumps(envelope(event, data), default=str)}


def _error(code: str, message: str) -> dict[str, Any]:
    return _reply("error", {"code": code, "message": message})


Authenticator = Callable[[Mapping[str, str]], Authenticated]


def on_connect(event: dict[str, Any], *, authenticate: Authenticator) -> dict[str, Any]:
    """Open the connection only for a valid access token (``?token=``) or API key (``?api_key=`` or the
    ``X-API-Key`` header; browsers cannot set headers on a WebSocket); 401 otherwise.

    ``authenticate`` is the request authenticator the function hands in (``warroom.auth``'s: realtime cannot
    import auth, which imports realtime for its broadcasts); a connect counts as one request of the caller's quota.
    """
    query = event.get("queryStringParameters") or {}
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    if query.get("token"):
        headers["authorization"] = f"Bearer {query['token']}"
    if query.get("api_key"):
        headers["x-api-key"] = query["api_key"]
    try:
        principal = authenticate(headers).principal
    except WarRoomError as error:
        return {"statusCode": error.status_code, "body": error.message}
    context = event["requestContext"]
    source_ip = (context.get("identity") or {}).get("sourceIp")
    if not connections.register(
        context["connectionId"],
        user_id=principal.user_id,
        role=principal.role,
        source_ip=source_ip,
        session_id=principal.session_id,
        key_id=principal.key_id,
        expires_at=principal.expires_at.timestamp(),
    ):
        return {"statusCode": 503, "body": "Realtime is unavailable; try again shortly."}
    return {"statusCode": 200}


def _reauthenticate(connection_id: str, frame: dict[str, Any], authenticate: Authenticator | None) -> dict[str, Any]:
    token = frame.get("token")
    if authenticate is None or not isinstance(token, str) or not token or len(token) > 4096:
        return _error("bad_request", 'Send {"action": "auth", "token": "<access token>"}.')
    current = connections.get(connection_id)
    if current is None:
        return _error("gone", "This connection is not registered; reconnect.")
    try:
        principal = authenticate({"authorization": f"Bearer {token}"}).principal
    except WarRoomError as error:
        return _error("unauthorized", error.message)
    if principal.user_id != current.user_id:
        return _error("forbidden", "The token is another user's; reconnect with it instead.")
    expires_at = principal.expires_at.timestamp()
    connections.reauthenticate(
        connection_id, role=principal.role, session_id=principal.session_id, expires_at=expires_at
    )
    connections.touch(connection_id)
    return _reply("authenticated", {"expires_at": principal.expires_at.isoformat(), "role": principal.role})


def on_message(event: dict[str, Any], *, authenticate: Authenticator | None = None) -> dict[str, Any]:
    """Answer one client frame; never closes the connection."""
    connection_id = event["requestContext"]["connectionId"]
    try:
        frame = json.loads(event.get("body") or "")
    except ValueError:
        return _error("bad_request", 'Frames must be JSON objects like {"action": "ping"}.')
    if not isinstance(frame, dict) or not isinstance(frame.get("action"), str):
        return _error("bad_request", 'Frames must be JSON objects with an "action".')
    action = frame["action"]
    if action == "ping":
        connections.touch(connection_id)
        return _reply("pong", {"connection_id": connection_id})
    if action == "auth":
        return _reauthenticate(connection_id, frame, authenticate)
    if action in ("subscribe", "unsubscribe"):
        try:
            request = ChannelsAction.model_validate(frame)
        except ValidationError as error:
            return _error("validation_error", error.errors(include_url=False, include_input=False)[0]["msg"])
        current = connections.get(connection_id)
        if current is None:
            return _error("gone", "This connection is not registered; reconnect.")
        wanted = set(current.channels)
        wanted = wanted | set(request.channels) if action == "subscribe" else wanted - set(request.channels)
        if len(wanted) > connections.MAX_CHANNELS:
            return _error("validation_error", f"At most {connections.MAX_CHANNELS} channels per connection.")
        channels = connections.set_channels(connection_id, wanted)
        connections.touch(connection_id)
        return _reply("subscribed", {"channels": sorted(channels)})
    return _error("unknown_action", f"Unknown action {action[:40]!r}; use ping, subscribe, unsubscribe or auth.")


def on_disconnect(event: dict[str, Any]) -> dict[str, Any]:
    connections.remove(event["requestContext"]["connectionId"])
    return {"statusCode": 200}


def sweep_stale(endpoint_url: str | None) -> int:
    """Drop connections that missed 3 heartbeats or whose token expired without an ``auth`` frame; how many."""
    from warroom.realtime.delivery import close_connection

    dropped = sorted(set(connections.stale()) | set(connections.expired()))
    for connection_id in dropped:
        if endpoint_url:
            try:
                close_connection(endpoint_url, connection_id)
                continue
            except Exception:
                logger.exception("closing stale connection %s failed; forgetting it", connection_id)
        connections.remove(connection_id)
    return len(dropped)
