"""Login sessions (``user_sessions``) and their rotating refresh tokens (``refresh_tokens``).

Example
-------
>>> with connection() as conn:
...     session_id, refresh_token = open_session(conn, user_id, user_agent="...", ip_address="203.0.113.7")
...     outcome = rotate_refresh_token(conn, refresh_token)      # a RefreshOutcome, never raises

A login opens one session; the session's refresh tokens form one family. Each refresh marks the
presented token ``rotated_at`` / ``replaced_by`` and issues its successor, and moves the session's
expiry 7 days ahead (a session dies after 7 days without use, or when revoked). Presenting a token
that was already rotated means two parties hold the family (a stolen token, or a client replaying
an old one): the whole session is revoked (``revoked_reason = 'token_reuse'``). Rotation locks the
presented token's row, so two concurrent refreshes with one token cannot both succeed: the second
is treated as reuse (a client must not refresh the same token twice in parallel).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, Literal

import psycopg

from warroom.audit import record_audit, set_actor
from warroom.auth.models import SessionOut
from warroom.auth.principals import require_bearer
from warroom.auth.revocation import revoke_session_tokens
from warroom.auth.tokens import new_opaque_token, token_hash
from warroom.core.config import get_settings
from warroom.core.db import connection
from warroom.core.errors import NotFound
from warroom.core.pagination import Keyset, Page, TimeIdPosition
from warroom.core.security import Principal
from warroom.realtime import close_connections_of

RefreshStatus = Literal["rotated", "unknown", "expired", "revoked", "reused"]


@dataclass(frozen=True)
class RefreshOutcome:
    status: RefreshStatus
    user_id: str | None = None
    session_id: str | None = None
    refresh_token: str | None = None


def revoke_user_sessions(conn: psycopg.Connection, user_id: str, reason: str) -> int:
    """Revoke every active session of ``user_id`` (its refresh tokens die with it); returns how many."""
    cursor = conn.execute(
        "UPDATE user_sessions SET revoked_at = now(), revoked_reason = %s WHERE user_id = %s AND revoked_at IS NULL",
        (reason, user_id),
    )
    return cursor.rowcount


def revoke_other_sessions(
    conn: psycopg.Connection, user_id: str, keep_session_id: str | None, reason: str
) -> list[str]:
    """Revoke every active session of ``user_id`` except ``keep_session_id``; returns the revoked ids."""
    rows = conn.execute(
        "UPDATE user_sessions SET revoked_at = now(), revoked_reason = %s"
        " WHERE user_id = %s AND revoked_at IS NULL AND id IS DISTINCT FROM %s RETURNING id",
        (reason, user_id, keep_session_id),
    ).fetchall()
    return [str(row["id"]) for row in rows]


def revoke_session(conn: psycopg.Connection, session_id: str, user_id: str, reason: str) -> bool:
    """Revoke one active session of ``user_id``; False when it is not theirs, unknown or already revoked."""
    row = conn.execute(
        "UPDATE user_sessions SET revoked_at = now(), revoked_reason = %s"
        " WHERE id = %s AND user_id = %s AND revoked_at IS NULL RETURNING id",
        (reason, session_id, user_id),
    ).fetchone()
    return row is not None


def open_session(
    conn: psycopg.Connection, user_id: str, *, user_agent: str | None, ip_address: str | None
) -> tuple[str, str]:
    """A new session with its first refresh token; returns (session id, refresh token)."""
    settings = get_settings()
    ttl_s = min(settings.refresh_token_ttl_s, settings.session_max_age_s)
    session = conn.execute(
        "INSERT INTO user_sessions (user_id, user_agent, ip_address, expires_at)"
        " VALUES (%s, %s, %s, now() + make_interval(secs => %s)) RETURNING id, expires_at",
        (user_id, (user_agent or "")[:1000] or None, ip_address, ttl_s),
    ).fetchone()
    refresh_token = new_opaque_token()
    conn.execute(
        "INSERT INTO refresh_tokens (session_id, token_hash, expires_at) VALUES (%s, %s, %s)",
        (session["id"], token_hash(refresh_token), session["expires_at"]),
    )
    return str(session["id"]), refresh_token


def rotate_refresh_token(conn: psycopg.Connection, refresh_token: str) -> RefreshOutcome:
    """Swap a refresh token for its successor, or say why not (revoking the family on reuse)."""
    row = conn.execute(
        "SELECT t.id, t.expires_at, t.rotated_at, s.id AS session_id, s.user_id, s.revoked_at,"
        " s.expires_at AS session_expires_at, s.created_at AS session_created_at"
        " FROM refresh_tokens t JOIN user_sessions s ON s.id = t.session_id"
        " WHERE t.token_hash = %s FOR UPDATE OF t, s",
        (token_hash(refresh_token),),
    ).fetchone()
    if row is None:
        return RefreshOutcome("unknown")
    ids = {"user_id": str(row["user_id"]), "session_id": str(row["session_id"])}
    if row["rotated_at"] is not None:
        if row["revoked_at"] is None:
            conn.execute(
                "UPDATE user_sessions SET revoked_at = now(), revoked_reason = 'token_reuse' WHERE id = %s",
                (row["session_id"],),
            )
        return RefreshOutcome("reused", **ids)
    if row["revoked_at"] is not None:
        return RefreshOutcome("revoked", **ids)
    now = dt.datetime.now(dt.UTC)
    settings = get_settings()
    too_old = row["session_created_at"] + dt.timedelta(seconds=settings.session_max_age_s) <= now
    if row["expires_at"] <= now or row["session_expires_at"] <= now or too_old:
        return RefreshOutcome("expired", **ids)
    successor = new_opaque_token()
    # Sliding by the refresh lifetime, but never past the session's absolute age.
    expires_at = min(
        now + dt.timedelta(seconds=settings.refresh_token_ttl_s),
        row["session_created_at"] + dt.timedelta(seconds=settings.session_max_age_s),
    )
    new_id = conn.execute(
        "INSERT INTO refresh_tokens (session_id, token_hash, expires_at) VALUES (%s, %s, %s) RETURNING id",
        (row["session_id"], token_hash(successor), expires_at),
    ).fetchone()["id"]
    conn.execute("UPDATE refresh_tokens SET rotated_at = now(), replaced_by = %s WHERE id = %s", (new_id, row["id"]))
    conn.execute(
        "UPDATE user_sessions SET last_used_at = now(), expires_at = %s WHERE id = %s",
        (expires_at, row["session_id"]),
    )
    return RefreshOutcome("rotated", refresh_token=successor, **ids)


SESSIONS_KEYSET = Keyset("auth.sessions", TimeIdPosition)


def fetch_active_sessions_page(
    conn: psycopg.Connection, user_id: str, after: TimeIdPosition | None, limit: int
) -> list[dict[str, Any]]:
    """The user's live sessions, newest first, keyset-paginated on (created_at, id); ``limit`` rows at most."""
    after_time, after_id = (after.t, after.id) if after else (None, None)
    return conn.execute(
        "SELECT id, user_agent, host(ip_address) AS ip_address, created_at, last_used_at, expires_at"
        " FROM user_sessions WHERE user_id = %s AND revoked_at IS NULL AND expires_at > now()"
        " AND (%s::timestamptz IS NULL OR (created_at, id) < (%s::timestamptz, %s::uuid))"
        " ORDER BY created_at DESC, id DESC LIMIT %s",
        (user_id, after_time, after_time, after_id, limit),
    ).fetchall()


