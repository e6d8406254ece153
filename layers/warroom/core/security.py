"""Access tokens and roles: the domain-free half of authentication.

Example
-------
>>> token = issue_access_token(user_id="5f0c...", role="manager")
>>> principal = decode_access_token(token)   # signature and claims only: no revocation, no quota
>>> require(principal, "user")               # passes: manager >= user
>>> require(principal, "admin")              # raises Forbidden (403)

**Where request authentication lives.** The core imports no domain. Deciding who a request is
(bearer token with its revocation check, API key with its lookup, the request quota) needs the
``auth`` domain's Redis deny lists and the ``api_keys`` table, so it lives in
:func:`warroom.auth.guard.authenticate_request` and is handed to each
``WarRoomApp(app_name, authenticate=...)`` (and to the WebSocket ``$connect``). This module keeps what
needs no domain: roles, :class:`Principal`, what an authenticator answers (:class:`Authenticated`),
signing, the pure token check and the ``require`` guard.

Tokens are HS256 JWTs, 15 minutes of life, ``iss``/``aud``/``sub``/``role``/``jti`` required. They are
issued with PyJWT (imported on the sign-in path only) and verified here with the standard library:
the algorithm is pinned (``alg: none`` and algorithm-confusion tokens are refused), the HMAC is
compared in constant time, and the claims are checked as PyJWT checks them. The reason is cost:
PyJWT's decode spends about 55 us a request here on key-shape checks that mean nothing for a fixed
HMAC secret, a quarter of the whole per-request authentication budget.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from warroom.core.config import get_settings
from warroom.core.errors import DependencyUnavailable, Forbidden, Unauthorized

Role = Literal["readonly", "user", "manager", "admin"]
ROLES: tuple[Role, ...] = ("readonly", "user", "manager", "admin")
_ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}
JWT_ALGORITHM = "HS256"
_REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub", "role", "jti")
_LEEWAY_S = 5
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


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


@dataclass(frozen=True)
class Authenticated:
    """What a request authenticator answers: the caller and the ``X-RateLimit-*`` headers of its quota
    (empty when no quota applies or it could not be counted)."""

    principal: Principal
    rate_limit_headers: Mapping[str, str]


# A request authenticator: the request's headers (case-insensitive mapping) -> the caller, or 401/429/503.
RequestAuthenticator = Callable[[Mapping[str, str]], Authenticated]


def role_at_least(role: str, minimum: Role) -> bool:
    """``readonly < user < manager < admin``."""
    return role in _ROLE_RANK and _ROLE_RANK[role] >= _ROLE_RANK[minimum]


# API keys serve integrations; administering (users, keys, settings, data mode, simulate) takes a person.
MAX_KEY_ROLE: Role = "manager"
KeyRole = Literal["readonly", "user", "manager"]


def weaker_role(first: Role, second: Role) -> Role:
    """The lower of two roles (an API key's role capped by its creator's)."""
    return first if _ROLE_RANK[first] <= _ROLE_RANK[second] else second


def signing_key() -> str:
    """The HS256 key (503 when missing or too short); other signed tokens, such as the MFA step's, use it too."""
    secret = get_settings().jwt_secret
    if secret is None or len(secret.get_secret_value()) < 32:
        # Refuse to sign or verify with a missing or guessable key rather than run insecurely.
        raise DependencyUnavailable("secrets", "The token signing key is not configured.")
    return secret.get_secret_value()


def secret_box(purpose: str) -> Any:
    """A Fernet cipher (AES-128-CBC + HMAC-SHA256) for secrets stored at rest that the code must read back (MFA
    seeds, webhook signing secrets), keyed by HKDF-SHA256 from the signing key with ``purpose`` in the info string,
    so each kind of secret has a key of its own and one kind's ciphertext never decrypts as another's."""
    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    info = f"warroom {purpose} secret v1".encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(signing_key().encode())
    return Fernet(base64.urlsafe_b64encode(key))


