"""The signed-in user's own account: registration, profile, password change / reset, email verification.

Example
-------
>>> user = register(RegisterBody(email="ana@campaign.org", password="..."), ctx.actor())   # readonly
>>> forgot_password("ana@campaign.org", ctx.actor())      # 202 whether or not the account exists

Decisions:

- **Self-registration** creates a ``readonly`` account while the ``registration_open`` setting is
  true (else 403 ``registration_closed``); it answers the new user (201) and emails a verification
  link, without signing in. An unverified account may sign in (it is readonly); ``email_verified``
  tells the dashboard and the admins. A taken email answers 409 ``email_taken`` and nothing more.
- **Changing the email** is not offered (``PATCH /auth/me`` takes ``full_name`` only): a new address
  would need its own verification round first.
- **Password change** needs the current password (422 ``invalid_password`` when wrong, counted by the
  lockout like a failed login) and keeps the current session: every *other* session is revoked and
  its access tokens denied. **Password reset** (by email link) revokes every session and token.
- **Forgot password** answers the same 202 whatever the email: an unknown or deactivated account
  gets no email, a known one at most 3 per hour (more requests are answered 202 and dropped, so the
  form cannot be used to flood someone's mailbox). The only remaining difference is the time of the
  SES call itself.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from warroom.audit import record_audit, set_actor
from warroom.auth import emails, lockout
from warroom.auth.errors import EmailTaken, InvalidEmailToken, InvalidPassword, RegistrationClosed
from warroom.auth.models import AcceptedOut, PasswordChangeBody, PasswordResetBody, RegisterBody, UserOut
from warroom.auth.outgoing_email import limit_outgoing_email
from warroom.auth.passwords import check_password_policy, hash_password, verify_password
from warroom.auth.principals import as_user, require_bearer
from warroom.auth.revocation import revoke_session_tokens, revoke_user_tokens
from warroom.auth.sessions import revoke_other_sessions, revoke_user_sessions
from warroom.auth.users import (
    fetch_current_user,
    fetch_user,
    fetch_user_by_email,
    insert_user_unless_email_taken,
    mark_email_verified,
    update_full_name,
    update_password_hash,
    user_out,
)
from warroom.core import ratelimit
from warroom.core.config import get_settings
from warroom.core.db import connection
from warroom.core.errors import DependencyUnavailable
from warroom.core.security import Principal
from warroom.realtime import close_connections_of

logger = logging.getLogger(__name__)

RESET_EMAILS_PER_HOUR = 3
FORGOT_ANSWER = "If an account exists for this email, a link to reset its password is on its way."


def register(body: RegisterBody, actor: dict[str, Any]) -> UserOut:
    """Create a pending readonly account and send its verification link (only while an admin has sign-up open)."""
    from warroom.auth.settings import REGISTRATION_OPEN
    from warroom.core.settings import read_setting

    if not read_setting(REGISTRATION_OPEN):
        raise RegistrationClosed()
    email = body.email
    check_password_policy(body.password, [email, body.full_name])
    limit_outgoing_email("register", actor.get("ip_address"), email)
    password_hash = hash_password(body.password)
    with connection() as conn:
        user = insert_user_unless_email_taken(conn, email, password_hash, body.full_name, status="pending")
        if user is None:
            raise EmailTaken()
        user_id = str(user["id"])
        set_actor(conn, user_id)
        token = emails.issue_email_token(conn, user_id, "verify_email")
        record_audit(
            conn, "auth.register", "user", user_id, {"role": "readonly", "status": "pending"}, as_user(actor, user_id)
        )
    emails.send_email_verification(user["email"], token)
    return user_out(user)


def me(principal: Principal) -> UserOut:
    with connection() as conn:
        return user_out(fetch_current_user(conn, principal.user_id))


def update_me(principal: Principal, full_name: str) -> UserOut:
    with connection() as conn:
        fetch_current_user(conn, principal.user_id, for_update=True)
        set_actor(conn, principal.user_id)
        return user_out(update_full_name(conn, principal.user_id, full_name))


def change_password(principal: Principal, body: PasswordChangeBody, actor: dict[str, Any]) -> None:
    """Set a new password after checking the current one; other sessions are signed out."""
    require_bearer(principal)
    with connection() as conn:
        user = fetch_current_user(conn, principal.user_id)
        attempt = lockout.start_attempt(conn, user["email"], actor.get("ip_address"))
    if not verify_password(body.current_password, user["password_hash"]):
        record_password_check_failure(attempt, principal.user_id, actor, "password_change")
        raise InvalidPassword("current_password")
    check_password_policy(body.new_password, [user["email"], user["full_name"]], field="new_password")
    password_hash = hash_password(body.new_password)
    with connection() as conn:
        set_actor(conn, principal.user_id)
        update_password_hash(conn, principal.user_id, password_hash)
        revoked = revoke_other_sessions(conn, principal.user_id, principal.session_id, "password_change")
        record_audit(
            conn, "auth.password_change", "user", principal.user_id, {"other_sessions_revoked": len(revoked)}, actor
        )
    attempt.succeeded()
    revoke_session_tokens(revoked)
    close_connections_of(principal.user_id, session_ids=revoked)


def forgot_password(email: str, actor: dict[str, Any]) -> AcceptedOut:
    """Queue a reset email (see the module docstring); the same answer, and the same work, for any email.

    Looking the account up, issuing the token and calling SES take several times longer than answering, so
    doing them here let the answer's time tell a known address from an unknown one. The route only counts the
    sender's limits and enqueues; :func:`send_requested_reset` does the rest in ``AuthEmailFunction``. Without a
    queue configured (a bare test harness) the request itself does it.
    """
    limit_outgoing_email("password_forgot", actor.get("ip_address"), email)
    queue_url = get_settings().auth_email_queue_url
    if queue_url:
        from warroom.core.aws import aws_client

        request = {"email": email, "ip_address": actor.get("ip_address"), "user_agent": actor.get("user_agent")}
        aws_client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps(request))
        return AcceptedOut(message=FORGOT_ANSWER)
    send_requested_reset(email, actor)
    return AcceptedOut(message=FORGOT_ANSWER)


def send_requested_reset(email: str, actor: dict[str, Any]) -> bool:
    """Email a reset link if ``email`` is an active account's (at most 3 an hour); whether one was sent.
    Raises :class:`DependencyUnavailable` when SES refuses it, so the queue's message is retried."""
    with connection() as conn:
        user = fetch_user_by_email(conn, email)
        if user is None or user["status"] != "active" or not _may_send_reset(str(user["id"])):
            return False
        set_actor(conn, str(user["id"]))
        token = emails.issue_email_token(conn, str(user["id"]), "reset_password")
        record_audit(conn, "auth.password_reset_requested", "user", str(user["id"]), {}, actor)
    if not emails.send_password_reset(user["email"], token):
        # Raised so the queue retries (and, past 5 receives, keeps it in the dead-letter queue): nothing is lost.
        raise DependencyUnavailable("email", "The reset email could not be sent; it will be retried.")
    return True


