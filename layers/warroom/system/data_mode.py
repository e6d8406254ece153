"""The global data mode (MOCK | LIVE): read cheaply on every request, changed rarely.

Example
-------
>>> get_data_mode()
'MOCK'

Reads go: this container's copy (at most ``LOCAL_TTL_S`` old) -> Redis ``system:data_mode`` ->
the ``settings`` table -> the configured default. A change (``PUT /settings/data-mode``, through
:func:`warroom.system.settings.write_setting`) is committed to PostgreSQL first, then written to
Redis and broadcast, so other containers see it within ``LOCAL_TTL_S`` and Redis losing the key
only costs one PostgreSQL read.
"""

from __future__ import annotations

import time
from typing import Any, cast

from warroom.core import cache
from warroom.core.config import DataMode, get_settings
from warroom.core.db import connection
from warroom.realtime import broadcast

# One second of staleness per container buys a request path without a Redis round trip.
LOCAL_TTL_S = 1.0
REDIS_KEY = cache.CACHE_KEYS["data_mode"]
_local: dict[str, Any] = {"mode": None, "expires": 0.0}


def _remember(mode: DataMode) -> DataMode:
    _local.update(mode=mode, expires=time.monotonic() + LOCAL_TTL_S)
    return mode


def get_data_mode() -> DataMode:
    """The current data mode."""
    if _local["mode"] is not None and time.monotonic() < _local["expires"]:
        return cast(DataMode, _local["mode"])
    cached = cache.run("get", lambda r: r.get(REDIS_KEY))
    if cached in ("MOCK", "LIVE"):
        return _remember(cached)
    with connection() as conn:
        row = conn.execute("SELECT value FROM settings WHERE key = 'data_mode'").fetchone()
    mode = cast(DataMode, row["value"] if row else get_settings().default_data_mode)
    cache.run("set", lambda r: r.set(REDIS_KEY, mode))
    return _remember(mode)


def after_data_mode_change(new: DataMode, old: DataMode) -> None:
    """Refresh the caches and tell every dashboard (runs after the change is committed)."""
    cache.run("set", lambda r: r.set(REDIS_KEY, new))
    _remember(new)
    if new != old:
        broadcast("system:data-mode-change", {"mode": new, "previous": old})


def forget_local_copy() -> None:
    """Drop this container's copy (tests switch modes and read back at once)."""
    _local.update(mode=None, expires=0.0)