def list_own_sessions(principal: Principal, limit: int, cursor: str | None) -> Page[SessionOut]:
    """One page of the caller's live sessions, the one their token belongs to flagged ``current``."""
    after = SESSIONS_KEYSET.decode(cursor)
    with connection() as conn:
        rows = fetch_active_sessions_page(conn, principal.user_id, after, limit + 1)
    items = [
        SessionOut(**{**row, "id": str(row["id"]), "current": str(row["id"]) == principal.session_id}) for row in rows
    ]
    return SESSIONS_KEYSET.page(items, limit, lambda item: TimeIdPosition(t=item.created_at, id=item.id))


def revoke_own_session(principal: Principal, session_id: str, actor: dict[str, Any]) -> None:
    """Sign one of the caller's sessions out (its access tokens too); 404 for any other id."""
    require_bearer(principal)
    try:
        session_id = str(uuid.UUID(session_id))
    except ValueError:
        raise NotFound("No such session.") from None
    with connection() as conn:
        set_actor(conn, principal.user_id)
        if not revoke_session(conn, session_id, principal.user_id, "revoked_by_user"):
            raise NotFound("No such session.")
        record_audit(conn, "auth.session_revoked", "session", session_id, {"session_id": session_id}, actor)
    revoke_session_tokens([session_id])
    close_connections_of(principal.user_id, session_ids=[session_id])


def prune_sessions(conn: psycopg.Connection, ended_before: dt.datetime) -> int:
    """Delete sessions that expired or were revoked before ``ended_before``, with their refresh tokens."""
    return conn.execute(
        "DELETE FROM user_sessions WHERE expires_at < %s OR revoked_at < %s", (ended_before, ended_before)
    ).rowcount


def prune_refresh_tokens(conn: psycopg.Connection, expired_before: dt.datetime) -> int:
    """Delete spent refresh tokens of live sessions that expired before ``expired_before``.

    A rotated token is kept until then because replaying it is how theft is detected (the family is revoked);
    past its own expiry a replay is refused anyway.
    """
    return conn.execute(
        "DELETE FROM refresh_tokens WHERE rotated_at IS NOT NULL AND expires_at < %s", (expired_before,)
    ).rowcount
