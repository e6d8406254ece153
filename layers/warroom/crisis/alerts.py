"""The Alert Center: alerts (``crisis_events`` rows) listed, opened, created by hand, acknowledged, resolved.

Example
-------
>>> page = list_alerts(AlertListQuery(status="active"))
>>> acknowledge_alert(alert_id, note="on it", actor=ctx.actor())
>>> resolve_alert(alert_id, note=None, actor=ctx.actor())

Status moves only ``active -> acknowledged -> resolved`` or ``active -> resolved``; anything else is a
409 that changes nothing (the row is locked, so two people resolving at once get one 200 and one 409).
Every change records who and when in ``crisis_event_changes`` (the timeline), in the audit trail, and
is broadcast after the commit.
"""

from __future__ import annotations

import uuid
from typing import Any

from psycopg.types.json import Jsonb

from warroom.audit import record_audit, set_actor
from warroom.core.db import connection
from warroom.core.errors import Conflict, NotFound
from warroom.core.pagination import Keyset, Page, TimeIdPosition
from warroom.crisis import notify
from warroom.crisis.models import AlertCreate, AlertDetail, AlertListQuery, AlertOut, TimelineEntry
from warroom.crisis.settings import read_crisis_settings
from warroom.crisis.store import ALERT_SELECT, alert_out, load_alert, record_change
from warroom.mentions.subjects import (
    link_mentions_to_crisis,
    linked_mention_counts,
    linked_mentions_sample,
    unknown_mention_ids,
)

SAMPLE_SIZE = 10
# Allowed moves: from -> to.
TRANSITIONS = {("active", "acknowledged"), ("active", "resolved"), ("acknowledged", "resolved")}


def _uuid_or_404(alert_id: str) -> str:
    try:
        return str(uuid.UUID(alert_id))
    except ValueError as error:
        raise NotFound(f"There is no alert '{alert_id}'.") from error


ALERTS_KEYSET = Keyset("crisis.alerts", TimeIdPosition)


def list_alerts(query: AlertListQuery) -> Page[Any]:
    """Alerts newest first, filtered by status, severity range and detection time."""
    after = ALERTS_KEYSET.decode(query.cursor)
    conditions, params = [], []
    if query.status:
        conditions.append("c.status = %s")
        params.append(query.status)
    if query.severity_min is not None:
        conditions.append("c.severity >= %s")
        params.append(query.severity_min)
    if query.severity_max is not None:
        conditions.append("c.severity <= %s")
        params.append(query.severity_max)
    if query.from_ is not None:
        conditions.append("c.detected_at >= %s")
        params.append(query.from_)
    if query.to is not None:
        conditions.append("c.detected_at < %s")
        params.append(query.to)
    if after:
        conditions.append("(c.detected_at, c.id) < (%s, %s::uuid)")
        params += [after.t, after.id]
    where = (" WHERE " + " AND ".join(conditions)) if conditions else ""
    with connection() as conn:
        rows = conn.execute(
            f"{ALERT_SELECT}{where} ORDER BY c.detected_at DESC, c.id DESC LIMIT %s",
            (*params, query.limit + 1),
        ).fetchall()
        page = ALERTS_KEYSET.page(rows, query.limit, lambda row: TimeIdPosition(t=row["detected_at"], id=row["id"]))
        linked = linked_mention_counts(conn, [row["id"] for row in page.items])
    return page.map(lambda row: alert_out(row, linked.get(str(row["id"]), 0)))


def alert_detail(alert_id: str) -> AlertDetail:
    """The alert with its trigger, the timeline of its changes and a sample of its linked mentions."""
    alert_id = _uuid_or_404(alert_id)
    with connection() as conn:
        alert = load_alert(alert_id, conn)
        if alert is None:
            raise NotFound(f"There is no alert '{alert_id}'.")
        timeline = conn.execute(
            "SELECT change, status, severity, changed_by, changed_at, note FROM crisis_event_changes"
            " WHERE crisis_event_id = %s ORDER BY changed_at, id",
            (alert_id,),
        ).fetchall()
        samples = list(alert.trigger.get("sample_mention_ids") or [])
        sample_mentions = linked_mentions_sample(conn, alert_id, samples, SAMPLE_SIZE)
    return AlertDetail(
        **alert.model_dump(),
        timeline=[TimelineEntry(**row) for row in timeline],
        sample_mentions=sample_mentions,
    )