def issue_access_token(
    user_id: str,
    role: Role,
    *,
    ttl_s: int | None = None,
    now: dt.datetime | None = None,
    session_id: str | None = None,
) -> str:
    """A signed access token for ``user_id`` acting as ``role``; ``session_id`` adds the ``sid`` claim."""
    import jwt  # only the sign-in paths issue tokens; verifying needs no PyJWT

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
    return jwt.encode(claims, signing_key(), algorithm=JWT_ALGORITHM)


def _invalid() -> Unauthorized:
    return Unauthorized("The access token is invalid.", details={"reason": "token_invalid"})


def _segment(encoded: str) -> bytes:
    """One base64url segment, strictly: only the URL-safe alphabet, no padding (RFC 7515)."""
    if len(encoded) % 4 == 1 or not _BASE64URL.fullmatch(encoded):
        raise _invalid()
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError) as error:
        raise _invalid() from error


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError as error:  # also UnicodeDecodeError
        raise _invalid() from error
    if not isinstance(value, dict):
        raise _invalid()
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def verify_access_token_claims(token: str, *, now: float | None = None) -> dict[str, Any]:
    """The claims of a well-signed, unexpired access token of this issuer and audience; 401 otherwise.

    Pure: no revocation (that is Redis, in :mod:`warroom.auth.guard`). ``now`` is epoch seconds.
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise _invalid()
    header_b64, payload_b64, signature_b64 = parts
    header = _json_object(_segment(header_b64))
    # Pinned: anything but HS256 (none, RS256 with our secret as a "public key", ...) is refused; so are
    # critical extensions, which we implement none of (RFC 7515 4.1.11).
    if header.get("alg") != JWT_ALGORITHM or "crit" in header:
        raise _invalid()
    try:
        signing_input = f"{header_b64}.{payload_b64}".encode("ascii")
    except UnicodeEncodeError as error:
        raise _invalid() from error
    expected = hmac.new(signing_key().encode(), signing_input, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, _segment(signature_b64)):
        raise _invalid()
    claims = _json_object(_segment(payload_b64))
    settings = get_settings()
    now = time.time() if now is None else now
    if any(name not in claims for name in _REQUIRED_CLAIMS):
        raise _invalid()
    if not (_is_number(claims["exp"]) and _is_number(claims["iat"])):
        raise _invalid()
    if claims["exp"] <= now - _LEEWAY_S:
        raise Unauthorized("The access token has expired.", details={"reason": "token_expired"})
    if claims["iat"] > now + _LEEWAY_S or ("nbf" in claims and not _nbf_passed(claims["nbf"], now)):
        raise _invalid()
    audience = claims["aud"]
    audiences = audience if isinstance(audience, list) else [audience]
    if claims["iss"] != settings.jwt_issuer or settings.jwt_audience not in audiences:
        raise _invalid()
    if not all(isinstance(claims[name], str) for name in ("sub", "jti")) or claims["role"] not in _ROLE_RANK:
        raise _invalid()
    return claims


def _nbf_passed(not_before: Any, now: float) -> bool:
    return _is_number(not_before) and not_before <= now + _LEEWAY_S


def decode_access_token(token: str) -> Principal:
    """The principal of a well-signed, unexpired access token; 401 on any failure. No revocation check:
    requests are authenticated by :func:`warroom.auth.guard.authenticate_request`."""
    claims = verify_access_token_claims(token)
    return Principal(
        user_id=claims["sub"],
        role=claims["role"],
        token_id=claims["jti"],
        expires_at=dt.datetime.fromtimestamp(claims["exp"], dt.UTC),
        issued_at=dt.datetime.fromtimestamp(claims["iat"], dt.UTC),
        session_id=str(claims["sid"]) if claims.get("sid") else None,
    )


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of an ``Authorization: Bearer`` header; None without the header, 401 when it is malformed."""
    header = headers.get("authorization") or headers.get("Authorization")
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("The Authorization header must be 'Bearer <access token>'.")
    return token.strip()


def require(principal: Principal, minimum: Role) -> Principal:
    """403 unless the principal's role is at least ``minimum``."""
    if not role_at_least(principal.role, minimum):
        raise Forbidden(
            f"This action needs the '{minimum}' role or higher.",
            details={"required_role": minimum, "your_role": principal.role},
        )
    return principal
