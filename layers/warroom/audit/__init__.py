"""The audit trail: who did what to which resource, written in the same transaction as the change.

Example
-------
>>> with connection() as conn:
...     change_something(conn)
...     record_audit(conn, "settings.update", "settings", "data_mode", {"old": "MOCK", "new": "LIVE"}, actor)

Row-level changes of sensitive tables are also recorded by the database's ``audit_trigger()``;
:func:`set_actor` tells that trigger who is acting in the current transaction.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb


def set_actor(conn: psycopg.Connection, user_id: str | None) -> None:
    """Name the acting user for the row-level audit trigger, for this transaction only."""
    conn.execute("SELECT set_config('warroom.actor_id', %s, true)", (user_id or "",))


def record_audit(
    conn: psycopg.Connection,
    action: str,
    resource_type: str,
    resource_id: str | None,
    details: dict[str, Any] | None,
    actor: dict[str, Any] | None = None,
) -> str:
    """Append one audit record; returns its id."""
    actor = actor or {}
    row = conn.execute(
        "INSERT INTO audit_logs (user_id, action, resource_type, resource_id, details, ip_address, user_agent)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (
            actor.get("user_id"),
            action,
            resource_type,
            resource_id,
            Jsonb(details or {}),
            actor.get("ip_address"),
            (actor.get("user_agent") or "")[:1000] or None,
        ),
    ).fetchone()
    return str(row["id"] if isinstance(row, dict) else row[0])