def create_alert(body: AlertCreate, actor: dict[str, Any]) -> AlertOut:
    """A manual crisis, active at once, linked to the given mentions (which must exist: 404 otherwise)."""
    ids = [str(i) for i in dict.fromkeys(body.mention_ids)]
    with connection() as conn:
        set_actor(conn, actor.get("user_id"))
        if ids:
            missing = unknown_mention_ids(conn, ids)
            if missing:
                raise NotFound("Some mentions do not exist.", details={"mention_ids": missing})
        metadata = {"rule": "manual", "description": body.description, "sample_mention_ids": ids[:5]}
        row = conn.execute(
            """
            INSERT INTO crisis_events (kind, title, severity, status, metadata, created_by, last_evidence_at)
            VALUES ('manual', %s, %s, 'active', %s, %s, now()) RETURNING id
            """,
            (body.title, body.severity, Jsonb(metadata), actor.get("user_id")),
        ).fetchone()
        alert_id = str(row["id"])
        if ids:
            link_mentions_to_crisis(conn, alert_id, ids)
        record_change(conn, alert_id, "created", "active", body.severity, body.description, actor.get("user_id"))
        record_audit(
            conn, "alert.create", "crisis_event", alert_id, {"title": body.title, "severity": body.severity}, actor
        )
        settings = read_crisis_settings(conn)
    [alert] = notify.after_changes([("crisis:detected", alert_id, None)], settings["alert_email_min_severity"])
    return alert


def _transition(alert_id: str, to: str, note: str | None, actor: dict[str, Any]) -> AlertOut:
    alert_id = _uuid_or_404(alert_id)
    user_id = actor.get("user_id")
    with connection() as conn:
        set_actor(conn, user_id)
        row = conn.execute(
            "SELECT status, severity FROM crisis_events WHERE id = %s FOR UPDATE", (alert_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"There is no alert '{alert_id}'.")
        if (row["status"], to) not in TRANSITIONS:
            raise Conflict(
                f"An alert that is {row['status']} cannot be {to}.",
                details={"status": row["status"], "allowed": sorted(t for f, t in TRANSITIONS if f == row["status"])},
            )
        if to == "acknowledged":
            conn.execute(
                "UPDATE crisis_events SET status = 'acknowledged', acknowledged_at = now(), acknowledged_by = %s,"
                " updated_at = now() WHERE id = %s",
                (user_id, alert_id),
            )
        else:
            conn.execute(
                "UPDATE crisis_events SET status = 'resolved', resolved_at = now(), resolved_by = %s,"
                " updated_at = now() WHERE id = %s",
                (user_id, alert_id),
            )
        record_change(conn, alert_id, to, to, row["severity"], note, user_id)
        action = "alert.acknowledge" if to == "acknowledged" else "alert.resolve"
        record_audit(conn, action, "crisis_event", alert_id, {"from": row["status"], "note": note}, actor)
        settings = read_crisis_settings(conn)
    event = "crisis:updated" if to == "acknowledged" else "crisis:resolved"
    [alert] = notify.after_changes([(event, alert_id, row["severity"])], settings["alert_email_min_severity"])
    return alert


def acknowledge_alert(alert_id: str, note: str | None, actor: dict[str, Any]) -> AlertOut:
    """``active -> acknowledged`` (409 from any other status)."""
    return _transition(alert_id, "acknowledged", note, actor)


def resolve_alert(alert_id: str, note: str | None, actor: dict[str, Any]) -> AlertOut:
    """``active | acknowledged -> resolved`` (409 when already resolved)."""
    return _transition(alert_id, "resolved", note, actor)
