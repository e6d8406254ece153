"""Request authentication: who is calling, whether they may, and their quota, in one Redis round trip.

Example
-------
>>> app = WarRoomApp("system", authenticate=authenticate_request)   # every HTTP function does this
>>> authenticated = authenticate_request({"authorization": f"Bearer {token}"})
>>> authenticated.principal.role, authenticated.rate_limit_headers["X-RateLimit-Remaining"]
('manager', '9999')

The core imports no domain, so this lives here and is handed to ``WarRoomApp`` (and, by
``functions/realtime``, to the WebSocket ``$connect``), which calls it for every route with a role:

- **Bearer token** (``Authorization: Bearer``; it wins when an ``X-API-Key`` is sent too, and a bad
  token is a 401, never a fallback to the key): the signature and claims are checked in process
  (:func:`warroom.core.security.decode_access_token`, remembered per container for the token's life),
  then **one** ``EVALSHA`` of :data:`_BEARER_SCRIPT` reads the token's deny lists
  (:mod:`warroom.auth.revocation`) and, unless it is revoked, counts the user's request quota
  (:mod:`warroom.core.quotas`). Redis unavailable: neither check applies (fail open, no
  ``X-RateLimit-*`` headers), except that an **admin** token is then held against PostgreSQL: its
  session must be live and its user still an active admin (one indexed query, only during the outage).
- **API key** (``X-API-Key``): the key's record from the container's cache or PostgreSQL
  (:mod:`warroom.auth.api_keys`), then one ``EVALSHA`` counting the key's quota (Redis unavailable:
  this container's own window, same limit).

The script's keys (token deny key, user's revoked-before key, user's window, session deny key) are all
per user, so a cluster deployment would need them in one hash slot; ElastiCache here is one node.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping

from warroom.auth import revocation
from warroom.auth.api_keys import authenticate_api_key
from warroom.core import quotas
from warroom.core.errors import Unauthorized
from warroom.core.ratelimit import MOVING_WINDOW_LUA, RateLimitState, RedisScript, new_member
from warroom.core.security import Authenticated, Principal, bearer_token, decode_access_token, signing_key

_BEARER_SCRIPT = RedisScript(
    "authenticate_bearer",
    revocation.REVOCATION_LUA
    + MOVING_WINDOW_LUA
    + """
-- KEYS: token deny, user revoked-before, user quota window, [session deny]
-- ARGV: token iat (epoch s), quota limit (0: none), window ms, now ms, member
-- Returns {0} revoked, {1} valid (no quota), {1, allowed, remaining, reset_ms} valid and counted.
if is_revoked(KEYS[1], KEYS[2], KEYS[4], ARGV[1]) then return {0} end
local limit = tonumber(ARGV[2])
if limit <= 0 then return {1} end
local state = moving_window_hit(KEYS[3], limit, tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5])
return {1, state[1], state[2], state[3]}
""",
)
_WINDOW_MS = quotas.WINDOW_S * 1000
_NO_QUOTA: Mapping[str, str] = {}

# Tokens this container has verified. A dashboard sends one token for its 15 minutes, and checking its
# signature and claims again costs a tenth of the request's authentication. Keyed by the whole token,
# signature included, so only the very string that verified can hit; expiry is checked on every request.
_VERIFIED_MAX = 4096
_verified: dict[str, tuple[Principal, float, str]] = {}


def _verified_principal(token: str) -> Principal:
    key = signing_key()
    hit = _verified.get(token)
    if hit is not None and hit[2] == key and time.time() < hit[1]:
        return hit[0]
    principal = decode_access_token(token)  # 401 when invalid or expired
    if len(_verified) >= _VERIFIED_MAX:
        _verified.clear()  # a bound, not an LRU: refilling costs one verification per active token
    _verified[token] = (principal, principal.expires_at.timestamp(), key)
    return principal


def authenticate_request(headers: Mapping[str, str]) -> Authenticated:
    """The caller of a request and its quota headers, from ``Authorization: Bearer`` or ``X-API-Key``.

    401 for a missing, malformed, expired, revoked or unknown credential; 429 past the quota.
    ``headers`` is a case-insensitive mapping (Chalice's) or has lower-case names.
    """
    token = bearer_token(headers)
    if token is not None:
        return _check_bearer(_verified_principal(token))
    api_key = headers.get("x-api-key") or headers.get("X-API-Key")
    if api_key:
        principal = authenticate_api_key(api_key)
        return Authenticated(principal, quotas.count_api_key_request(principal.key_id or principal.token_id))
    raise Unauthorized("Authentication is required: send 'Authorization: Bearer <access token>' or 'X-API-Key: <key>'.")


def _check_bearer(principal: Principal) -> Authenticated:
    """Revocation and the user's quota, one script call."""
    limit = quotas.user_limit_per_hour()
    deny_key, revoked_before_key, session_key = revocation.revocation_keys(
        principal.token_id, principal.user_id, principal.session_id
    )
    keys = [deny_key, revoked_before_key, quotas.user_window_key(principal.user_id)]
    if session_key is not None:
        keys.append(session_key)
    issued_at = principal.issued_at.timestamp() if principal.issued_at else 0.0
    now_ms = int(time.time() * 1000)
    answer = _BEARER_SCRIPT.run(keys, [repr(issued_at), limit, _WINDOW_MS, now_ms, new_member(now_ms)])
    if answer is None:  # Redis unavailable: no deny list, no quota (fail open, see warroom.core.quotas) ...
        if principal.role == "admin":  # ... but an admin token is held against PostgreSQL: the most it can do
            _check_admin_in_postgres(principal)
        return Authenticated(principal, _NO_QUOTA)
    if not int(answer[0]):
        raise Unauthorized("The access token has been revoked.", details={"reason": "token_revoked"})
    if len(answer) == 1:
        return Authenticated(principal, _NO_QUOTA)
    return Authenticated(principal, quotas.quota_headers(RateLimitState.from_script(limit, answer[1:])))


def _check_admin_in_postgres(principal: Principal) -> None:
    """While Redis is unavailable, an admin token works only if its session is live in PostgreSQL (a logout or
    logout-all revoked it there too) and its user is still an active admin; 401 otherwise."""
    from warroom.core.db import connection

    with connection() as conn:
        row = conn.execute(
            "SELECT u.status, u.role, s.revoked_at, s.expires_at, s.id IS NOT NULL AS has_session"
            " FROM users AS u LEFT JOIN user_sessions AS s ON s.id = %s AND s.user_id = u.id WHERE u.id = %s",
            (principal.session_id, principal.user_id),
        ).fetchone()
    session_ok = principal.session_id is None or (
        row is not None
        and row["has_session"]
        and row["revoked_at"] is None
        and row["expires_at"] > dt.datetime.now(dt.UTC)
    )
    if row is None or row["status"] != "active" or row["role"] != "admin" or not session_ok:
        raise Unauthorized("The access token has been revoked.", details={"reason": "token_revoked"})


def verify_access_token(token: str) -> Principal:
    """A token's principal if it is valid now, revocation included, without counting a request
    (``POST /auth/token/verify`` checks someone else's token)."""
    principal = decode_access_token(token)
    issued_at = principal.issued_at.timestamp() if principal.issued_at else 0.0
    if revocation.is_revoked(principal.token_id, principal.user_id, issued_at, session_id=principal.session_id):
        raise Unauthorized("The access token has been revoked.", details={"reason": "token_revoked"})
    return principal
