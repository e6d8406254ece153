"""Moving-window rate limits: one Lua script per count in Redis, shared by every Lambda container.

Example
-------
>>> state = hit("auth_reset_email", user_id, limit=3, window_s=3600)
>>> if state and not state.allowed:
...     raise TooManyRequests(retry_after_s=state.retry_after_s)
>>> response.headers.update(state.headers())

**The window.** A moving window over a sorted set per ``(namespace, identifier)``: one member per
counted event, scored by its time in milliseconds. Counts are exact (no burst at window edges): at
most ``limit`` events in any ``window_s``, a refused event is not counted, and ``reset`` is when the
next slot frees (the oldest event that must leave the window, plus the window). It holds one member
per event of the last window (a user at the 10,000/hour request quota: about 1 MB), and the key
expires a window after its last event.

**One round trip.** A count is one ``EVALSHA`` of a script registered with redis-py's
``register_script`` (loaded again by redis-py after a restart or ``SCRIPT FLUSH``).
:data:`MOVING_WINDOW_LUA` is the window as a Lua function, so other scripts count in the same call
as their own work (``warroom.auth.guard`` checks a token's revocation and counts the user's quota in
one script). The script's first write adds the event: a server that refuses writes (out of memory,
a read-only replica) refuses it there, before anything changed.

**Redis unavailable.** Unconfigured, down, or answering any ``redis.RedisError`` (``READONLY``,
``OOM``, ...): every function returns None and the caller decides whether that fails open or closed,
and says so. :class:`LocalMovingWindow` is the same window in process memory, for callers whose
fallback is a per-container limit. :func:`shared_window_status` says whether the last count worked,
for ``/health``.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import re
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from warroom.core import cache

if TYPE_CHECKING:
    import redis
    from redis.commands.core import Script

logger = logging.getLogger(__name__)

KEY_PREFIX = "ratelimit"

# Lua: count one event at ``now_ms`` unless the window already holds ``limit``.
# Returns {allowed 0|1, remaining, reset_ms}. The ZADD comes first so that a server refusing writes
# (OOM, READONLY) refuses the whole script before it changed anything.
MOVING_WINDOW_LUA = """
local function moving_window_hit(key, limit, window_ms, now_ms, member)
  redis.call('ZADD', key, now_ms, member)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now_ms - window_ms)
  local count = redis.call('ZCARD', key)
  local allowed = 1
  if count > limit then
    redis.call('ZREM', key, member)
    count = count - 1
    allowed = 0
  end
  redis.call('PEXPIRE', key, window_ms)
  -- The next slot frees when the event at index (count - limit) leaves: index 0 while there is room.
  local frees = redis.call('ZRANGE', key, math.max(0, count - limit), math.max(0, count - limit), 'WITHSCORES')
  local reset_ms = now_ms + window_ms
  if frees[2] then reset_ms = tonumber(frees[2]) + window_ms end
  return {allowed, limit - count, reset_ms}
end
"""

_HIT_LUA = (
    MOVING_WINDOW_LUA
    + """
-- KEYS: the window; ARGV: limit, window ms, now ms, member
return moving_window_hit(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4])
"""
)

# Read-only: the state a hit would see, counting nothing.
_PEEK_LUA = """
-- KEYS: the window; ARGV: limit, window ms, now ms
local limit, window_ms, now_ms = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local since = '(' .. (now_ms - window_ms)
local count = redis.call('ZCOUNT', KEYS[1], since, '+inf')
local index = math.max(0, count - limit)
local frees = redis.call('ZRANGEBYSCORE', KEYS[1], since, '+inf', 'WITHSCORES', 'LIMIT', index, 1)
local reset_ms = now_ms + window_ms
if frees[2] then reset_ms = tonumber(frees[2]) + window_ms end
local allowed = 0
if count < limit then allowed = 1 end
return {allowed, limit - count, reset_ms}
"""

# "Error running script (...): @user_script:1: -OOM command not allowed ...": the server's own error code.
_SCRIPT_ERROR_CODE = re.compile(r": -([A-Z]+) ")
# Members must be unique per event even when two containers count in the same millisecond.
_MEMBER_PREFIX = os.urandom(6).hex()
_member_sequence = itertools.count()


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

    @classmethod
    def from_script(cls, limit: int, answer: Sequence[Any]) -> RateLimitState:
        """The state from a script's ``{allowed, remaining, reset_ms}``."""
        allowed, remaining, reset_ms = answer
        return cls(bool(int(allowed)), limit, int(remaining), int(reset_ms) / 1000)


_dedicated: redis.Redis | None = None
_dedicated_lock = threading.Lock()
# What made the last shared count fail, until one succeeds (None: the shared window works).
_shared_failure: dict[str, str | None] = {"error": None}


