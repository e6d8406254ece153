"""Auth: registration, sign-in with rotating refresh tokens, MFA, password and email flows, own sessions.

Public (no token): register, login, refresh, password/forgot, password/reset, email/verify, and
mfa/verify when it completes a login (body with ``mfa_token``). Everything else needs a token of any
role. The decisions (lockout, MFA flow, deactivated accounts, ...) are in the ``warroom.auth`` modules.
"""

from __future__ import annotations

from warroom import notifications
from warroom.auth import account, login, mfa, permissions, sessions
from warroom.auth.guard import authenticate_request
from warroom.auth.models import (
    AcceptedOut,
    EmailVerifyBody,
    LoginBody,
    MfaChallengeOut,
    MfaDisableBody,
    MfaSetupOut,
    MfaStatusOut,
    MfaVerifyBody,
    NotificationsOut,
    NotificationsUpdate,
    PasswordChangeBody,
    PasswordConfirmBody,
    PasswordForgotBody,
    PasswordResetBody,
    PermissionsOut,
    ProfileUpdate,
    RefreshBody,
    RegisterBody,
    SessionOut,
    TokenPairOut,
    TokenVerifyBody,
    TokenVerifyOut,
    UserOut,
)
from warroom.core.http import RequestContext, WarRoomApp
from warroom.core.pagination import Page, PageQuery

app = WarRoomApp("auth", authenticate=authenticate_request)
PREFIX = "/api/v1/auth"


@app.endpoint(
    "POST",
    f"{PREFIX}/register",
    role=None,
    body=RegisterBody,
    response=UserOut,
    status_code=201,
    errors=(403, 409, 429, 503),
)
def register(body: RegisterBody, ctx: RequestContext) -> UserOut:
    """Create your own readonly account while an admin has sign-up open: it is pending until its email is
    verified and an admin approves it. At most 10 an hour per address and 30 per email domain (429)."""
    return account.register(body, ctx.actor())


@app.endpoint(
    "POST",
    f"{PREFIX}/login",
    role=None,
    body=LoginBody,
    response=TokenPairOut | MfaChallengeOut,
    errors=(401, 403, 429, 503),
)
def log_in(body: LoginBody, ctx: RequestContext) -> TokenPairOut | MfaChallengeOut:
    """Sign in: an access and a refresh token, or an MFA challenge when MFA is on."""
    return login.login(body, ctx.actor())


@app.endpoint("POST", f"{PREFIX}/logout", role="readonly", bearer_only=True, status_code=204)
def log_out(ctx: RequestContext) -> None:
    """Sign this session out: its refresh token and access tokens stop working."""
    login.logout(ctx.principal, ctx.actor())


@app.endpoint("POST", f"{PREFIX}/logout-all", role="readonly", bearer_only=True, status_code=204)
def log_out_everywhere(ctx: RequestContext) -> None:
    """Sign every session of yours out, on every device."""
    login.logout_all(ctx.principal, ctx.actor())


@app.endpoint("POST", f"{PREFIX}/refresh", role=None, body=RefreshBody, response=TokenPairOut, errors=(401, 403, 503))
def refresh(body: RefreshBody, ctx: RequestContext) -> TokenPairOut:
    """Swap a refresh token for a new pair (each refresh token works once; a replay ends the session)."""
    return login.refresh(body.refresh_token, ctx.actor())


@app.endpoint("GET", f"{PREFIX}/me", role="readonly", response=UserOut)
def get_me(ctx: RequestContext) -> UserOut:
    """Your account."""
    return account.me(ctx.principal)


@app.endpoint("PATCH", f"{PREFIX}/me", role="readonly", bearer_only=True, body=ProfileUpdate, response=UserOut)
def patch_me(body: ProfileUpdate, ctx: RequestContext) -> UserOut:
    """Change your name (the email cannot be changed here)."""
    return account.update_me(ctx.principal, body.full_name)


@app.endpoint("GET", f"{PREFIX}/me/notifications", role="readonly", response=NotificationsOut)
def get_notifications(ctx: RequestContext) -> dict:
    """Which emails you get: `alerts` (crisis alerts; managers and admins) and `daily_brief` (the 06:00 brief)."""
    return notifications.subscriptions_of(ctx.principal.user_id)


@app.endpoint(
    "PUT",
    f"{PREFIX}/me/notifications",
    role="readonly",
    bearer_only=True,
    body=NotificationsUpdate,
    response=NotificationsOut,
)
def put_notifications(body: NotificationsUpdate, ctx: RequestContext) -> dict:
    """Subscribe to or leave `alerts` / `daily_brief` emails (fields left out stay as they are; audited).

    Alert emails only reach managers and admins, and only verified addresses get any email.
    """
    return notifications.set_subscriptions(ctx.principal.user_id, body.model_dump(), ctx.actor())


