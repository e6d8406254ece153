"""Revoking access tokens before they expire: one token, every token of one login session (logout,
a session revoked from another device, refresh-token reuse) or all of a user's (logout-all,
password reset, deactivation).

Access tokens are stateless JWTs, so revocation is a Redis deny-list consulted by
:func:`warroom.core.security.authenticate` with one ``MGET`` per request:

- ``auth:deny:<jti>`` -- this token is revoked (kept until the token would have expired);
- ``auth:deny_session:<session id>`` -- every token carrying this ``sid`` is revoked (kept for one
  access-token lifetime: the session itself is revoked in PostgreSQL, so it mints no new ones);
- ``auth:revoked_before:<user id>`` -- every token of this user issued before that epoch second is
  revoked (kept for one access-token lifetime, after which no such token can still be valid).

When Redis is down the check fails open for bearer tokens (a revoked token then lives at most its
remaining 15 minutes) and health reports Redis down; sessions and refresh tokens, which live in
PostgreSQL, are revoked regardless, so no revoked login can be renewed.
"""

from __future__ import annotations

import time

from warroom.core import cache
from warroom.core.config import get_settings


def _deny_key(token_id: str) -> str:
    return f"auth:deny:{token_id}"


def _before_key(user_id: str) -> str:
    return f"auth:revoked_before:{user_id}"


def _session_key(session_id: str) -> str:
    return f"auth:deny_session:{session_id}"


def revoke_token(token_id: str, expires_at_epoch: float) -> bool:
    """Deny one access token until it expires; False if Redis could not record it."""
    ttl_s = max(1, int(expires_at_epoch - time.time()) + 1)
    return cache.run("deny_token", lambda r: r.set(_deny_key(token_id), 1, ex=ttl_s)) is not None


def revoke_user_tokens(user_id: str) -> bool:
    """Deny every access token of ``user_id`` issued up to now."""
    ttl_s = get_settings().access_token_ttl_s + 60
    now = round(time.time(), 3)
    return cache.run("deny_user", lambda r: r.set(_before_key(user_id), now, ex=ttl_s)) is not None


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

    return cache.run("deny_sessions", deny) is not None


def is_revoked(token_id: str, user_id: str, issued_at_epoch: float, *, session_id: str | None = None) -> bool:
    """Whether a token was revoked (False when Redis cannot tell: fail open, see module docstring)."""
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
