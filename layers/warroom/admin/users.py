"""User administration: list, create, change role / status / name, deactivate.

Example
-------
>>> create_user(UserCreate(email="ana@campaign.org", password="...", role="user"), ctx.actor())
>>> update_user(user_id, UserUpdate(role="manager"), ctx.actor())
>>> deactivate_user(user_id, ctx.actor())         # sessions and access tokens revoked, history kept

**The last active admin** can be neither demoted nor deactivated (409). Every change of role or
status first locks the rows of all active admins (``FOR UPDATE``, in id order), so two admins
demoting each other at the same moment are serialised and the second one sees that only one admin
is left.

**Lock order.** Every row a change will write is locked before the first write: the first write of
an audited table takes the audit chain's lock (:mod:`warroom.audit.chain`) until commit, and a
transaction that waited for a row lock while holding that lock could deadlock with one holding the
row and waiting for the chain.

A role change or a deactivation revokes the user's access tokens (after commit), so the old role
does not live on for the rest of a 15-minute token; a deactivation also revokes their sessions, so
nothing can be refreshed. Users are never deleted: their audit history keeps pointing at them.
Accounts created here are not marked email-verified: the address is verified as for any user.
"""

from __future__ import annotations

from typing import Any

import psycopg

from warroom.admin.api_keys import forget_cached_keys
from warroom.admin.models import UserCreate, UserUpdate
from warroom.audit import record_audit, set_actor
from warroom.auth.errors import EmailTaken
from warroom.auth.models import UserOut
from warroom.auth.passwords import check_password_policy, hash_password
from warroom.auth.revocation import revoke_user_tokens
from warroom.auth.sessions import revoke_user_sessions
from warroom.auth.users import insert_user_unless_email_taken, user_out
from warroom.core.db import connection
from warroom.core.errors import Conflict, NotFound
from warroom.core.ids import uuid_or_not_found
from warroom.core.pagination import Keyset, Page, TimeIdPosition
from warroom.realtime import close_connections_of

# What an admin sees of a user; never the password hash or the MFA secret.
_USER_COLUMNS = (
    "id, email, full_name, role, status, email_verified_at, mfa_enabled_at, last_login_at, created_at, updated_at"
)


USERS_KEYSET = Keyset("admin.users", TimeIdPosition)


class EmailNotVerified(Conflict):
    code = "email_not_verified"
    default_message = "A pending account is approved only once its email address is verified."


class LastAdmin(Conflict):
    code = "last_admin"
    default_message = "This is the last active admin: make another admin first."


def list_users(role: str | None, status: str | None, q: str | None, cursor: str | None, limit: int) -> Page[UserOut]:
    """Users newest first, filtered by role, status and an email/name substring."""
    after = USERS_KEYSET.decode(cursor)
    conditions, params = [], []
    if role:
        conditions.append("role = %s")
        params.append(role)
    if status:
        conditions.append("status = %s")
        params.append(status)
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append("(email ILIKE %s OR full_name ILIKE %s)")
        params += [pattern, pattern]
    if after:
        conditions.append("(created_at, id) < (%s::timestamptz, %s::uuid)")
        params += [after.t, after.id]
    where = (" WHERE " + " AND ".join(conditions)) if conditions else ""
    with connection() as conn:
        rows = conn.execute(
            f"SELECT {_USER_COLUMNS} FROM users{where} ORDER BY created_at DESC, id DESC LIMIT %s",  # noqa: S608
            (*params, limit + 1),
        ).fetchall()
    page = USERS_KEYSET.page(rows, limit, lambda row: TimeIdPosition(t=row["created_at"], id=row["id"]))
    return page.map(user_out)


def create_user(body: UserCreate, actor: dict[str, Any]) -> UserOut:
    """A new active user; 422 for a weak password, 409 for an email that has an account."""
    check_password_policy(body.password, [body.email, body.full_name])
    with connection() as conn:
        taken = conn.execute("SELECT 1 FROM users WHERE lower(email) = lower(%s)", (body.email,)).fetchone()
    if taken:
        raise EmailTaken()
    password_hash = hash_password(body.password)  # ~0.25 s: outside any transaction
    with connection() as conn:
        set_actor(conn, actor.get("user_id"))
        row = insert_user_unless_email_taken(conn, body.email, password_hash, body.full_name, body.role)
        if row is None:  # created by someone else since the check above
            raise EmailTaken()
        details = {"email": row["email"], "role": row["role"], "full_name": row["full_name"]}
        record_audit(conn, "admin.user_create", "user", str(row["id"]), details, actor)
    return user_out(row)