class RedisScript:
    """A Lua script run with ``EVALSHA`` (redis-py's ``register_script``: loaded again after a ``NOSCRIPT``)
    over the cache's Redis, on one dedicated connection; the cache's outage rules apply to it."""

    def __init__(self, name: str, source: str) -> None:
        self.name = name
        self.source = source
        self._registered: Script | None = None

    def _for(self, client: redis.Redis) -> Script:
        registered = self._registered
        if registered is None or registered.registered_client is not client:
            registered = self._registered = client.register_script(self.source)
        return registered

    def run(self, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """The script's answer, or None when Redis is unconfigured, down or answered an error."""
        import redis  # loaded by the cache's client already; imported here to keep it off module load

        lost: list[Exception] = []

        def call(pooled: redis.Redis) -> Any:
            try:
                return self._for(_dedicated_client(pooled))(keys=keys, args=args)
            except redis.RedisError as error:  # cache.run counts it as an outage: recorded here for its name
                lost.append(error)
                raise

        answer = cache.run(self.name, call)
        if lost:
            _record_failure(lost[0])
        elif answer is not None and _shared_failure["error"] is not None:
            logger.info("shared rate limiter is back")
            _shared_failure["error"] = None
        return answer


def _dedicated_client(pooled: redis.Redis) -> redis.Redis:
    """A client holding one connection of the cache's pool for the scripts: a pooled call first polls its
    connection's socket for stray data (two more syscalls, about 30 us here, an eighth of the per-request
    budget), and the request path is one command. Its lock serialises threads sharing the container."""
    global _dedicated
    dedicated = _dedicated
    if dedicated is None or dedicated.connection_pool is not pooled.connection_pool:
        import redis

        with _dedicated_lock:
            if _dedicated is None or _dedicated.connection_pool is not pooled.connection_pool:
                _dedicated = redis.Redis(connection_pool=pooled.connection_pool, single_connection_client=True)
            dedicated = _dedicated
    return dedicated


def _failure_name(error: Exception) -> str:
    """What went wrong, briefly: the Redis error code a script's error wraps (``OOM``, ``READONLY``), else the
    exception's class (``ConnectionError``, ``OutOfMemoryError``)."""
    wrapped = _SCRIPT_ERROR_CODE.search(str(error)) if type(error).__name__ == "ResponseError" else None
    return wrapped.group(1) if wrapped else type(error).__name__


def _record_failure(error: Exception) -> None:
    name = _failure_name(error)
    if _shared_failure["error"] is None:
        logger.warning("shared rate limiter unavailable: %s", name)
    _shared_failure["error"] = name


_HIT = RedisScript("ratelimit_hit", _HIT_LUA)
_PEEK = RedisScript("ratelimit_peek", _PEEK_LUA)


def window_key(namespace: str, identifier: str) -> str:
    """The Redis key of one window."""
    return f"{KEY_PREFIX}:{namespace}:{identifier}"


def new_member(now_ms: int) -> str:
    """A unique member for an event counted at ``now_ms``."""
    return f"{now_ms}:{_MEMBER_PREFIX}:{next(_member_sequence)}"


def hit(
    namespace: str, identifier: str, *, limit: int, window_s: float, now: float | None = None
) -> RateLimitState | None:
    """Count one event; ``allowed`` is False (and nothing is counted) once the window is full."""
    now_ms = int((time.time() if now is None else now) * 1000)
    answer = _HIT.run([window_key(namespace, identifier)], [limit, int(window_s * 1000), now_ms, new_member(now_ms)])
    return None if answer is None else RateLimitState.from_script(limit, answer)


def peek(
    namespace: str, identifier: str, *, limit: int, window_s: float, now: float | None = None
) -> RateLimitState | None:
    """The current state without counting anything."""
    now_ms = int((time.time() if now is None else now) * 1000)
    answer = _PEEK.run([window_key(namespace, identifier)], [limit, int(window_s * 1000), now_ms])
    return None if answer is None else RateLimitState.from_script(limit, answer)


def clear(namespace: str, identifier: str) -> bool:
    """Forget the window (a successful login clears its failed attempts); False when Redis could not."""
    return cache.run("ratelimit_clear", lambda client: client.delete(window_key(namespace, identifier))) is not None


def shared_window_status() -> dict[str, Any]:
    """Whether counts in Redis work, from one probe count: ``{"status": "up"}`` or ``{"status": "down",
    "error": ...}`` (``not_configured`` without Redis). A probe, not the last request's outcome, so a fresh
    container sees a Redis that answers reads but refuses writes."""
    if cache.get_redis() is None:
        return {"status": "not_configured"}
    if hit("health", "probe", limit=1_000_000, window_s=1) is None:
        return {"status": "down", "error": _shared_failure["error"]}
    return {"status": "up"}


class LocalMovingWindow:
    """The same moving window in this process's memory: a per-container fallback while Redis is unavailable."""

    def __init__(self) -> None:
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, *, limit: int, window_s: float, now: float | None = None) -> RateLimitState:
        """Count one event of ``key`` unless its window is full (see :func:`hit`)."""
        now = time.time() if now is None else now
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and events[0] <= now - window_s:
                events.popleft()
            allowed = len(events) < limit
            if allowed:
                events.append(now)
            index = max(0, len(events) - limit)
            reset = events[index] + window_s if events else now + window_s
            if len(self._events) > 10_000:  # forget idle keys so a long outage cannot grow this without bound
                for idle in [k for k, v in self._events.items() if not v or v[-1] <= now - window_s]:
                    del self._events[idle]
            return RateLimitState(allowed, limit, limit - len(events), reset)

    def clear(self) -> None:
        with self._lock:
            self._events.clear()
