"""Realtime: the one broadcast function every service uses to push events to dashboards.

Example
-------
>>> from warroom.realtime import broadcast
>>> broadcast("system:data-mode-change", {"mode": "LIVE"})
'1764079200000-0'

Every event travels in one envelope, ``{"event", "data", "timestamp"}``. ``broadcast`` never talks
to sockets itself, so it costs the caller one Redis command however many dashboards are open: it
appends the envelope (with its optional ``channel`` / ``user_id`` audience) to the bounded Redis
stream ``realtime:outbox``. The event plane's delivery worker reads that stream and posts to every
matching WebSocket connection through the API Gateway Management API; until it runs, events wait
in the stream (the newest ``OUTBOX_MAX_LENGTH``) and reach no one. Realtime events are best effort:
when Redis is down the event is dropped and logged, and the caller is never failed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from warroom.core import cache

logger = logging.getLogger(__name__)

OUTBOX_STREAM = "realtime:outbox"
OUTBOX_MAX_LENGTH = 10_000


def envelope(event: str, data: Any) -> dict[str, Any]:
    """The one shape of every realtime message."""
    return {"event": event, "data": data, "timestamp": dt.datetime.now(dt.UTC).isoformat()}


def broadcast(event: str, data: Any, channel: str | None = None, user_id: str | None = None) -> str | None:
    """Queue ``event`` for every matching connection; returns the outbox entry id, None if dropped."""
    fields = {
        "message": json.dumps(envelope(event, data), default=str, separators=(",", ":")),
        "channel": channel or "",
        "user_id": user_id or "",
    }
    entry_id = cache.run("xadd", lambda r: r.xadd(OUTBOX_STREAM, fields, maxlen=OUTBOX_MAX_LENGTH, approximate=True))
    if entry_id is None:
        logger.warning("realtime event %s dropped: redis unavailable", event)
    return entry_id