def _lock_for_change(conn: psycopg.Connection, user_id: str) -> tuple[dict[str, Any], list[str]]:
    """Lock every active admin, then the user; returns the user and the active admins' ids."""
    active_admins = conn.execute(
        "SELECT id FROM users WHERE role = 'admin' AND status = 'active' ORDER BY id FOR UPDATE"
    ).fetchall()
    admins = [str(row["id"]) for row in active_admins]
    user = conn.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE id = %s FOR UPDATE", (user_id,)).fetchone()  # noqa: S608
    if user is None:
        raise NotFound("No user with this id.", details={"resource": "user"})
    return user, admins


def _refuse_losing_last_admin(user: dict[str, Any], admins: list[str], role: str, status: str) -> None:
    stays_admin = role == "admin" and status == "active"
    if str(user["id"]) in admins and not stays_admin and len(admins) <= 1:
        raise LastAdmin(details={"user_id": str(user["id"])})


def _apply_change(
    conn: psycopg.Connection, user: dict[str, Any], changes: dict[str, Any], action: str, actor: dict[str, Any]
) -> dict[str, Any]:
    """Write ``changes`` to the locked user, audit them with old and new values, revoke what must go."""
    user_id = str(user["id"])
    deactivating = changes.get("status") == "deactivated"
    if deactivating:  # lock what the revocation will write before the first audited write (module docstring)
        conn.execute(
            "SELECT id FROM user_sessions WHERE user_id = %s AND revoked_at IS NULL ORDER BY id FOR UPDATE", (user_id,)
        )
    assignments = ", ".join(f"{column} = %s" for column in changes)
    row = conn.execute(
        f"UPDATE users SET {assignments} WHERE id = %s RETURNING {_USER_COLUMNS}",  # noqa: S608  (column names are ours)
        (*changes.values(), user_id),
    ).fetchone()
    details: dict[str, Any] = {"changes": {column: {"old": user[column], "new": row[column]} for column in changes}}
    if deactivating:
        details["sessions_revoked"] = revoke_user_sessions(conn, user_id, "deactivated")
    record_audit(conn, action, "user", user_id, details, actor)
    return row


def update_user(user_id: str, body: UserUpdate, actor: dict[str, Any]) -> UserOut:
    """Change role, status and/or full name; 404 unknown, 409 for the last active admin."""
    user_id = uuid_or_not_found(user_id, "user")
    requested = body.model_dump(exclude_none=True)
    with connection() as conn:
        set_actor(conn, actor.get("user_id"))
        user, admins = _lock_for_change(conn, user_id)
        changes = {column: value for column, value in requested.items() if user[column] != value}
        if not changes:
            return user_out(user)
        role, status = changes.get("role", user["role"]), changes.get("status", user["status"])
        _refuse_losing_last_admin(user, admins, role, status)
        if user["status"] == "pending" and status == "active" and user["email_verified_at"] is None:
            raise EmailNotVerified(details={"user_id": user_id})
        row = _apply_change(conn, user, changes, "admin.user_update", actor)
    if "role" in changes or "status" in changes:
        _after_access_change(user_id)
    return user_out(row)


def deactivate_user(user_id: str, actor: dict[str, Any]) -> None:
    """Deactivate (never delete) a user; already deactivated is fine. 404 unknown, 409 for the last admin."""
    user_id = uuid_or_not_found(user_id, "user")
    with connection() as conn:
        set_actor(conn, actor.get("user_id"))
        user, admins = _lock_for_change(conn, user_id)
        if user["status"] == "deactivated":
            return
        _refuse_losing_last_admin(user, admins, user["role"], "deactivated")
        _apply_change(conn, user, {"status": "deactivated"}, "admin.user_deactivate", actor)
    _after_access_change(user_id)


def _after_access_change(user_id: str) -> None:
    """After commit: the user's access tokens die, and their API keys are looked up afresh here
    (other containers within the key cache's 30 s, see :mod:`warroom.admin.api_keys`)."""
    revoke_user_tokens(user_id)
    forget_cached_keys()
    close_connections_of(user_id)  # an open socket must not outlive the access it was opened with
