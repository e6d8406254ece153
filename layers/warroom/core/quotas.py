"""Request quotas: what the HTTP glue applies after authentication and before the view.

Example
-------
>>> headers = enforce_quota(principal)      # raises TooManyRequests (429, Retry-After) past the limit
>>> response.headers.update(headers)        # X-RateLimit-Limit / -Remaining / -Reset

- **API keys**: ``WARROOM_API_KEY_RATE_LIMIT_PER_HOUR`` (default 1000, the seed) requests per hour
  per key, a moving window in Redis shared by every container.
- **Bearer tokens**: ``WARROOM_USER_RATE_LIMIT_PER_HOUR`` (default 10,000, about 2.8 a second for
  an hour: far above what a dashboard does, low enough to stop a runaway script) per user; 0 turns
  it off.

When Redis cannot be reached (or none is configured) the limits degrade instead of failing:

- bearer tokens are **not limited** (fail open): signed-in staff must never be locked out of the war
  room by a cache outage, and their tokens are short-lived and revocable anyway;
- API keys fall back to an **in-process moving window with the same limit** in each container.
  Failing closed (503) would stop every integration whenever the cache restarts, against the rule
  that Redis is optional; failing fully open would leave an external caller unbounded. The local
  window keeps each key bounded (at most ``containers x limit`` an hour while the outage lasts) and
  the answers keep their ``X-RateLimit-*`` headers.

``GET /health`` reports the limiter as the ``rate_limiter`` dependency: ``mode`` ``redis`` while the
shared window works, ``local`` while the fallback above applies.
"""

from __future__ import annotations

import functools

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from warroom.core import cache, ratelimit
from warroom.core.config import get_settings
from warroom.core.errors import TooManyRequests
from warroom.core.ratelimit import RateLimitState
from warroom.core.security import Principal

WINDOW_S = 3600
API_KEY_NAMESPACE = "api_key"
USER_NAMESPACE = "user"


@functools.cache
def _local_limiter() -> MovingWindowRateLimiter:
    """This container's fallback window (created on the first outage only: it starts a timer thread)."""
    return MovingWindowRateLimiter(MemoryStorage())


def _local_hit(namespace: str, identifier: str, limit: int) -> RateLimitState:
    limiter = _local_limiter()
    item = RateLimitItemPerSecond(limit, WINDOW_S)
    allowed = limiter.hit(item, namespace, identifier)
    stats = limiter.get_window_stats(item, namespace, identifier)
    return RateLimitState(allowed, limit, stats.remaining, stats.reset_time)


def _shared_hit(namespace: str, identifier: str, limit: int) -> RateLimitState | None:
    """The Redis window, or None when Redis is unconfigured or down (the outage is then recorded once for
    everyone through the cache's state, so the next requests skip Redis instead of waiting on it)."""
    state = ratelimit.hit(namespace, identifier, limit=limit, window_s=WINDOW_S)
    if state is None and get_settings().redis_url and cache.redis_available():
        cache.run("ping", lambda r: r.ping())
    return state


def enforce_quota(principal: Principal) -> dict[str, str]:
    """Count one request of ``principal``; its ``X-RateLimit-*`` headers, or 429 past the limit."""
    settings = get_settings()
    if principal.via == "api_key" and principal.key_id:
        limit = settings.api_key_rate_limit_per_hour
        state = _shared_hit(API_KEY_NAMESPACE, principal.key_id, limit)
        if state is None:
            state = _local_hit(API_KEY_NAMESPACE, principal.key_id, limit)
    else:
        limit = settings.user_rate_limit_per_hour
        state = _shared_hit(USER_NAMESPACE, principal.user_id, limit) if limit > 0 else None
        if state is None:
            return {}
    headers = state.headers()
    if not state.allowed:
        error = TooManyRequests(
            f"Rate limit of {limit} requests per hour reached; retry after {state.retry_after_s} s.",
            retry_after_s=state.retry_after_s,
            details={"limit": limit, "window_s": WINDOW_S},
        )
        error.headers.update(headers)
        raise error
    return headers
