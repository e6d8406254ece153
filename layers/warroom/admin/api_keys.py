"""API keys: created by admins for external tools, accepted on every protected route as ``X-API-Key``.

Example
-------
>>> created = create_api_key("BI nightly export", "readonly", None, principal, ctx.actor())
>>> created.key                                   # 'wr_3f9a1c0b7d2e_...': shown this once
>>> authenticate_api_key(created.key).role        # what warroom.core.security.authenticate calls
'readonly'

**Format.** ``wr_<prefix>_<secret>``: a random 12-hex-character prefix (unique; lists show it so
people can tell keys apart) and 43 URL-safe characters holding 256 random bits. Only the key's
SHA-256 is stored: with 256 bits of entropy there is no dictionary to attack, so a fast hash is
enough, and the lookup is one equality on the unique index of ``key_hash``.

**Who a key is.** A key acts as its creator (``user_id``) with the key's role, capped by the
creator's *current* role: demoting the creator demotes their keys, and a deactivated creator's keys
stop working. Keys cannot create keys (a leaked key must not be able to outlive its revocation).

**Cost per request.** A key's record is cached in the container for ``WARROOM_API_KEY_CACHE_TTL_S``
(30 s), so a busy key costs one PostgreSQL lookup per 30 s per container. The price: a revocation
(or the creator's demotion or deactivation) takes effect at once in the container that made it and
**within 30 s in the others**. Expiry is checked on every request against the cached expiry.
``last_used_at`` is written by the lookup itself, and only when it is more than a minute old.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from warroom.audit import record_audit, set_actor
from warroom.core.config import get_settings
from warroom.core.db import connection
from warroom.core.errors import Forbidden, NotFound, Unauthorized
from warroom.core.ids import uuid_or_not_found
from warroom.core.pagination import Keyset, Page, TimeIdPosition
from warroom.core.security import ROLES, Principal, Role, role_at_least

if TYPE_CHECKING:
    from warroom.admin.models import ApiKeyCreated

KEY_SCHEME = "wr_"
PREFIX_HEX_CHARS = 12
SECRET_BYTES = 32
MAX_KEY_CHARS = 128
_CACHE_MAX_KEYS = 1024
_NEVER = dt.datetime.max.replace(tzinfo=dt.UTC)
_KEY_COLUMNS = "id, name, prefix, role, created_by, created_at, expires_at, revoked_at, last_used_at"


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


def new_key() -> tuple[str, str]:
    """A fresh key and its prefix."""
    prefix = secrets.token_hex(PREFIX_HEX_CHARS // 2)
    return f"{KEY_SCHEME}{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}", prefix


def _lower_role(a: str, b: str) -> Role:
    return a if ROLES.index(a) <= ROLES.index(b) else b  # type: ignore[return-value,arg-type]


def _fetch_key_record(key_hash: str) -> _KeyRecord | None:
    """The key with this hash (and, when usable and not touched for a minute, stamp its ``last_used_at``)."""
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
        role=_lower_role(row["role"], row["creator_role"]),
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


def _status(row: dict[str, Any]) -> str:
    if row["revoked_at"] is not None:
        return "revoked"
    if row["expires_at"] is not None and row["expires_at"] <= dt.datetime.now(dt.UTC):
        return "expired"
    return "active"


def _key_out(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **{name: row[name] for name in ("name", "prefix", "role", "created_at", "expires_at", "revoked_at")},
        "id": str(row["id"]),
        "created_by": str(row["created_by"]),
        "last_used_at": row["last_used_at"],
        "status": _status(row),
    }


API_KEYS_KEYSET = Keyset("admin.api_keys", TimeIdPosition)


def list_api_keys(cursor: str | None, limit: int) -> Page[Any]:
    """Every key (active, revoked and expired), newest first; never a key or its hash."""
    from warroom.admin.models import ApiKeyOut  # the models (and email validation) are not needed to authenticate

    after = API_KEYS_KEYSET.decode(cursor)
    where, params = "", []
    if after:
        where, params = " WHERE (created_at, id) < (%s::timestamptz, %s::uuid)", [after.t, after.id]
    with connection() as conn:
        rows = conn.execute(
            f"SELECT {_KEY_COLUMNS} FROM api_keys{where} ORDER BY created_at DESC, id DESC LIMIT %s",  # noqa: S608
            (*params, limit + 1),
        ).fetchall()
    page = API_KEYS_KEYSET.page(rows, limit, lambda row: TimeIdPosition(t=row["created_at"], id=row["id"]))
    return page.map(lambda row: ApiKeyOut(**_key_out(row)))


def create_api_key(
    name: str, role: Role, expires_at: dt.datetime | None, creator: Principal, actor: dict[str, Any]
) -> ApiKeyCreated:
    """A new key for ``creator``; its role may not exceed the creator's (token's and current) role."""
    from warroom.admin.models import ApiKeyCreated

    if creator.via == "api_key":
        from warroom.auth.errors import BearerTokenRequired

        raise BearerTokenRequired("API keys are created by a signed-in user, not with another API key.")
    key, prefix = new_key()
    with connection() as conn:
        set_actor(conn, creator.user_id)
        user = conn.execute("SELECT role, status FROM users WHERE id = %s", (creator.user_id,)).fetchone()
        creator_role = _lower_role(creator.role, user["role"]) if user and user["status"] == "active" else None
        if creator_role is None or not role_at_least(creator_role, role):
            raise Forbidden(
                "An API key cannot have a higher role than its creator.",
                details={"requested_role": role, "your_role": creator_role},
            )
        row = conn.execute(
            "INSERT INTO api_keys (name, prefix, key_hash, role, created_by, expires_at)"  # noqa: S608
            f" VALUES (%s, %s, %s, %s, %s, %s) RETURNING {_KEY_COLUMNS}",
            (name, prefix, hash_key(key), role, creator.user_id, expires_at),
        ).fetchone()
        details = {
            "name": name,
            "role": role,
            "prefix": prefix,
            "expires_at": expires_at.isoformat() if expires_at else None,
        }
        record_audit(conn, "admin.api_key_create", "api_key", str(row["id"]), details, actor)
    return ApiKeyCreated(**_key_out(row), key=key)


def revoke_api_key(key_id: str, actor: dict[str, Any]) -> None:
    """Revoke a key (kept, with ``revoked_at``, for the record); 404 if unknown, nothing new if already revoked."""
    key_id = uuid_or_not_found(key_id, "API key")
    with connection() as conn:
        set_actor(conn, actor.get("user_id"))
        row = conn.execute("SELECT id, prefix, revoked_at FROM api_keys WHERE id = %s FOR UPDATE", (key_id,)).fetchone()
        if row is None:
            raise NotFound("No API key with this id.", details={"resource": "API key"})
        if row["revoked_at"] is None:
            conn.execute("UPDATE api_keys SET revoked_at = now() WHERE id = %s", (key_id,))
            record_audit(conn, "admin.api_key_revoke", "api_key", key_id, {"prefix": row["prefix"]}, actor)
    forget_cached_keys(key_id)
