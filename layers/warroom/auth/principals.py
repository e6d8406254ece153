"""Small helpers about who is acting, shared by the auth modules.

Example
-------
>>> require_bearer(principal)              # 403 bearer_token_required for an API key
>>> as_user(ctx.actor(), user_id)          # the request's IP and user agent, acting as user_id
"""

from __future__ import annotations

from typing import Any

from warroom.core.errors import BearerTokenRequired
from warroom.core.security import Principal


def require_bearer(principal: Principal) -> Principal:
    """Session and credential actions belong to a signed-in user, not to an API key."""
    if principal.via != "bearer":
        raise BearerTokenRequired()
    return principal


def as_user(actor: dict[str, Any], user_id: str | None) -> dict[str, Any]:
    """The request's actor (IP, user agent) acting as ``user_id`` (public routes learn the user only later)."""
    return {**actor, "user_id": user_id}
