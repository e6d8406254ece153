"""Where each source's sync got to: one JSON cursor per provider and project (``ingest_cursors``).

Example
-------
>>> save_cursor("mentionlytics", "default", {"since": "2026-11-25T16:00:00+00:00"})
>>> read_cursor("mentionlytics", "default")
{'since': '2026-11-25T16:00:00+00:00'}

The shape of a cursor belongs to its sync (mentions: a time and a page to resume at; campaigns: the last day
synced and, mid-sync, the next day to read). Pass ``conn`` to save it in the transaction that stored the data
it points past, so the two never disagree.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from warroom.core.db import connection


def read_cursor(provider: str, project: str, conn: psycopg.Connection | None = None) -> dict[str, Any] | None:
    """The stored cursor, or None when the source never synced."""
    if conn is None:
        with connection() as own:
            return read_cursor(provider, project, own)
    row = conn.execute(
        "SELECT cursor FROM ingest_cursors WHERE provider = %s AND project = %s", (provider, project)
    ).fetchone()
    return row["cursor"] if row else None


def save_cursor(provider: str, project: str, cursor: dict[str, Any], conn: psycopg.Connection | None = None) -> None:
    """Replace the cursor (in ``conn``'s transaction when given)."""
    if conn is None:
        with connection() as own:
            return save_cursor(provider, project, cursor, own)
    conn.execute(
        "INSERT INTO ingest_cursors (provider, project, cursor) VALUES (%s, %s, %s)"
        " ON CONFLICT (provider, project) DO UPDATE SET cursor = EXCLUDED.cursor, updated_at = now()",
        (provider, project, Jsonb(cursor)),
    )
    return None


def list_cursors(conn: psycopg.Connection | None = None) -> list[dict[str, Any]]:
    """Every stored cursor (provider, project, cursor, updated_at), by provider and project: where each sync got."""
    if conn is None:
        with connection() as own:
            return list_cursors(own)
    rows = conn.execute(
        "SELECT provider, project, cursor, updated_at FROM ingest_cursors ORDER BY provider, project"
    ).fetchall()
    return [dict(row) for row in rows]
