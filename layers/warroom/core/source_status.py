"""The last sync's outcome per source (Mentionlytics, Meta, Google Ads), in Redis, for ``/health``.

Example
-------
>>> record_source_status("mentionlytics", cause="token_rejected", message="Mentionlytics rejected the token.")
>>> source_status("mentionlytics")
{'status': 'down', 'cause': 'token_rejected', 'message': '...', 'at': '2026-11-25T16:00:00+00:00'}

Every sync writes ``source:<provider>:status`` (``up``, or ``down`` with the cause and message of the
failure, and the time, and any warning the vendor gave, such as Meta's API version ageing), kept for a
day; the health check reads it when the data mode is LIVE. A failed
sync also drops the cached healthy answer, so the outage is reported at once rather than within 30 s.
This module imports nothing but the cache, so the system function can read it cheaply.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from warroom.core import cache

STATUS_TTL_S = 86_400


def status_key(provider: str) -> str:
    return f"source:{provider}:status"


def record_source_status(
    provider: str, *, cause: str | None = None, message: str | None = None, warning: str | None = None
) -> None:
    """``up`` when ``cause`` is None, else ``down`` with the cause; safe (a no-op) when Redis is down."""
    status: dict[str, Any] = {"status": "up" if cause is None else "down", "at": dt.datetime.now(dt.UTC).isoformat()}
    if cause is not None:
        status.update(cause=cause, message=message)
    if warning is not None:
        status["warning"] = warning
    payload = json.dumps(status, separators=(",", ":"))
    cache.run("set", lambda r: r.set(status_key(provider), payload, ex=STATUS_TTL_S))
    if cause is not None:
        cache.cache.delete("health")


def source_status(provider: str) -> dict[str, Any] | None:
    """The last recorded status, or None (no sync recorded, or Redis down)."""
    raw = cache.run("get", lambda r: r.get(status_key(provider)))
    return json.loads(raw) if raw is not None else None