@app.endpoint(
    "POST", f"{PREFIX}/password/change", role="readonly", bearer_only=True, body=PasswordChangeBody, status_code=204
)
def change_password(body: PasswordChangeBody, ctx: RequestContext) -> None:
    """Change your password; your other sessions are signed out."""
    account.change_password(ctx.principal, body, ctx.actor())


@app.endpoint(
    "POST",
    f"{PREFIX}/password/forgot",
    role=None,
    body=PasswordForgotBody,
    response=AcceptedOut,
    status_code=202,
    errors=(429, 503),
)
def forgot_password(body: PasswordForgotBody, ctx: RequestContext) -> AcceptedOut:
    """Ask for a password reset link (the answer is the same whether the account exists or not)."""
    return account.forgot_password(body.email, ctx.actor())


@app.endpoint("POST", f"{PREFIX}/password/reset", role=None, body=PasswordResetBody, status_code=204, errors=(503,))
def reset_password(body: PasswordResetBody, ctx: RequestContext) -> None:
    """Set a new password with the emailed token; every session is signed out."""
    account.reset_password(body, ctx.actor())


@app.endpoint("POST", f"{PREFIX}/email/verify", role=None, body=EmailVerifyBody, response=UserOut, errors=(503,))
def verify_email(body: EmailVerifyBody, ctx: RequestContext) -> UserOut:
    """Confirm your email address with the emailed token."""
    return account.verify_email(body.token, ctx.actor())


@app.endpoint(
    "POST",
    f"{PREFIX}/email/resend",
    role="readonly",
    bearer_only=True,
    response=AcceptedOut,
    status_code=202,
    errors=(429,),
)
def resend_verification(ctx: RequestContext) -> AcceptedOut:
    """Email a new verification link (the previous one stops working)."""
    return account.resend_verification(ctx.principal, ctx.actor())


@app.endpoint(
    "GET", f"{PREFIX}/sessions", role="readonly", bearer_only=True, query=PageQuery, response=Page[SessionOut]
)
def list_sessions(query: PageQuery, ctx: RequestContext) -> Page[SessionOut]:
    """Your signed-in sessions, newest first; the one of this token has ``current: true``."""
    return sessions.list_own_sessions(ctx.principal, query.limit, query.cursor)


@app.endpoint("DELETE", f"{PREFIX}/sessions/{{id}}", role="readonly", bearer_only=True, status_code=204, errors=(404,))
def revoke_session(id: str, ctx: RequestContext) -> None:
    """Sign one of your sessions out."""
    sessions.revoke_own_session(ctx.principal, id, ctx.actor())


@app.endpoint(
    "POST",
    f"{PREFIX}/mfa/setup",
    role="readonly",
    bearer_only=True,
    body=PasswordConfirmBody,
    response=MfaSetupOut,
    errors=(409,),
)
def setup_mfa(body: PasswordConfirmBody, ctx: RequestContext) -> MfaSetupOut:
    """Start MFA: a TOTP secret and otpauth:// URI, shown once; confirm it with mfa/verify."""
    return mfa.setup(ctx.principal, body.password, ctx.actor())


@app.endpoint(
    "POST",
    f"{PREFIX}/mfa/verify",
    role=None,
    body=MfaVerifyBody,
    response=TokenPairOut | MfaStatusOut,
    errors=(401, 403, 409, 429, 503),
)
def verify_mfa(body: MfaVerifyBody, ctx: RequestContext) -> TokenPairOut | MfaStatusOut:
    """``{code}`` with a Bearer token turns MFA on; ``{mfa_token, code}`` completes a login (no token needed)."""
    return mfa.verify(body, ctx.headers, ctx.actor())


@app.endpoint(
    "POST",
    f"{PREFIX}/mfa/disable",
    role="readonly",
    bearer_only=True,
    body=MfaDisableBody,
    response=MfaStatusOut,
    errors=(409,),
)
def disable_mfa(body: MfaDisableBody, ctx: RequestContext) -> MfaStatusOut:
    """Turn MFA off (needs your password and a current code)."""
    return mfa.disable(ctx.principal, body.password, body.code, ctx.actor())


@app.endpoint("GET", f"{PREFIX}/permissions", role="readonly", response=PermissionsOut)
def get_permissions(ctx: RequestContext) -> PermissionsOut:
    """Your role, the role ladder and what your role may do."""
    return permissions.permissions_of(ctx.principal.role)


@app.endpoint("POST", f"{PREFIX}/token/verify", role="readonly", body=TokenVerifyBody, response=TokenVerifyOut)
def verify_token(body: TokenVerifyBody) -> TokenVerifyOut:
    """Check an access token: its subject, role and expiry, or why it is not valid."""
    return permissions.verify_token(body.token)
