"""Scheduled reports: a manager subscribes a report type daily or weekly; the schedule builds, stores and emails it.

Example
-------
>>> schedule = create_schedule(ScheduleCreate(type="crisis_log", frequency="weekly", weekday="monday", hour=7),
...                            principal, ctx.actor())
>>> run_due_schedules({"time": "2026-11-23T12:05:00Z"})     # ReportScheduleFunction, every 15 minutes
{'built': 1, 'emailed': 1, 'skipped': 0, ...}

**When.** Hours and weekdays are in the campaign's time zone (the ``timezone`` setting, as the daily brief), daylight
saving included. A daily schedule at hour H is due from H:00 each day and covers the day before (local midnight to
midnight); a weekly one, from H:00 on its weekday, covers the 7 days before that day. Each run builds the latest
period that is due, so a new subscription gets its most recent period at the next run, and a run that was missed
(the function down for an hour) catches up.

**Once per period.** The report row records its schedule and the start of its period, and a partial unique index
on the two makes the insert of a second one a no-op: a re-run, a retry or two runs at once store one report and
send one email. The report is built from the stored data by the same code as ``POST /reports`` (the period fixed
by the schedule), its author empty (a schedule made it).

**The email** is a link to the report in the dashboard (``<AppUrl>/reports/<id>``), not an attachment, to the
subscriber only while their account is active and their address verified (as every notification). A report is
never lost to SES: an email that fails is logged.

**Who.** Managers and admins subscribe (a schedule spends compute on every period); each sees and deletes their
own schedules, admins everyone's (others' are 404). Creating and deleting are audited.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
import zoneinfo
from collections.abc import Mapping
from typing import Any

from psycopg.types.json import Jsonb

from warroom.audit import record_audit, set_actor
from warroom.auth.users import fetch_user
from warroom.core.config import get_settings
from warroom.core.db import connection
from warroom.core.errors import NotFound
from warroom.core.pagination import Keyset, Page, PageQuery, TimeIdPosition
from warroom.core.security import Principal
from warroom.intelligence.briefing import campaign_timezone
from warroom.notifications import send_email
from warroom.reports.generate import build_report, type_label
from warroom.reports.models import PARAMS_BY_TYPE, WEEKDAYS, ScheduleCreate, ScheduleOut
from warroom.reports.store import insert_report

logger = logging.getLogger(__name__)

SCHEDULES_KEYSET = Keyset("reports.schedules", TimeIdPosition)
_COLUMNS = "id, report_type, frequency, weekday, hour, parameters, subscriber_id, created_at, last_run_at"


def _out(row: Mapping[str, Any], tz: str) -> ScheduleOut:
    return ScheduleOut(
        id=row["id"],
        type=row["report_type"],
        frequency=row["frequency"],
        weekday=WEEKDAYS[row["weekday"]] if row["weekday"] is not None else None,
        hour=row["hour"],
        timezone=tz,
        parameters=row["parameters"] or {},
        subscriber_id=row["subscriber_id"],
        created_at=row["created_at"],
        last_run_at=row["last_run_at"],
    )


def create_schedule(body: ScheduleCreate, principal: Principal, actor: dict[str, Any]) -> ScheduleOut:
    weekday = WEEKDAYS.index(body.weekday) if body.weekday else None
    with connection() as conn:
        set_actor(conn, principal.user_id)
        row = conn.execute(
            "INSERT INTO report_schedules (report_type, frequency, weekday, hour, parameters, subscriber_id)"  # noqa: S608
            f" VALUES (%s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}",
            (body.type, body.frequency, weekday, body.hour, Jsonb(body.parameters), principal.user_id),
        ).fetchone()
        details = {"type": body.type, "frequency": body.frequency, "weekday": body.weekday, "hour": body.hour}
        record_audit(conn, "report.schedule_create", "report_schedule", str(row["id"]), details, actor)
    return _out(row, campaign_timezone().key)


def list_schedules(query: PageQuery, principal: Principal) -> Page[Any]:
    """The caller's schedules (an admin: everyone's), newest first."""
    after = SCHEDULES_KEYSET.decode(query.cursor)
    conditions, params = [], []
    if principal.role != "admin":
        conditions.append("subscriber_id = %s")
        params.append(principal.user_id)
    if after is not None:
        conditions.append("(created_at, id) < (%s, %s::uuid)")
        params += [after.t, after.id]
    where = (" WHERE " + " AND ".join(conditions)) if conditions else ""
    with connection() as conn:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM report_schedules{where} ORDER BY created_at DESC, id DESC LIMIT %s",  # noqa: S608
            (*params, query.limit + 1),
        ).fetchall()
    tz = campaign_timezone().key
    page = SCHEDULES_KEYSET.page(rows, query.limit, lambda row: TimeIdPosition(t=row["created_at"], id=row["id"]))
    return page.map(lambda row: _out(row, tz))


def delete_schedule(schedule_id: str, principal: Principal, actor: dict[str, Any]) -> None:
    try:
        key = str(uuid.UUID(schedule_id))
    except ValueError as error:
        raise NotFound(f"There is no schedule '{schedule_id[:64]}'.") from error
    with connection() as conn:
        row = conn.execute(f"SELECT {_COLUMNS} FROM report_schedules WHERE id = %s FOR UPDATE", (key,)).fetchone()  # noqa: S608
        if row is None or (str(row["subscriber_id"]) != principal.user_id and principal.role != "admin"):
            raise NotFound(f"There is no schedule '{key}'.")
        set_actor(conn, principal.user_id)
        conn.execute("DELETE FROM report_schedules WHERE id = %s", (key,))
        record_audit(conn, "report.schedule_delete", "report_schedule", key, {"type": row["report_type"]}, actor)


# ---------------------------------------------------------------------------------------------- the run


def latest_due(row: Mapping[str, Any], now: dt.datetime, tz: zoneinfo.ZoneInfo) -> tuple[dt.date, dt.date]:
    """(first day, day after the last) of the latest period of the schedule that is due at ``now``, local days."""
    local = now.astimezone(tz)
    run_day = local.date()
    if row["frequency"] == "daily":
        if local.hour < row["hour"]:
            run_day -= dt.timedelta(days=1)
        return run_day - dt.timedelta(days=1), run_day
    back = (run_day.weekday() - row["weekday"]) % 7
    if back == 0 and local.hour < row["hour"]:
        back = 7
    run_day -= dt.timedelta(days=back)
    return run_day - dt.timedelta(days=7), run_day


def _midnight(day: dt.date, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=tz).astimezone(dt.UTC)


def period_parameters(report_type: str, stored: dict[str, Any], first: dt.date, end: dt.date, tz: zoneinfo.ZoneInfo):
    """The report's parameters: the schedule's own, with the period it covers."""
    model = PARAMS_BY_TYPE[report_type]
    if report_type == "campaign_performance":
        period = {"from": first.isoformat(), "to": (end - dt.timedelta(days=1)).isoformat()}
    elif report_type == "daily_brief":
        period = {"date": end.isoformat()}
    else:
        period = {"from": _midnight(first, tz).isoformat(), "to": _midnight(end, tz).isoformat()}
    return model.model_validate({**stored, **period})


def _event_time(event: Mapping[str, Any]) -> dt.datetime:
    raw = event.get("time")
    if not raw:
        return dt.datetime.now(dt.UTC)
    moment = dt.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _email(report: Mapping[str, Any], schedule: Mapping[str, Any], first: dt.date, end: dt.date) -> bool:
    with connection() as conn:
        user = fetch_user(conn, str(schedule["subscriber_id"]))
    if user is None or user["status"] != "active" or user["email_verified_at"] is None:
        return False
    link = f"{get_settings().app_url.rstrip('/')}/reports/{report['id']}"
    last = end - dt.timedelta(days=1)
    covered = f"{first}" if first == last else f"{first} to {last}"
    subject = f"War Room {schedule['frequency']} report: {report['title']}"
    text = "\n".join(
        [
            f"Your {schedule['frequency']} {type_label(schedule['report_type']).lower()} is ready.",
            "",
            f"{report['title']} (covering {covered}).",
            "",
            f"Open it in the War Room: {link}",
            "",
            "You receive this because you subscribed to it; delete the schedule to stop.",
        ]
    )
    return send_email(user["email"], subject, text)


def run_due_schedules(event: Mapping[str, Any]) -> dict[str, Any]:
    """Build every schedule's latest due period that has no report yet; store it once, email its subscriber."""
    now = _event_time(event)
    tz = campaign_timezone()
    with connection() as conn:
        schedules = conn.execute(f"SELECT {_COLUMNS} FROM report_schedules ORDER BY created_at, id").fetchall()  # noqa: S608
    outcome = {"built": 0, "emailed": 0, "skipped": 0, "failed": 0, "time": now.isoformat(), "timezone": tz.key}
    for schedule in schedules:
        first, end = latest_due(schedule, now, tz)
        period_start = _midnight(first, tz)
        with connection() as conn:
            exists = conn.execute(
                "SELECT 1 FROM reports WHERE schedule_id = %s AND period_start = %s", (schedule["id"], period_start)
            ).fetchone()
        if exists:
            outcome["skipped"] += 1
            continue
        try:
            params = period_parameters(schedule["report_type"], schedule["parameters"] or {}, first, end, tz)
            title, data = build_report(schedule["report_type"], params, now=now)
            with connection() as conn:
                row = insert_report(
                    conn,
                    schedule["report_type"],
                    f"{title} ({schedule['frequency']})"[:300],
                    params,
                    data,
                    generated_by=None,
                    schedule_id=str(schedule["id"]),
                    period_start=period_start,
                )
                conn.execute("UPDATE report_schedules SET last_run_at = now() WHERE id = %s", (schedule["id"],))
        except Exception:
            logger.exception("scheduled report %s for %s failed", schedule["id"], first)
            outcome["failed"] += 1
            continue
        if row is None:  # another run stored it between the check and the insert
            outcome["skipped"] += 1
            continue
        outcome["built"] += 1
        try:
            outcome["emailed"] += int(_email(row, schedule, first, end))
        except Exception:
            logger.exception("scheduled report %s stored but not emailed", row["id"])
    return outcome
