"""Redis: one client per container and the cache helper that owns the seed's TTL table (3.2).

Example
-------
>>> from warroom.core.cache import cache
>>> cache.get_json("health")                    # None on a miss *or* when Redis is down
>>> cache.set_json("health", {"status": "ok"})  # TTL from CACHE_TTLS_S["health"]

Redis is a cache and a fan-out bus, never the system of record: every operation here degrades to
"miss" / "not stored" when Redis cannot be reached, logs it once per outage, and records the
outage in :func:`redis_status` so ``/health`` can say so. Callers fall back to PostgreSQL.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from warroom.core.config import get_settings

if TYPE_CHECKING:
    import redis

logger = logging.getLogger(__name__)

# The seed's Redis caching strategy (section 3.2), in seconds. None means "no expiry".
CACHE_TTLS_S: dict[str, int | None] = {
    "mentionlytics": 300,
    "meta_insights": 3600,
    "google_ads": 900,
    "user_sessions": 900,
    "refresh_tokens": 604_800,
    "dashboard_kpis": 60,
    "crisis_alerts": 30,
    # The settings row is the truth; a copy that outlived a failed invalidation is gone within seconds.
    "data_mode": 5,
    "health": 30,
    # The system snapshot of /metrics/system, refreshed by the 1-minute metrics job (warroom.metrics.system).
    "metrics_system": 60,
}

# The key each kind lives under, so every reader and writer of a kind agrees on it.
CACHE_KEYS: dict[str, str] = {
    "data_mode": "system:data_mode",
    "health": "system:health",
    "dashboard_kpis": "dashboard:kpi",
    "metrics_system": "metrics:system",
}

_client: redis.Redis | None = None
_client_lock = threading.Lock()
# After a failure we stop asking Redis for a short while instead of paying a timeout per call.
_RETRY_AFTER_FAILURE_S = 2.0
_REFUSAL_LOG_INTERVAL_S = 60.0
_state = {"down_since": None, "last_error": None, "last_attempt": 0.0, "refusal_logged": -_REFUSAL_LOG_INTERVAL_S}


def get_redis() -> redis.Redis | None:
    """The container's Redis client, or None when no Redis is configured."""
    global _client
    settings = get_settings()
    if not settings.redis_url:
        return None
    if _client is None:
        # Imported by the first Redis call, not at module load: redis-py loads its asyncio client too
        # (40-90 ms), a cold-start cost for every function, including those whose routes never reach Redis.
        import redis

        with _client_lock:
            if _client is None:
                _client = redis.Redis.from_url(
                    settings.redis_url,
                    socket_timeout=settings.redis_timeout_s,
                    socket_connect_timeout=settings.redis_timeout_s,
                    health_check_interval=30,
                    decode_responses=True,
                )
    return _client


def reset_redis() -> None:
    """Drop the client (tests point the container at another server)."""
    global _client
    with _client_lock:
        if _client is not None:
            _client.close()
        _client = None
        _state.update(down_since=None, last_error=None, last_attempt=0.0)


def redis_available() -> bool:
    """False while Redis is known to be down (we re-try it every couple of seconds)."""
    if _state["down_since"] is None:
        return True
    return time.monotonic() - _state["last_attempt"] >= _RETRY_AFTER_FAILURE_S


def _mark_failure(error: Exception) -> None:
    if _state["down_since"] is None:
        logger.warning("redis unavailable, serving without cache: %s", type(error).__name__)
        _state["down_since"] = time.time()
    _state["last_error"] = type(error).__name__
    _state["last_attempt"] = time.monotonic()


def _mark_success() -> None:
    if _state["down_since"] is not None:
        logger.info("redis is back")
    _state.update(down_since=None, last_error=None)


def run(operation: str, func: Any, default: Any = None) -> Any:
    """Run ``func(client)`` against Redis; ``default`` when Redis is unconfigured, down or answers an error.

    Any ``redis.RedisError`` counts as unavailable, not only connection errors: a Redis that answers but
    refuses (``OOM`` when full, ``READONLY`` on a replica after a failover) is no more usable, and an error
    here must never fail the request that only wanted a cache."""
    client = get_redis()
    if client is None or not redis_available():
        return default
    import redis  # loaded by get_redis()

    try:
        _state["last_attempt"] = time.monotonic()
        result = func(client)
    except (redis.ConnectionError, redis.TimeoutError) as error:
        _mark_failure(error)  # unreachable: skip it for a while rather than wait on it in every call
        return default
    except redis.RedisError as error:
        # It answers but refuses (OOM, READONLY, ...): only this call is unavailable, reads may still work.
        if time.monotonic() - _state["refusal_logged"] >= _REFUSAL_LOG_INTERVAL_S:
            logger.warning("redis refused %s, serving without it: %s", operation, type(error).__name__)
            _state["refusal_logged"] = time.monotonic()
        return default
    _mark_success()
    return result


def redis_status() -> dict[str, Any]:
    """Health of Redis as this container last saw it, refreshed by a PING."""
    client = get_redis()
    if client is None:
        return {"status": "not_configured"}
    import redis  # loaded by get_redis()

    started = time.perf_counter()
    try:
        client.ping()
    except redis.RedisError as error:
        _mark_failure(error)
        return {"status": "down", "error": type(error).__name__}
    _mark_success()
    return {"status": "up", "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


class Cache:
    """JSON values under the seed's keys and TTLs; every method is safe when Redis is down."""

    @staticmethod
    def key(kind: str, suffix: str | None = None) -> str:
        base = CACHE_KEYS.get(kind, f"cache:{kind}")
        return f"{base}:{suffix}" if suffix else base

    def get_json(self, kind: str, suffix: str | None = None) -> Any:
        raw = run("get", lambda r: r.get(self.key(kind, suffix)))
        return json.loads(raw) if raw is not None else None

    def set_json(self, kind: str, value: Any, suffix: str | None = None, ttl_s: int | None = None) -> bool:
        if kind not in CACHE_TTLS_S:
            raise KeyError(f"unknown cache kind {kind!r}: add it to CACHE_TTLS_S")
        ttl = ttl_s if ttl_s is not None else CACHE_TTLS_S[kind]
        payload = json.dumps(value, default=str, separators=(",", ":"))
        return bool(run("set", lambda r: r.set(self.key(kind, suffix), payload, ex=ttl), default=False))

    def delete(self, kind: str, suffix: str | None = None) -> None:
        run("delete", lambda r: r.delete(self.key(kind, suffix)))


cache = Cache()
