"""Signing in and out: login (with the MFA step), refresh-token rotation, logout and logout-all.

Example
-------
>>> answer = login(LoginBody(email="ana@campaign.org", password="..."), ctx.actor())
>>> answer.access_token, answer.refresh_token        # or MfaChallengeOut when MFA is on
>>> refresh("<refresh token>", ctx.actor())          # a new pair; the old refresh token is spent

Decisions:

- **One answer for a wrong password and an unknown email** (401 ``invalid_credentials``), and the
  same cost: an unknown email is checked against a dummy bcrypt hash. Failures are audited as
  ``auth.login_failed`` with the user id when known and an HMAC of the email (never the email or
  the password), and counted by :mod:`warroom.auth.lockout` (429 with ``Retry-After`` when locked).
- **A deactivated account** with the right password gets 403 ``account_deactivated`` (the caller proved
  they know the password, so the status is theirs to learn, and "ask an administrator" is more useful
  than a misleading "wrong password"); with a wrong password it gets the same 401 as anyone. A
  refresh token of a deactivated account is refused the same way (403) and its session revoked.
- **MFA**: a correct password of an account with MFA answers ``{mfa_required, mfa_token}``; the
  login completes at ``POST /auth/mfa/verify`` with ``{mfa_token, code}`` (see :mod:`warroom.auth.mfa`).
- **Refresh is not audited** (every client refreshes every 15 minutes, and the ``user_sessions``
  row trigger already records each use); reuse of a rotated token is (``auth.token_reuse``).
- Logging out revokes the session in PostgreSQL and denies, in Redis, the presented access token
  and every other access token carrying the session's ``sid``.
"""

from __future__ import annotations

import logging
from typing import Any

from warroom.audit import record_audit, set_actor
from warroom.auth import lockout, totp
from warroom.auth.errors import (
    AccountDeactivated,
    AccountPending,
    InvalidCredentials,
    InvalidRefreshToken,
    MfaEnrolmentRequired,
)
from warroom.auth.models import LoginBody, MfaChallengeOut, TokenPairOut
from warroom.auth.passwords import verify_password
from warroom.auth.principals import as_user, require_bearer
from warroom.auth.revocation import revoke_session_tokens, revoke_token, revoke_user_tokens
from warroom.auth.sessions import open_session, revoke_session, revoke_user_sessions, rotate_refresh_token
from warroom.auth.tokens import MFA_TOKEN_TTL_S, decode_mfa_token, issue_mfa_token, spend_mfa_token
from warroom.auth.users import fetch_user, fetch_user_by_email, record_login, user_out
from warroom.core.config import get_settings
from warroom.core.db import connection
from warroom.core.security import Principal, issue_access_token
from warroom.realtime import broadcast, close_connections_of

logger = logging.getLogger(__name__)


def login(body: LoginBody, actor: dict[str, Any]) -> TokenPairOut | MfaChallengeOut:
    """Check the password (and lockout); tokens, or the MFA challenge when MFA is on."""
    email = body.email
    with connection() as conn:
        attempt = lockout.start_attempt(conn, email, actor.get("ip_address"))
        user = fetch_user_by_email(conn, email)
    # Outside the transaction: no pooled connection is held during the ~0.25 s of bcrypt.
    if not verify_password(body.password, user["password_hash"] if user else None):
        _record_failure(attempt, user, actor, "unknown_email" if user is None else "wrong_password")
        raise InvalidCredentials()
    _refuse_deactivated(user, actor)
    if user["mfa_enabled_at"] is not None:
        return MfaChallengeOut(mfa_token=issue_mfa_token(str(user["id"])), expires_in=MFA_TOKEN_TTL_S)
    grace = _mfa_grace_login(user, actor)
    attempt.succeeded()
    pair = _sign_in(str(user["id"]), actor, mfa_used=False)
    return pair.model_copy(update={"mfa_enrolment_required": True}) if grace else pair


def _mfa_grace_login(user: dict[str, Any], actor: dict[str, Any]) -> bool:
    """True when this login is a privileged user's one grace login to enrol MFA; 403 once it was used."""
    from warroom.auth.settings import MFA_REQUIRED_FOR_PRIVILEGED
    from warroom.core.settings import read_setting

    if user["role"] not in ("manager", "admin") or not read_setting(MFA_REQUIRED_FOR_PRIVILEGED):
        return False
    with connection() as conn:
        # Spent atomically: two concurrent logins cannot both be the grace one.
        spent = conn.execute(
            "UPDATE users SET mfa_grace_login_at = now() WHERE id = %s AND mfa_grace_login_at IS NULL RETURNING id",
            (user["id"],),
        ).fetchone()
        if spent is None:
            record_audit(
                conn,
                "auth.login_failed",
                "user",
                str(user["id"]),
                {"account": lockout.account_key(user["email"]), "reason": "mfa_enrolment_required"},
                as_user(actor, str(user["id"])),
            )
    if spent is None:
        raise MfaEnrolmentRequired()
    return True


