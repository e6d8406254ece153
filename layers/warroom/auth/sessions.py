"""Login sessions (``user_sessions``): the parts other domains need, e.g. admin deactivation."""

from __future__ import annotations

import psycopg


def revoke_user_sessions(conn: psycopg.Connection, user_id: str, reason: str) -> int:
    """Revoke every active session of ``user_id`` (its refresh tokens die with it); returns how many."""
    cursor = conn.execute(
        "UPDATE user_sessions SET revoked_at = now(), revoked_reason = %s WHERE user_id = %s AND revoked_at IS NULL",
        (reason, user_id),
    )
    return cursor.rowcount
