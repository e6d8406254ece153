"""Realtime: the one broadcast function every service uses to push events to dashboards.

Example
-------
>>> from warroom.realtime import broadcast
>>> broadcast("system:data-mode-change", {"mode": "LIVE"})
3

Every event travels in one envelope, ``{"event", "data", "timestamp"}``, to the WebSocket connections
registered in Redis (:mod:`warroom.realtime.connections`) that match its audience: a ``channel`` (only
subscribers), a ``user_id`` (only that user's sockets) and the event's minimum role (``EVENT_MIN_ROLE``:
who logged in and out is for admins only).

How it avoids holding the caller's request: audiences of up to ``INLINE_FANOUT_LIMIT`` connections (a
campaign war room has tens of dashboards) are posted to concurrently, one Management API round trip
in parallel; larger audiences are split into chunks of ``FANOUT_CHUNK`` ids sent to the realtime fan-out
SQS queue, whose consumer function posts them, so the caller pays one ``SendMessageBatch`` per 2,500
connections instead of a post per connection. Realtime events are best effort: with Redis down or no
WebSocket API configured an event reaches no one, is logged, and never fails the caller.

Outgoing webhooks: every broadcast of a ``WEBHOOK_EVENTS`` event to everyone (not one user's own events) is also
handed, as its envelope, to the webhook delivery queue (``WARROOM_WEBHOOK_QUEUE_URL``) before any socket is
looked at, so it is delivered whether or not a dashboard is connected. This package sits below
:mod:`warroom.webhooks` and does not know the subscriptions: that domain keeps the JSON list of the event names
some enabled subscription wants under ``WEBHOOK_EVENTS_KEY`` in Redis, and an event nobody wants costs no SQS
call. With that key missing or Redis down the event is sent anyway and the consumer drops what nobody wants.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from typing import Any

from warroom.core.config import get_settings
from warroom.realtime import connections
from warroom.realtime.delivery import close_connection, deliver

logger = logging.getLogger(__name__)

INLINE_FANOUT_LIMIT = 100
FANOUT_CHUNK = 250
EVENT_MIN_ROLE = {"user:login": "admin", "user:logout": "admin", "system:webhook-failing": "admin"}
SEED_EVENTS = (
    "crisis:detected",
    "crisis:resolved",
    "dashboard:kpi-update",
    "dashboard:mention-stream",
    "system:health-change",
    "system:data-mode-change",
    "user:login",
    "user:logout",
    "document:processed",
)
# Events of this backend beyond the seed's: an open alert's severity rose or it was acknowledged; the daily brief;
# a paid-media alert (pacing, delivery, cost); a large export is ready (to its requester only).
EXTRA_EVENTS = ("crisis:updated", "intelligence:daily-brief", "campaign:alert", "report:ready")
# What outgoing webhook subscriptions may ask for (warroom.webhooks), and the Redis key of those someone wants.
WEBHOOK_EVENTS = (
    "crisis:detected",
    "crisis:resolved",
    "campaign:alert",
    "system:data-mode-change",
    "system:health-change",
    "report:ready",
    "document:processed",
)
WEBHOOK_EVENTS_KEY = "webhooks:subscribed_events"


def envelope(event: str, data: Any) -> dict[str, Any]:
    """The one shape of every realtime message."""
    return {"event": event, "data": data, "timestamp": dt.datetime.now(dt.UTC).isoformat()}


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, default=str, separators=(",", ":")).encode()


def broadcast(event: str, data: Any, channel: str | None = None, user_id: str | None = None) -> int:
    """Send ``event`` to every matching connection; returns how many connections it was sent to.

    A webhook event broadcast to everyone is first handed to the webhook queue (see the module's docstring).
    """
    settings = get_settings()
    message = envelope(event, data)
    if event in WEBHOOK_EVENTS and user_id is None and settings.webhook_queue_url:
        _hand_to_webhooks(settings.webhook_queue_url, message)
    endpoint = settings.websocket_management_endpoint
    if not endpoint:
        logger.debug("broadcast %s: no WebSocket API configured", event)
        return 0
    targets = [
        c.connection_id
        for c in connections.matching(channel=channel, user_id=user_id, min_role=EVENT_MIN_ROLE.get(event, "readonly"))
    ]
    if not targets:
        return 0
    payload = encode(message)
    if len(targets) <= INLINE_FANOUT_LIMIT or not settings.realtime_fanout_queue_url:
        return deliver(endpoint, payload, targets)
    _enqueue_fanout(settings.realtime_fanout_queue_url, payload, targets)
    return len(targets)


def _hand_to_webhooks(queue_url: str, message: dict[str, Any]) -> None:
    """Queue the envelope for the webhook consumer unless Redis says no subscription wants it; never raises."""
    from warroom.core.cache import run

    unknown = object()
    try:
        wanted = run("get", lambda r: r.get(WEBHOOK_EVENTS_KEY), default=unknown)
        if isinstance(wanted, str):
            try:
                if message["event"] not in json.loads(wanted):
                    return
            except (ValueError, TypeError):
                logger.warning(
                    "unreadable %s in Redis; handing %s to the webhook queue", WEBHOOK_EVENTS_KEY, message["event"]
                )
        from warroom.core.aws import aws_client

        body = json.dumps({"kind": "event", "id": str(uuid.uuid4()), "envelope": message}, default=str)
        aws_client("sqs").send_message(QueueUrl=queue_url, MessageBody=body)
    except Exception:
        # The broadcast's caller (a detection, a data-mode change) must not fail because of an integration.
        logger.exception("could not hand %s to the webhook queue", message.get("event"))


def _enqueue_fanout(queue_url: str, payload: bytes, targets: list[str]) -> None:
    from warroom.core.aws import aws_client

    chunks = [targets[i : i + FANOUT_CHUNK] for i in range(0, len(targets), FANOUT_CHUNK)]
    entries = [
        {"Id": str(index), "MessageBody": json.dumps({"message": payload.decode(), "connection_ids": chunk})}
        for index, chunk in enumerate(chunks)
    ]
    sqs = aws_client("sqs")
    for start in range(0, len(entries), 10):  # SendMessageBatch takes at most 10 entries
        sqs.send_message_batch(QueueUrl=queue_url, Entries=entries[start : start + 10])


def deliver_fanout_chunk(body: str) -> int:
    """Post one queued fan-out chunk (the fan-out function's record handler)."""
    chunk = json.loads(body)
    return deliver(
        get_settings().websocket_management_endpoint or "", chunk["message"].encode(), chunk["connection_ids"]
    )


def close_connections_of(user_id: str, *, session_ids: list[str] | None = None, key_id: str | None = None) -> int:
    """Close the user's sockets (those of ``session_ids`` or of API key ``key_id`` only, when given): their
    access just ended -- logout, revoked session, role change, deactivation, revoked key. Returns how many."""
    endpoint = get_settings().websocket_management_endpoint
    closing = [
        c
        for c in connections.of_user(user_id)
        if (session_ids is None or c.session_id in session_ids) and (key_id is None or c.key_id == key_id)
    ]
    for connection in closing:
        if endpoint:
            try:
                close_connection(endpoint, connection.connection_id)
                continue
            except Exception:
                logger.exception("closing connection %s failed; forgetting it", connection.connection_id)
        connections.remove(connection.connection_id)
    return len(closing)
