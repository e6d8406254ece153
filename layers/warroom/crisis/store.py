"""Where crisis alerts are kept: the one reader of an alert row and the one writer of its timeline.

Example
-------
>>> alert = load_alert(alert_id)                              # AlertOut | None
>>> record_change(conn, alert_id, "acknowledged", "acknowledged", 7, note="on it", changed_by=user_id)
>>> count_unresolved(conn)                                    # what the KPIs and the daily brief show

The bottom of the crisis domain: :mod:`.alerts`, :mod:`.detection` and :mod:`.notify` all build on it,
and other domains (the dashboard KPIs, the daily brief) read crises through its functions, never
through ``crisis_events`` itself.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import psycopg

from warroom.core.db import connection
from warroom.crisis.models import AlertOut
from warroom.mentions.subjects import linked_mention_counts

ALERT_SELECT = """
SELECT c.id, c.kind, c.status, c.severity, c.title, c.subject_dimension, c.subject_value, c.detected_at,
       c.updated_at, c.last_evidence_at, c.acknowledged_at, c.acknowledged_by, c.resolved_at, c.resolved_by,
       c.created_by, c.metadata
FROM crisis_events AS c"""


def alert_out(row: dict[str, Any], linked_mentions: int = 0) -> AlertOut:
    """An alert row in the API's shape; ``linked_mentions`` comes from the mentions domain."""
    subject = None
    if row["subject_dimension"]:
        subject = {"dimension": row["subject_dimension"], "value": row["subject_value"]}
    return AlertOut(
        id=row["id"],
        kind=row["kind"],
        status=row["status"],
        severity=row["severity"],
        title=row["title"] or "Crisis",
        subject=subject,
        detected_at=row["detected_at"],
        updated_at=row["updated_at"],
        last_evidence_at=row["last_evidence_at"],
        acknowledged_at=row["acknowledged_at"],
        acknowledged_by=row["acknowledged_by"],
        resolved_at=row["resolved_at"],
        resolved_by=row["resolved_by"],
        created_by=row["created_by"],
        linked_mentions=linked_mentions,
        trigger=row["metadata"] or {},
    )


def load_alert(alert_id: str, conn: psycopg.Connection | None = None) -> AlertOut | None:
    """One alert, or None."""
    if conn is None:
        with connection() as own:
            return load_alert(alert_id, own)
    row = conn.execute(f"{ALERT_SELECT} WHERE c.id = %s", (alert_id,)).fetchone()
    if row is None:
        return None
    return alert_out(row, linked_mention_counts(conn, [row["id"]]).get(str(row["id"]), 0))


def record_change(
    conn: psycopg.Connection,
    crisis_id: str,
    change: str,
    status: str,
    severity: int | None,
    note: str | None = None,
    changed_by: str | None = None,
) -> None:
    """One timeline row of a crisis (``changed_by`` empty: the detector made the change)."""
    conn.execute(
        "INSERT INTO crisis_event_changes (crisis_event_id, change, status, severity, changed_by, note)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (crisis_id, change, status, severity, changed_by, note),
    )


def count_unresolved(conn: psycopg.Connection) -> int:
    """Crises not yet resolved: an acknowledged crisis is being handled, and still a crisis."""
    return int(conn.execute("SELECT count(*) AS n FROM crisis_events WHERE status <> 'resolved'").fetchone()["n"])


_CRISES_BETWEEN = {
    column: f"""
SELECT id, kind, title, subject_dimension, subject_value, severity, status, detected_at, resolved_at
FROM crisis_events WHERE {column} >= %s AND {column} < %s
ORDER BY severity DESC NULLS LAST, {column}, id LIMIT %s"""  # noqa: S608  (one of two literal column names)
    for column in ("detected_at", "resolved_at")
}


def crises_between(
    conn: psycopg.Connection,
    moment: Literal["detected", "resolved"],
    start: dt.datetime,
    end: dt.datetime,
    limit: int,
) -> list[dict[str, Any]]:
    """Crises detected (or resolved) in [start, end), most severe first: id, kind, title, subject_dimension,
    subject_value, severity, status, detected_at, resolved_at."""
    return conn.execute(_CRISES_BETWEEN[f"{moment}_at"], (start, end, limit)).fetchall()
