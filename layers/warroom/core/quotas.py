"""Request quotas: the limits, the 429, the ``X-RateLimit-*`` headers and the outage fallback.

Example
-------
>>> headers = count_api_key_request(principal.key_id)   # TooManyRequests (429, Retry-After) past the limit
>>> response.headers.update(headers)                    # X-RateLimit-Limit / -Remaining / -Reset

- **API keys**: ``WARROOM_API_KEY_RATE_LIMIT_PER_HOUR`` (default 1000, the seed) requests per hour
  per key, a moving window in Redis shared by every container (:mod:`warroom.core.ratelimit`).
- **Bearer tokens**: ``WARROOM_USER_RATE_LIMIT_PER_HOUR`` (default 10,000, about 2.8 a second for
  an hour: far above what a dashboard does, low enough to stop a runaway script) per user; 0 turns
  it off. The user's window is counted by ``warroom.auth.guard`` in the same Redis script that checks
  the token's revocation (one round trip per request); :func:`quota_headers` turns its answer into
  headers or the 429.

When Redis is unavailable (none configured, down, or answering errors such as ``READONLY`` or
``OOM``) the limits degrade instead of failing:

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

from warroom.core import ratelimit
from warroom.core.config import get_settings
from warroom.core.errors import TooManyRequests
from warroom.core.ratelimit import LocalMovingWindow, RateLimitState

WINDOW_S = 3600
API_KEY_NAMESPACE = "api_key"
USER_NAMESPACE = "user"

# This container's fallback window for API keys while Redis is unavailable.
_local_window = LocalMovingWindow()


def user_limit_per_hour() -> int:
    """Requests an hour per user on bearer tokens (0: no user quota)."""
    return get_settings().user_rate_limit_per_hour


def user_window_key(user_id: str) -> str:
    """The Redis key of a user's request window (counted by the bearer script in ``warroom.auth.guard``)."""
    return ratelimit.window_key(USER_NAMESPACE, user_id)


def quota_headers(state: RateLimitState) -> dict[str, str]:
    """The ``X-RateLimit-*`` headers of a counted request, or 429 (with them and ``Retry-After``) past the limit."""
    headers = state.headers()
    if not state.allowed:
        error = TooManyRequests(
            f"Rate limit of {state.limit} requests per hour reached; retry after {state.retry_after_s} s.",
            retry_after_s=state.retry_after_s,
            details={"limit": state.limit, "window_s": WINDOW_S},
        )
        error.headers.update(headers)
        raise error
    return headers


def count_api_key_request(key_id: str, *, now: float | None = None) -> dict[str, str]:
    """Count one request of an API key (shared window, else this container's); its headers, or 429."""
    limit = get_settings().api_key_rate_limit_per_hour
    state = ratelimit.hit(API_KEY_NAMESPACE, key_id, limit=limit, window_s=WINDOW_S, now=now)
    if state is None:
        state = _local_window.hit(f"{API_KEY_NAMESPACE}:{key_id}", limit=limit, window_s=WINDOW_S, now=now)
    return quota_headers(state)
