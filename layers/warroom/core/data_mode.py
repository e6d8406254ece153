"""The global data mode (MOCK | LIVE): read cheaply on every request, changed rarely.

Example
-------
>>> get_data_mode()
'MOCK'

Reads go: this container's copy (at most ``LOCAL_TTL_S`` old) -> Redis ``system:data_mode`` (a copy
kept ``REDIS_TTL_S``) -> the ``settings`` table -> the configured default. The PostgreSQL row is the
truth: a change (``PUT /settings/data-mode``, through :func:`warroom.system.settings.write_setting`)
deletes the Redis copy inside its transaction, before it commits, then writes the new value and
broadcasts it (:mod:`warroom.system.data_mode`). If Redis cannot be reached meanwhile, the old copy
still expires within ``REDIS_TTL_S``, so the mode never disagrees with itself for longer.

Guards that protect live data (the simulator, the mock back-fill) do not trust any copy:
:func:`read_data_mode_durably` reads the row. The mode lives in the core because every domain's sources
obey it; changing it is the ``system`` domain's business.
"""

from __future__ import annotations

import time
from typing import Any, cast

from warroom.core import cache
from warroom.core.config import DataMode
from warroom.core.settings import DATA_MODE, read_setting

# One second of staleness per container buys a request path without a Redis round trip.
LOCAL_TTL_S = 1.0
REDIS_KEY = cache.CACHE_KEYS["data_mode"]
REDIS_TTL_S = cache.CACHE_TTLS_S["data_mode"]
_local: dict[str, Any] = {"mode": None, "expires": 0.0}


def remember_data_mode(mode: DataMode) -> DataMode:
    """Keep ``mode`` as this container's copy for ``LOCAL_TTL_S``."""
    _local.update(mode=mode, expires=time.monotonic() + LOCAL_TTL_S)
    return mode


def get_data_mode() -> DataMode:
    """The current data mode."""
    if _local["mode"] is not None and time.monotonic() < _local["expires"]:
        return cast(DataMode, _local["mode"])
    cached = cache.run("get", lambda r: r.get(REDIS_KEY))
    if cached in ("MOCK", "LIVE"):
        return remember_data_mode(cached)
    mode = read_data_mode_durably()
    cache_data_mode(mode)
    return remember_data_mode(mode)


def read_data_mode_durably() -> DataMode:
    """The mode as the ``settings`` row says (no cache): what guards of live data must ask."""
    return cast(DataMode, read_setting(DATA_MODE))


def cache_data_mode(mode: DataMode) -> None:
    """Share ``mode`` with the other containers through Redis, for ``REDIS_TTL_S`` at most."""
    cache.run("set", lambda r: r.set(REDIS_KEY, mode, ex=REDIS_TTL_S))


def invalidate_cached_data_mode() -> None:
    """Drop the shared and the local copy (before a change commits, so no reader keeps the old mode)."""
    cache.run("delete", lambda r: r.delete(REDIS_KEY))
    forget_local_copy()


def forget_local_copy() -> None:
    """Drop this container's copy (tests switch modes and read back at once)."""
    _local.update(mode=None, expires=0.0)
