"""API keys: created by admins for external tools, accepted on every protected route as ``X-API-Key``.

Example
-------
>>> created = create_api_key("BI nightly export", "readonly", None, principal, ctx.actor())
>>> created.key                                   # 'wr_3f9a1c0b7d2e_...': shown this once
>>> revoke_api_key(created.id, ctx.actor())       # refused at once here, within 30 s in other containers

This module creates, lists and revokes keys; recognising one on a request (the format, the lookup and
its per-container cache, who a key acts as) is :mod:`warroom.auth.api_keys`, which this module tells
when a key is revoked. Keys cannot create keys (a leaked key must not be able to outlive its revocation).
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import TYPE_CHECKING, Any

from warroom.audit import record_audit, set_actor
from warroom.auth.api_keys import KEY_SCHEME, forget_cached_keys, hash_key
from warroom.core.db import connection
from warroom.core.errors import Forbidden, NotFound
from warroom.core.ids import uuid_or_not_found
from warroom.core.pagination import Keyset, Page, TimeIdPosition
from warroom.core.security import Principal, Role, role_at_least, weaker_role
from warroom.realtime import close_connections_of

if TYPE_CHECKING:
    from warroom.admin.models import ApiKeyCreated

PREFIX_HEX_CHARS = 12
SECRET_BYTES = 32
_KEY_COLUMNS = "id, name, prefix, role, created_by, created_at, expires_at, revoked_at, last_used_at"


def new_key() -> tuple[str, str]:
    """A fresh key and its prefix."""
    prefix = secrets.token_hex(PREFIX_HEX_CHARS // 2)
    return f"{KEY_SCHEME}{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}", prefix


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
        from warroom.core.errors import BearerTokenRequired

        raise BearerTokenRequired("API keys are created by a signed-in user, not with another API key.")
    key, prefix = new_key()
    with connection() as conn:
        set_actor(conn, creator.user_id)
        user = conn.execute("SELECT role, status FROM users WHERE id = %s", (creator.user_id,)).fetchone()
        creator_role = weaker_role(creator.role, user["role"]) if user and user["status"] == "active" else None
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
        row = conn.execute(
            "SELECT id, prefix, revoked_at, created_by FROM api_keys WHERE id = %s FOR UPDATE", (key_id,)
        ).fetchone()
        if row is None:
            raise NotFound("No API key with this id.", details={"resource": "API key"})
        if row["revoked_at"] is None:
            conn.execute("UPDATE api_keys SET revoked_at = now() WHERE id = %s", (key_id,))
            record_audit(conn, "admin.api_key_revoke", "api_key", key_id, {"prefix": row["prefix"]}, actor)
    forget_cached_keys(key_id)
    close_connections_of(str(row["created_by"]), key_id=key_id)