def complete_mfa_login(mfa_token: str, code: str, actor: dict[str, Any]) -> TokenPairOut:
    """The second step of a login: a valid MFA token and a valid code give the tokens."""
    user_id, jti, expires_at = decode_mfa_token(mfa_token)
    with connection() as conn:
        user = fetch_user(conn, user_id)
        if user is None:
            raise InvalidCredentials()
        spend_mfa_token(conn, jti, user_id, expires_at)
    with connection() as conn:
        attempt = lockout.start_attempt(conn, user["email"], actor.get("ip_address"))
    if user["mfa_enabled_at"] is None or not totp.code_is_valid(user_id, user["mfa_secret"], code):
        _record_failure(attempt, user, actor, "wrong_mfa_code")
        raise InvalidCredentials("The authentication code is incorrect or was already used.")
    _refuse_deactivated(user, actor)
    attempt.succeeded()
    return _sign_in(user_id, actor, mfa_used=True)


def refresh(refresh_token: str, actor: dict[str, Any]) -> TokenPairOut:
    """Rotate a refresh token: a new pair, or 401 (and the family revoked when the token was reused)."""
    with connection() as conn:
        outcome = rotate_refresh_token(conn, refresh_token)
        user = fetch_user(conn, outcome.user_id) if outcome.user_id else None
        if outcome.status == "reused":
            record_audit(
                conn,
                "auth.token_reuse",
                "session",
                outcome.session_id,
                {"session_id": outcome.session_id, "reason": "rotated refresh token presented again"},
                as_user(actor, outcome.user_id),
            )
        elif outcome.status == "rotated" and user is not None and user["status"] == "deactivated":
            revoke_session(conn, outcome.session_id, outcome.user_id, "deactivated")
        elif outcome.status == "rotated" and user is not None:
            return _token_pair(user, outcome.session_id, outcome.refresh_token)
    if outcome.status == "reused":
        logger.warning("refresh token reuse: session %s revoked", outcome.session_id)
        revoke_session_tokens([outcome.session_id])
        close_connections_of(outcome.user_id, session_ids=[outcome.session_id])
        raise InvalidRefreshToken(details={"reason": "refresh_token_reused"})
    if outcome.status == "rotated":
        raise AccountDeactivated()
    raise InvalidRefreshToken(details={"reason": f"refresh_token_{outcome.status}"})


def logout(principal: Principal, actor: dict[str, Any]) -> None:
    """End the caller's session: its refresh tokens die, its access tokens are denied."""
    require_bearer(principal)
    with connection() as conn:
        set_actor(conn, principal.user_id)
        if principal.session_id:
            revoke_session(conn, principal.session_id, principal.user_id, "logout")
        record_audit(conn, "auth.logout", "session", principal.session_id, {}, actor)
    revoke_token(principal.token_id, principal.expires_at.timestamp())
    if principal.session_id:
        revoke_session_tokens([principal.session_id])
        close_connections_of(principal.user_id, session_ids=[principal.session_id])
    broadcast("user:logout", {"user_id": principal.user_id, "session_id": principal.session_id})


def logout_all(principal: Principal, actor: dict[str, Any]) -> None:
    """End every session of the caller and deny every access token issued to them so far."""
    require_bearer(principal)
    with connection() as conn:
        set_actor(conn, principal.user_id)
        revoked = revoke_user_sessions(conn, principal.user_id, "logout_all")
        record_audit(conn, "auth.logout_all", "user", principal.user_id, {"sessions_revoked": revoked}, actor)
    revoke_user_tokens(principal.user_id)
    close_connections_of(principal.user_id)
    broadcast("user:logout", {"user_id": principal.user_id, "session_id": None, "all_sessions": True})


def _refuse_deactivated(user: dict[str, Any], actor: dict[str, Any]) -> None:
    """403 for an account that may not sign in: deactivated, or pending (verification and approval)."""
    if user["status"] in ("deactivated", "pending"):
        with connection() as conn:
            record_audit(
                conn,
                "auth.login_failed",
                "user",
                str(user["id"]),
                {"account": lockout.account_key(user["email"]), "reason": user["status"]},
                as_user(actor, str(user["id"])),
            )
        raise AccountDeactivated() if user["status"] == "deactivated" else AccountPending()


def _record_failure(attempt: lockout.Attempt, user: dict[str, Any] | None, actor: dict[str, Any], reason: str) -> None:
    user_id = str(user["id"]) if user else None
    with connection() as conn:
        record_audit(
            conn,
            "auth.login_failed",
            "user",
            user_id,
            {"account": attempt.account, "reason": reason},
            as_user(actor, user_id),
        )
    attempt.failed()


def _sign_in(user_id: str, actor: dict[str, Any], *, mfa_used: bool) -> TokenPairOut:
    with connection() as conn:
        set_actor(conn, user_id)
        user = record_login(conn, user_id)
        session_id, refresh_token = open_session(
            conn, user_id, user_agent=actor.get("user_agent"), ip_address=actor.get("ip_address")
        )
        record_audit(
            conn,
            "auth.login",
            "session",
            session_id,
            {"session_id": session_id, "mfa": mfa_used},
            as_user(actor, user_id),
        )
    broadcast(
        "user:login", {"user_id": user_id, "email": user["email"], "role": user["role"], "session_id": session_id}
    )
    return _token_pair(user, session_id, refresh_token)


def _token_pair(user: dict[str, Any], session_id: str, refresh_token: str) -> TokenPairOut:
    return TokenPairOut(
        access_token=issue_access_token(str(user["id"]), user["role"], session_id=session_id),
        refresh_token=refresh_token,
        expires_in=get_settings().access_token_ttl_s,
        user=user_out(user),
    )
