"""Revoking access tokens before they expire: one token, every token of one login session (logout,
a session revoked from another device, refresh-token reuse) or all of a user's (logout-all,
password reset, deactivation).

Access tokens are stateless JWTs, so revocation is a Redis deny-list, consulted on every request by
:func:`warroom.auth.guard.authenticate_request` in the same Lua script that counts the user's quota
(:data:`REVOCATION_LUA`; one round trip for the whole check):

- ``auth:deny:<jti>`` -- this token is revoked (kept until the token would have expired);
- ``auth:deny_session:<session id>`` -- every token carrying this ``sid`` is revoked (kept for one
  access-token lifetime: the session itself is revoked in PostgreSQL, so it mints no new ones);
- ``auth:revoked_before:<user id>`` -- every token of this user issued before that epoch second is
  revoked (kept for one access-token lifetime, after which no such token can still be valid).

When Redis is unavailable the check fails open for bearer tokens (a revoked token then lives at most
its remaining 15 minutes) and health reports Redis down; sessions and refresh tokens, which live in
PostgreSQL, are revoked regardless, so no revocation can be renewed. Redis refusing writes (``OOM``,
``READONLY``) does not open it: the script reads the deny lists before its first write and answers a
revoked token without writing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from warroom.core import cache
from warroom.core.config import get_settings

logger = logging.getLogger(__name__)

# Lua: whether a token is revoked, from its deny keys (the session's may be nil) and its ``iat``.
REVOCATION_LUA = """
local function is_revoked(deny_key, revoked_before_key, session_key, issued_at)
  if redis.call('EXISTS', deny_key) == 1 then return true end
  if session_key and redis.call('EXISTS', session_key) == 1 then return true end
  local revoked_before = redis.call('GET', revoked_before_key)
  return revoked_before ~= false and tonumber(issued_at) < tonumber(revoked_before)
end
"""


def revocation_keys(token_id: str, user_id: str, session_id: str | None) -> tuple[str, str, str | None]:
    """The deny keys :data:`REVOCATION_LUA` reads for one token: its own, its user's and its session's."""
    return _deny_key(token_id), _before_key(user_id), _session_key(session_id) if session_id else None


def _deny_key(token_id: str) -> str:
    return f"auth:deny:{token_id}"


def _before_key(user_id: str) -> str:
    return f"auth:revoked_before:{user_id}"


def _session_key(session_id: str) -> str:
    return f"auth:deny_session:{session_id}"


def _recorded(operation: str, write: Callable[[Any], Any]) -> bool:
    """Run a deny-list write; False (logged) when Redis is unavailable or refuses it (``OOM``, ``READONLY``):
    the sign-out itself still succeeds, its sessions being revoked in PostgreSQL."""
    if cache.run(operation, write) is None:
        logger.warning("access-token revocation not recorded in Redis (%s)", operation)
        return False
    return True


def revoke_token(token_id: str, expires_at_epoch: float) -> bool:
    """Deny one access token until it expires; False if Redis could not record it."""
    ttl_s = max(1, int(expires_at_epoch - time.time()) + 1)
    return _recorded("deny_token", lambda r: r.set(_deny_key(token_id), 1, ex=ttl_s))


def revoke_user_tokens(user_id: str) -> bool:
    """Deny every access token of ``user_id`` issued up to now."""
    ttl_s = get_settings().access_token_ttl_s + 60
    now = round(time.time(), 3)
    return _recorded("deny_user", lambda r: r.set(_before_key(user_id), now, ex=ttl_s))


def revoke_session_tokens(session_ids: list[str]) -> bool:
    """Deny every access token issued for these login sessions; False if Redis could not record it."""
    if not session_ids:
        return True
    ttl_s = get_settings().access_token_ttl_s + 60

    def deny(r):
        pipeline = r.pipeline(transaction=False)
        for session_id in session_ids:
            pipeline.set(_session_key(str(session_id)), 1, ex=ttl_s)
        return pipeline.execute()

    return _recorded("deny_sessions", deny)


def is_revoked(token_id: str, user_id: str, issued_at_epoch: float, *, session_id: str | None = None) -> bool:
    """Whether a token was revoked, outside the request path (``POST /auth/token/verify``, the MFA token's
    single use); False when Redis cannot tell: fail open, see module docstring."""
    keys = [_deny_key(token_id), _before_key(user_id)] + ([_session_key(session_id)] if session_id else [])
    found = cache.run("is_revoked", lambda r: r.mget(keys), default=None)
    if not found:
        return False
    denied, revoked_before, *session_denied = found
    return (
        denied is not None
        or any(value is not None for value in session_denied)
        or (revoked_before is not None and issued_at_epoch < float(revoked_before))
    )