def reset_password(body: PasswordResetBody, actor: dict[str, Any]) -> None:
    """Set a new password with an emailed token (once); every session and access token is revoked."""
    with connection() as conn:
        user_id = emails.find_usable_email_token(conn, body.token, "reset_password")
        user = fetch_user(conn, user_id) if user_id else None
        if user is None or user["status"] != "active":
            raise InvalidEmailToken()
        # The policy is checked before the token is spent, so a weak password does not burn the link.
        check_password_policy(body.new_password, [user["email"], user["full_name"]], field="new_password")
        set_actor(conn, user_id)
        emails.consume_email_token(conn, body.token, "reset_password")
        update_password_hash(conn, user_id, hash_password(body.new_password))
        revoked = revoke_user_sessions(conn, user_id, "password_reset")
        record_audit(
            conn, "auth.password_reset", "user", user_id, {"sessions_revoked": revoked}, as_user(actor, user_id)
        )
    revoke_user_tokens(user_id)
    close_connections_of(user_id)
    lockout.Attempt(lockout.account_key(user["email"]), None).succeeded()


def verify_email(token: str, actor: dict[str, Any]) -> UserOut:
    """Mark the address of an emailed token verified (the token works once)."""
    with connection() as conn:
        user_id = emails.consume_email_token(conn, token, "verify_email")
        if user_id is None:
            raise InvalidEmailToken()
        set_actor(conn, user_id)
        mark_email_verified(conn, user_id)
        record_audit(conn, "auth.email_verified", "user", user_id, {}, as_user(actor, user_id))
        user = fetch_user(conn, user_id)
    return user_out(user)


def resend_verification(principal: Principal, actor: dict[str, Any] | None = None) -> AcceptedOut:
    """A new verification link (the previous one stops working); 503 if SES would not take it."""
    with connection() as conn:
        user = fetch_current_user(conn, principal.user_id)
        if user["email_verified_at"] is not None:
            return AcceptedOut(message="The email address is already verified.")
    limit_outgoing_email("email_resend", (actor or {}).get("ip_address"), user["email"])
    with connection() as conn:
        token = emails.issue_email_token(conn, principal.user_id, "verify_email")
    if not emails.send_email_verification(user["email"], token):
        raise DependencyUnavailable("email", "The email could not be sent; try again shortly.", retry_after_s=30)
    return AcceptedOut(message="A new verification link is on its way.")


def record_password_check_failure(attempt: lockout.Attempt, user_id: str, actor: dict[str, Any], context: str) -> None:
    """A signed-in user's wrong password: audited and counted like a failed login."""
    with connection() as conn:
        record_audit(
            conn,
            "auth.password_check_failed",
            "user",
            user_id,
            {"account": attempt.account, "context": context},
            actor,
        )
    attempt.failed()


def _may_send_reset(user_id: str) -> bool:
    state = ratelimit.hit("auth_reset_email", user_id, limit=RESET_EMAILS_PER_HOUR, window_s=3600)
    return state is None or state.allowed
