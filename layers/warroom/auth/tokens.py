"""Opaque tokens (refresh, email links) and the MFA step's short-lived signed token.

Example
-------
>>> token = new_opaque_token()          # 43 URL-safe characters, 256 random bits
>>> token_hash(token)                   # what the database stores: SHA-256, hex
>>> mfa_token = issue_mfa_token(user_id)
>>> decode_mfa_token(mfa_token)         # -> (user id, jti, exp epoch); 401 when invalid/expired/used

Opaque tokens are stored only as their SHA-256: they are 256-bit random values, so a fast hash is
enough (no dictionary to attack) and lets the database find a token by an indexed lookup.

The MFA token proves "this caller gave the right password for this user, less than 5 minutes ago".
It is an HS256 JWT with the signing key of access tokens but its own audience (``<aud>:mfa``), a
``typ`` of ``mfa`` and no ``role``: :func:`warroom.core.security.decode_access_token` refuses it
(wrong audience, no role), and this module refuses access tokens. It is single-use: completing the
login denies its ``jti`` (the access-token deny list, so it has the same Redis-down behaviour).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid

import psycopg

from warroom.auth.errors import InvalidMfaToken
from warroom.auth.revocation import is_revoked, revoke_token
from warroom.core.config import get_settings
from warroom.core.security import JWT_ALGORITHM, signing_key

OPAQUE_TOKEN_BYTES = 32
MFA_TOKEN_TTL_S = 300
_MFA_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "jti", "typ"]


def new_opaque_token() -> str:
    """A fresh random token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(OPAQUE_TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What the database keeps of an opaque token."""
    return hashlib.sha256(token.encode()).hexdigest()


def keyed_digest(purpose: str, value: str) -> str:
    """An HMAC of ``value`` with a key derived from the signing key: a stable pseudonym that, unlike a plain
    hash of an email, cannot be reversed by hashing a list of likely emails."""
    key = hmac.new(signing_key().encode(), f"warroom:{purpose}".encode(), hashlib.sha256).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def _mfa_audience() -> str:
    return f"{get_settings().jwt_audience}:mfa"


def issue_mfa_token(user_id: str) -> str:
    """A 5-minute token for the second step of ``user_id``'s login."""
    import jwt  # PyJWT (with cryptography, ~40 ms) only on the sign-in paths, not in every function using auth

    settings = get_settings()
    now = dt.datetime.now(dt.UTC)
    claims = {
        "iss": settings.jwt_issuer,
        "aud": _mfa_audience(),
        "sub": str(user_id),
        "typ": "mfa",
        "jti": uuid.uuid4().hex,
        "iat": round(now.timestamp(), 3),
        "exp": now + dt.timedelta(seconds=MFA_TOKEN_TTL_S),
    }
    return jwt.encode(claims, signing_key(), algorithm=JWT_ALGORITHM)


def decode_mfa_token(token: str) -> tuple[str, str, float]:
    """``(user id, jti, exp)`` of a valid, unused MFA token; 401 otherwise."""
    import jwt

    try:
        claims = jwt.decode(
            token,
            signing_key(),
            algorithms=[JWT_ALGORITHM],
            audience=_mfa_audience(),
            issuer=get_settings().jwt_issuer,
            options={"require": _MFA_CLAIMS},
            leeway=5,
        )
    except jwt.ExpiredSignatureError as error:
        raise InvalidMfaToken(details={"reason": "mfa_token_expired"}) from error
    except jwt.InvalidTokenError as error:
        raise InvalidMfaToken(details={"reason": "mfa_token_invalid"}) from error
    if claims["typ"] != "mfa":
        raise InvalidMfaToken(details={"reason": "mfa_token_invalid"})
    if is_revoked(str(claims["jti"]), str(claims["sub"]), float(claims["iat"])):
        raise InvalidMfaToken(details={"reason": "mfa_token_used"})
    return str(claims["sub"]), str(claims["jti"]), float(claims["exp"])


def spend_mfa_token(conn: psycopg.Connection, jti: str, user_id: str, expires_at_epoch: float) -> None:
    """Spend an MFA token, atomically, before its code is checked; 401 ``mfa_token_used`` if it was spent.

    A row per spent token (primary key ``jti``): of two concurrent spends one inserts and the other waits on
    it, then finds it. A wrong code spends the token too -- the user signs in again (and lockout counts it).
    """
    spent = conn.execute(
        "INSERT INTO spent_mfa_tokens (jti, user_id, expires_at) VALUES (%s, %s, to_timestamp(%s))"
        " ON CONFLICT (jti) DO NOTHING RETURNING jti",
        (jti, user_id, expires_at_epoch),
    ).fetchone()
    if spent is None:
        raise InvalidMfaToken(details={"reason": "mfa_token_used"})
    revoke_token(jti, expires_at_epoch)  # the Redis deny-list answers later replays without a query


def prune_spent_mfa_tokens(conn: psycopg.Connection, now: dt.datetime) -> int:
    """Forget spent MFA tokens that have expired (they are refused as expired from then on)."""
    return conn.execute("DELETE FROM spent_mfa_tokens WHERE expires_at < %s", (now,)).rowcount
