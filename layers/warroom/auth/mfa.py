"""Two-factor sign-in (TOTP): setting it up, turning it on, completing a login with it, turning it off.

Example
-------
>>> setup(principal, "<password>", actor)              # {secret, otpauth_uri}, pending until verified
>>> verify(MfaVerifyBody(code="123456"), headers, actor)                    # turns it on
>>> verify(MfaVerifyBody(mfa_token="...", code="123456"), headers, actor)   # completes a login: tokens
>>> disable(principal, "<password>", "123456", actor)

The flow:

1. ``POST /auth/mfa/setup`` ``{password}``: a new secret is stored *pending* (``mfa_secret`` set,
   ``mfa_enabled_at`` null) and returned once with its ``otpauth://`` URI (issuer "War Room").
   Repeating setup replaces a pending secret; while MFA is on, setup answers 409. The password is
   required so that a stolen access token alone cannot enrol the thief's phone.
2. ``POST /auth/mfa/verify`` ``{code}`` with a Bearer token: a valid code turns MFA on.
3. From then on ``POST /auth/login`` answers ``{mfa_required: true, mfa_token}`` (5 minutes, usable
   once, useless as an access token) instead of tokens, and ``POST /auth/mfa/verify``
   ``{mfa_token, code}`` -- no Bearer token needed -- completes the login with the usual token pair.
   One route serves both steps, told apart by the body: with ``mfa_token`` it is the login step
   (public, like login), without it the enabling step (a Bearer token of any role).
4. ``POST /auth/mfa/disable`` ``{password, code}``: both must be right.

A wrong code is a 422 ``invalid_mfa_code`` for a signed-in user (their token is fine) and a 401 at
login; nothing changes either way. Wrong codes at login and wrong passwords here count towards the
account's lockout (:mod:`warroom.auth.lockout`). The secret never appears in an answer after setup.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from warroom.audit import record_audit, set_actor
from warroom.auth import lockout, totp
from warroom.auth.account import record_password_check_failure
from warroom.auth.errors import InvalidMfaCode, InvalidPassword, MfaStateConflict
from warroom.auth.guard import authenticate_request
from warroom.auth.login import complete_mfa_login
from warroom.auth.models import MfaSetupOut, MfaStatusOut, MfaVerifyBody, TokenPairOut
from warroom.auth.passwords import verify_password
from warroom.auth.principals import require_bearer
from warroom.auth.users import enable_mfa, fetch_current_user, store_mfa_secret
from warroom.core.db import connection
from warroom.core.security import Principal, require


def setup(principal: Principal, password: str, actor: dict[str, Any]) -> MfaSetupOut:
    """A new pending TOTP secret, shown this once."""
    user = _user(require_bearer(principal))
    if user["mfa_enabled_at"] is not None:
        raise MfaStateConflict("MFA is already on; disable it before setting up another authenticator.")
    _check_password(user, password, actor, "mfa_setup")
    secret, uri = totp.new_totp_secret(user["email"])
    with connection() as conn:
        set_actor(conn, principal.user_id)
        store_mfa_secret(conn, principal.user_id, totp.encrypt_secret(secret), enabled=False)
        record_audit(conn, "auth.mfa_setup", "user", principal.user_id, {}, actor)
    return MfaSetupOut(secret=secret, otpauth_uri=uri)


def verify(body: MfaVerifyBody, headers: Mapping[str, str], actor: dict[str, Any]) -> TokenPairOut | MfaStatusOut:
    """The login step when the body has ``mfa_token``, else turning MFA on for the Bearer token's user."""
    if body.mfa_token is not None:
        return complete_mfa_login(body.mfa_token, body.code, actor)
    principal = require(authenticate_request(headers).principal, "readonly")
    return enable(principal, body.code, {**actor, "user_id": principal.user_id})


def enable(principal: Principal, code: str, actor: dict[str, Any]) -> MfaStatusOut:
    """Turn on a pending secret with a valid code from it."""
    require_bearer(principal)
    with connection() as conn:
        user = fetch_current_user(conn, principal.user_id, for_update=True)
        if user["mfa_enabled_at"] is not None:
            raise MfaStateConflict("MFA is already on.")
        if user["mfa_secret"] is None:
            raise MfaStateConflict("Set MFA up first: POST /api/v1/auth/mfa/setup.")
        if not totp.code_is_valid(principal.user_id, user["mfa_secret"], code):
            raise InvalidMfaCode()
        set_actor(conn, principal.user_id)
        user = enable_mfa(conn, principal.user_id)
        record_audit(conn, "auth.mfa_enabled", "user", principal.user_id, {}, actor)
    return MfaStatusOut(mfa_enabled=True, mfa_enabled_at=user["mfa_enabled_at"])


def disable(principal: Principal, password: str, code: str, actor: dict[str, Any]) -> MfaStatusOut:
    """Turn MFA off: needs the password and a valid code."""
    user = _user(require_bearer(principal))
    if user["mfa_enabled_at"] is None:
        raise MfaStateConflict("MFA is not on.")
    attempt = _check_password(user, password, actor, "mfa_disable", clear=False)
    if not totp.code_is_valid(principal.user_id, user["mfa_secret"], code):
        record_password_check_failure(attempt, principal.user_id, actor, "mfa_disable_code")
        raise InvalidMfaCode()
    attempt.succeeded()
    with connection() as conn:
        set_actor(conn, principal.user_id)
        store_mfa_secret(conn, principal.user_id, None, enabled=False)
        record_audit(conn, "auth.mfa_disabled", "user", principal.user_id, {}, actor)
    return MfaStatusOut(mfa_enabled=False)


def _user(principal: Principal) -> dict[str, Any]:
    with connection() as conn:
        return fetch_current_user(conn, principal.user_id)


def _check_password(
    user: dict[str, Any], password: str, actor: dict[str, Any], context: str, *, clear: bool = True
) -> lockout.Attempt:
    """422 ``invalid_password`` (counted by the lockout) unless ``password`` is the user's."""
    with connection() as conn:
        attempt = lockout.start_attempt(conn, user["email"], actor.get("ip_address"))
    if not verify_password(password, user["password_hash"]):
        record_password_check_failure(attempt, str(user["id"]), actor, context)
        raise InvalidPassword()
    if clear:
        attempt.succeeded()
    return attempt
