"""Users: the SQL of the ``users`` table as identity needs it, and the seeded admin.

Example
-------
>>> with connection() as conn:
...     user = fetch_user_by_email(conn, "ana@campaign.org")   # a dict row or None
>>> user_out(user).email_verified
False

Emails are compared case-insensitively (the table's unique index is on ``lower(email)``) and
stored as the user typed them.
"""

from __future__ import annotations

from typing import Any

import psycopg

from warroom.auth.models import UserOut
from warroom.auth.passwords import hash_password
from warroom.core.db import connection
from warroom.core.errors import Unauthorized

# Everything identity reads about a user; password_hash and mfa_secret stay inside the layer.
_USER_COLUMNS = (
    "id, email, password_hash, role, full_name, status, email_verified_at, last_login_at, created_at,"
    " mfa_secret, mfa_enabled_at, password_changed_at, mfa_grace_login_at"
)


def ensure_admin(email: str, password: str) -> tuple[str, bool]:
    """Create the admin ``email`` unless a user with that email exists; returns (user id, created)."""
    with connection() as conn:
        row = conn.execute("SELECT id FROM users WHERE lower(email) = lower(%s)", (email,)).fetchone()
        if row:
            return str(row["id"]), False
        row = conn.execute(
            "INSERT INTO users (email, password_hash, role, full_name, email_verified_at)"
            " VALUES (%s, %s, 'admin', 'War Room admin', now()) RETURNING id",
            (email, hash_password(password)),
        ).fetchone()
    return str(row["id"]), True


def user_out(row: dict[str, Any]) -> UserOut:
    """The user as they may see themselves."""
    return UserOut(
        id=str(row["id"]),
        email=row["email"],
        full_name=row["full_name"],
        role=row["role"],
        status=row["status"],
        email_verified=row["email_verified_at"] is not None,
        email_verified_at=row["email_verified_at"],
        mfa_enabled=row["mfa_enabled_at"] is not None,
        last_login_at=row["last_login_at"],
        created_at=row["created_at"],
    )


def fetch_user(conn: psycopg.Connection, user_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
    """The user with this id (locked for the transaction with ``for_update``), or None."""
    lock = " FOR UPDATE" if for_update else ""
    return conn.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE id = %s{lock}", (user_id,)).fetchone()  # noqa: S608


def fetch_current_user(conn: psycopg.Connection, user_id: str, *, for_update: bool = False) -> dict[str, Any]:
    """The user a valid access token names; 401 when that account no longer exists."""
    user = fetch_user(conn, user_id, for_update=for_update)
    if user is None:
        raise Unauthorized("The account of this token no longer exists.", details={"reason": "token_invalid"})
    return user


def fetch_user_by_email(conn: psycopg.Connection, email: str) -> dict[str, Any] | None:
    """The user with this email, whatever its case, or None."""
    return conn.execute(
        f"SELECT {_USER_COLUMNS} FROM users WHERE lower(email) = lower(%s)",  # noqa: S608
        (email,),
    ).fetchone()


def insert_user_unless_email_taken(
    conn: psycopg.Connection,
    email: str,
    password_hash: str,
    full_name: str | None,
    role: str = "readonly",
    status: str = "active",
) -> dict[str, Any] | None:
    """Create a user; None when the email (in any case) already has an account."""
    return conn.execute(
        "INSERT INTO users (email, password_hash, role, full_name, status, password_changed_at)"  # noqa: S608
        " VALUES (%s, %s, %s, %s, %s, now()) ON CONFLICT ((lower(email))) DO NOTHING"
        f" RETURNING {_USER_COLUMNS}",
        (email, password_hash, role, full_name, status),
    ).fetchone()


def update_full_name(conn: psycopg.Connection, user_id: str, full_name: str) -> dict[str, Any]:
    return conn.execute(
        f"UPDATE users SET full_name = %s WHERE id = %s RETURNING {_USER_COLUMNS}",  # noqa: S608
        (full_name, user_id),
    ).fetchone()


def update_password_hash(conn: psycopg.Connection, user_id: str, password_hash: str) -> None:
    conn.execute(
        "UPDATE users SET password_hash = %s, password_changed_at = now() WHERE id = %s", (password_hash, user_id)
    )


def mark_email_verified(conn: psycopg.Connection, user_id: str) -> None:
    conn.execute("UPDATE users SET email_verified_at = coalesce(email_verified_at, now()) WHERE id = %s", (user_id,))


def record_login(conn: psycopg.Connection, user_id: str) -> dict[str, Any]:
    """Stamp ``last_login_at``; returns the updated user."""
    return conn.execute(
        f"UPDATE users SET last_login_at = now() WHERE id = %s RETURNING {_USER_COLUMNS}",  # noqa: S608
        (user_id,),
    ).fetchone()


def store_mfa_secret(conn: psycopg.Connection, user_id: str, encrypted_secret: str | None, *, enabled: bool) -> None:
    """Set (pending or enabled) or clear the user's TOTP secret."""
    conn.execute(
        "UPDATE users SET mfa_secret = %s, mfa_enabled_at = CASE WHEN %s THEN now() ELSE NULL END WHERE id = %s",
        (encrypted_secret, enabled, user_id),
    )


def enable_mfa(conn: psycopg.Connection, user_id: str) -> dict[str, Any]:
    return conn.execute(
        f"UPDATE users SET mfa_enabled_at = now() WHERE id = %s RETURNING {_USER_COLUMNS}",  # noqa: S608
        (user_id,),
    ).fetchone()
