"""Access tokens, roles and the guard every protected route goes through.

Example
-------
>>> token = issue_access_token(user_id="5f0c...", role="manager")
>>> principal = authenticate({"authorization": f"Bearer {token}"})
>>> require(principal, "user")          # passes: manager >= user
>>> require(principal, "admin")         # raises Forbidden (403)

Tokens are HS256 JWTs with the algorithm pinned on decode (``alg: none`` and algorithm-confusion
tokens are refused), 15 minutes of life, and ``iss``/``aud``/``sub``/``role``/``jti`` required.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import jwt

from warroom.core.config import get_settings
from warroom.core.errors import DependencyUnavailable, Forbidden, Unauthorized

Role = Literal["readonly", "user", "manager", "admin"]
ROLES: tuple[Role, ...] = ("readonly", "user", "manager", "admin")
_ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}
JWT_ALGORITHM = "HS256"
_REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "role", "jti"]


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's subject and role."""

    user_id: str
    role: Role
    token_id: str
    expires_at: dt.datetime
    via: Literal["bearer", "api_key"] = "bearer"
    issued_at: dt.datetime | None = None
    # The login session (``user_sessions.id``) a bearer token was issued for: its ``sid`` claim.
    session_id: str | None = None
    # The API key (``api_keys.id``) of a ``via="api_key"`` caller; ``user_id`` is then the key's creator.
    key_id: str | None = None


def role_at_least(role: str, minimum: Role) -> bool:
    """``readonly < user < manager < admin``."""
    return role in _ROLE_RANK and _ROLE_RANK[role] >= _ROLE_RANK[minimum]


def _signing_key() -> str:
    secret = get_settings().jwt_secret
    if secret is None or len(secret.get_secret_value()) < 32:
        # Refuse to sign or verify with a missing or guessable key rather than run insecurely.
        raise DependencyUnavailable("secrets", "The token signing key is not configured.")
    return secret.get_secret_value()


def signing_key() -> str:
    """The HS256 key (503 when missing or too short); other signed tokens, such as the MFA step's, use it too."""
    return _signing_key()


def issue_access_token(
    user_id: str,
    role: Role,
    *,
    ttl_s: int | None = None,
    now: dt.datetime | None = None,
    session_id: str | None = None,
) -> str:
    """A signed access token for ``user_id`` acting as ``role``; ``session_id`` adds the ``sid`` claim."""
    if role not in _ROLE_RANK:
        raise ValueError(f"unknown role {role!r}")
    settings = get_settings()
    issued_at = now or dt.datetime.now(dt.UTC)
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": str(user_id),
        "role": role,
        "jti": uuid.uuid4().hex,
        # Fractional (RFC 7519 allows it) so "revoke all tokens issued before now" is exact to the millisecond.
        "iat": round(issued_at.timestamp(), 3),
        "exp": issued_at + dt.timedelta(seconds=ttl_s if ttl_s is not None else settings.access_token_ttl_s),
    }
    if session_id is not None:
        claims["sid"] = str(session_id)
    return jwt.encode(claims, _signing_key(), algorithm=JWT_ALGORITHM)


def decode_access_token(token: str) -> Principal:
    """Verify signature, algorithm, expiry, issuer and audience; 401 on any failure."""
    settings = get_settings()
    try:
        claims = jwt.decode(
            token,
            _signing_key(),
            algorithms=[JWT_ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": _REQUIRED_CLAIMS},
            leeway=5,
        )
    except jwt.ExpiredSignatureError as error:
        raise Unauthorized("The access token has expired.", details={"reason": "token_expired"}) from error
    except jwt.InvalidTokenError as error:
        raise Unauthorized("The access token is invalid.", details={"reason": "token_invalid"}) from error
    if claims["role"] not in _ROLE_RANK:
        raise Unauthorized("The access token is invalid.", details={"reason": "token_invalid"})
    principal = Principal(
        user_id=str(claims["sub"]),
        role=claims["role"],
        token_id=str(claims["jti"]),
        expires_at=dt.datetime.fromtimestamp(claims["exp"], dt.UTC),
        issued_at=dt.datetime.fromtimestamp(claims["iat"], dt.UTC),
        session_id=str(claims["sid"]) if claims.get("sid") else None,
    )
    from warroom.auth.revocation import is_revoked

    if is_revoked(principal.token_id, principal.user_id, claims["iat"], session_id=principal.session_id):
        raise Unauthorized("The access token has been revoked.", details={"reason": "token_revoked"})
    return principal


def authenticate(headers: Mapping[str, str]) -> Principal:
    """The caller of a request, from ``Authorization: Bearer`` or ``X-API-Key`` (case-insensitive mapping).

    When both are sent the bearer token is used and the key ignored (a bad token is a 401, never a
    fallback to the key). API keys are verified by :func:`warroom.admin.api_keys.authenticate_api_key`.
    """
    header = headers.get("authorization") or headers.get("Authorization")
    if not header:
        api_key = headers.get("x-api-key") or headers.get("X-API-Key")
        if api_key:
            from warroom.admin.api_keys import authenticate_api_key

            return authenticate_api_key(api_key)
        raise Unauthorized(
            "Authentication is required: send 'Authorization: Bearer <access token>' or 'X-API-Key: <key>'."
        )
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("The Authorization header must be 'Bearer <access token>'.")
    return decode_access_token(token.strip())


def require(principal: Principal, minimum: Role) -> Principal:
    """403 unless the principal's role is at least ``minimum``."""
    if not role_at_least(principal.role, minimum):
        raise Forbidden(
            f"This action needs the '{minimum}' role or higher.",
            details={"required_role": minimum, "your_role": principal.role},
        )
    return principal
