"""Rate limits in Redis, atomic across every Lambda container, through the ``limits`` library.

Example
-------
>>> state = hit("api_key", key_id, limit=1000, window_s=3600)
>>> if state and not state.allowed:
...     raise TooManyRequests(retry_after_s=state.retry_after_s)
>>> response.headers.update(state.headers())

A moving window (``limits``' Lua-scripted strategy): exact counts, no burst at window edges.
Every function returns None when Redis cannot be reached; the caller decides whether that fails
open or closed, and says so.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItemPerSecond
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

from warroom.core import cache
from warroom.core.config import get_settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RateLimitState:
    allowed: bool
    limit: int
    remaining: int
    reset_epoch: float

    @property
    def retry_after_s(self) -> int:
        return max(1, math.ceil(self.reset_epoch - time.time()))

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, self.remaining)),
            "X-RateLimit-Reset": str(math.ceil(self.reset_epoch)),
        }


@functools.cache
def _limiter(redis_url: str) -> MovingWindowRateLimiter:
    timeout_s = get_settings().redis_timeout_s
    storage = RedisStorage(
        redis_url,
        key_prefix="ratelimit",
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        wrap_exceptions=True,
    )
    return MovingWindowRateLimiter(storage)


def _item(limit: int, window_s: int) -> RateLimitItemPerSecond:
    return RateLimitItemPerSecond(limit, window_s)


def _state(
    limiter: MovingWindowRateLimiter, allowed: bool, limit: int, window_s: int, namespace: str, identifier: str
) -> RateLimitState:
    stats = limiter.get_window_stats(_item(limit, window_s), namespace, identifier)
    return RateLimitState(allowed, limit, stats.remaining, stats.reset_time)


def _run(operation):
    redis_url = get_settings().redis_url
    if not redis_url or not cache.redis_available():
        return None
    try:
        return operation(_limiter(redis_url))
    except Exception as error:  # limits wraps every storage error in one type
        logger.warning("rate limiter unavailable: %s", type(error).__name__)
        return None


def hit(namespace: str, identifier: str, *, limit: int, window_s: int) -> RateLimitState | None:
    """Count one request; ``allowed`` is False (and nothing is counted) once the window is full."""
    return _run(
        lambda lim: _state(
            lim, lim.hit(_item(limit, window_s), namespace, identifier), limit, window_s, namespace, identifier
        )
    )


def peek(namespace: str, identifier: str, *, limit: int, window_s: int) -> RateLimitState | None:
    """The current state without counting anything."""
    return _run(
        lambda lim: _state(
            lim, lim.test(_item(limit, window_s), namespace, identifier), limit, window_s, namespace, identifier
        )
    )


def clear(namespace: str, identifier: str, *, limit: int, window_s: int) -> None:
    """Forget the window (a successful login clears its failed attempts)."""
    _run(lambda lim: lim.clear(_item(limit, window_s), namespace, identifier))
