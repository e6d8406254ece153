"""Users as the rest of the system needs them before the auth routes exist: the seeded admin."""

from __future__ import annotations

from warroom.auth.passwords import hash_password
from warroom.core.db import connection


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
