"""What a role allows, and checking someone else's access token.

Example
-------
>>> permissions_of("manager").can_manage
True
>>> verify_token("<jwt>")          # TokenVerifyOut(valid=True, sub=..., role=..., exp=...) or valid=False + reason

The role ladder is ``readonly < user < manager < admin`` (:mod:`warroom.core.security`): reads need
readonly, writes user, syncs and manual alerts manager, ``/admin/*`` and the data mode admin.
"""

from __future__ import annotations

from warroom.auth.guard import verify_access_token
from warroom.auth.models import PermissionsOut, TokenVerifyOut
from warroom.core.errors import Unauthorized
from warroom.core.security import ROLES, Role, role_at_least


def permissions_of(role: Role) -> PermissionsOut:
    return PermissionsOut(
        role=role,
        roles=list(ROLES),
        granted_roles=[candidate for candidate in ROLES if role_at_least(role, candidate)],
        can_read=role_at_least(role, "readonly"),
        can_write=role_at_least(role, "user"),
        can_manage=role_at_least(role, "manager"),
        can_administer=role_at_least(role, "admin"),
        can_change_data_mode=role_at_least(role, "admin"),
    )


def verify_token(token: str) -> TokenVerifyOut:
    """Whether ``token`` is a valid access token now (signature, expiry, audience, revocation)."""
    try:
        principal = verify_access_token(token)
    except Unauthorized as error:
        reason = (error.details or {}).get("reason", "token_invalid") if isinstance(error.details, dict) else None
        return TokenVerifyOut(valid=False, reason=reason or "token_invalid")
    return TokenVerifyOut(valid=True, sub=principal.user_id, role=principal.role, exp=principal.expires_at)
