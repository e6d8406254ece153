"""Verifying an ``X-API-Key``: the key format, the lookup and its per-container cache.

Example
-------
>>> principal = authenticate_api_key("wr_3f9a1c0b7d2e_...")   # 401 for an unknown, revoked or expired key
>>> principal.via, principal.key_id
('api_key', '...')
>>> forget_cached_keys(key_id)          # warroom.admin calls this when it revokes a key or changes its creator

Keys are created, listed and revoked by :mod:`warroom.admin.api_keys`; this module only recognises
them, for :func:`warroom.auth.guard.authenticate_request`.

**Format.** ``wr_<prefix>_<secret>``: a random 12-hex-character prefix and 43 URL-safe characters
holding 256 random bits. Only the key's SHA-256 is stored: with 256 bits of entropy there is no
dictionary to attack, so a fast hash is enough, and the lookup is one equality on the unique index of
``key_hash``.

**Who a key is.** A key acts as its creator (``user_id``) with the key's role, capped by the
creator's *current* role: demoting the creator demotes their keys, and a deactivated creator's keys
stop working.

**Cost per request.** A key's record is cached in the container for ``WARROOM_API_KEY_CACHE_TTL_S``
(30 s), so a busy key costs one PostgreSQL lookup per 30 s per container. The price: a revocation
(or the creator's demotion or deactivation) takes effect at once in the container that made it and
**within 30 s in the others**. Expiry is checked on every request against the cached expiry.
``last_used_at`` is written by the lookup itself, and only when it is more than a minute old.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from warroom.core.config import get_settings
from warroom.core.errors import Unauthorized
from warroom.core.security import MAX_KEY_ROLE, Principal, Role, weaker_role

KEY_SCHEME = "wr_"
MAX_KEY_CHARS = 128
_CACHE_MAX_KEYS = 1024
_NEVER = dt.datetime.max.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class _KeyRecord:
    key_id: str
    role: Role  # already capped by the creator's role
    created_by: str
    expires_at: dt.datetime | None
    revoked: bool
    creator_active: bool


_cache: OrderedDict[str, tuple[_KeyRecord, float]] = OrderedDict()
_cache_lock = threading.Lock()


def hash_key(key: str) -> str:
    """What the database keeps of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


def _fetch_key_record(key_hash: str) -> _KeyRecord | None:
    """The key with this hash (and, when usable and not touched for a minute, stamp its ``last_used_at``)."""
    # Imported here: the WebSocket function authenticates bearer tokens without PostgreSQL, and psycopg
    # costs it 90 ms of cold start.
    from warroom.core.db import connection

    with connection() as conn:
        row = conn.execute(
            "WITH found AS ("
            "  SELECT k.id, k.role, k.created_by, k.expires_at, k.revoked_at,"
            "         u.role AS creator_role, u.status AS creator_status"
            "  FROM api_keys k JOIN users u ON u.id = k.created_by WHERE k.key_hash = %s"
            "), touched AS ("
            "  UPDATE api_keys SET last_used_at = now()"
            "  WHERE id = (SELECT id FROM found"
            "              WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()))"
            "    AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')"
            "  RETURNING id"
            ") SELECT * FROM found",
            (key_hash,),
        ).fetchone()
    if row is None:
        return None
    return _KeyRecord(
        key_id=str(row["id"]),
        # Keys are for integrations: never above manager, whatever an older key row says (administration needs
        # a signed-in person), and never above what their creator is now.
        role=weaker_role(weaker_role(row["role"], row["creator_role"]), MAX_KEY_ROLE),
        created_by=str(row["created_by"]),
        expires_at=row["expires_at"],
        revoked=row["revoked_at"] is not None,
        creator_active=row["creator_status"] == "active",
    )


def _cached_record(key_hash: str) -> _KeyRecord | None:
    ttl_s = get_settings().api_key_cache_ttl_s
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key_hash)
        if hit is not None and now - hit[1] < ttl_s:
            return hit[0]
    record = _fetch_key_record(key_hash)
    if record is not None and ttl_s > 0:  # unknown keys are not cached: a guess must not fill the cache
        with _cache_lock:
            _cache[key_hash] = (record, now)
            _cache.move_to_end(key_hash)
            while len(_cache) > _CACHE_MAX_KEYS:
                _cache.popitem(last=False)
    return record


def forget_cached_keys(key_id: str | None = None) -> None:
    """Drop this container's cached key records (one key's, or all)."""
    with _cache_lock:
        for key_hash in [h for h, (record, _) in _cache.items() if key_id is None or record.key_id == key_id]:
            del _cache[key_hash]


def _refuse(reason: str, message: str) -> Unauthorized:
    return Unauthorized(message, details={"reason": reason})


def authenticate_api_key(key: str) -> Principal:
    """The principal of an ``X-API-Key``; 401 for an unknown, revoked or expired key."""
    key = key.strip()
    if not key.startswith(KEY_SCHEME) or len(key) > MAX_KEY_CHARS:
        raise _refuse("api_key_invalid", "The API key is invalid.")
    record = _cached_record(hash_key(key))
    if record is None or not record.creator_active:
        raise _refuse("api_key_invalid", "The API key is invalid.")
    if record.revoked:
        raise _refuse("api_key_revoked", "The API key has been revoked.")
    if record.expires_at is not None and record.expires_at <= dt.datetime.now(dt.UTC):
        raise _refuse("api_key_expired", "The API key has expired.")
    return Principal(
        user_id=record.created_by,
        role=record.role,
        token_id=f"api_key:{record.key_id}",
        expires_at=record.expires_at or _NEVER,
        via="api_key",
        key_id=record.key_id,
    )
