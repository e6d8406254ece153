"""Stored reports: created (built from the stored data, then kept), listed, read, deleted.

Example
-------
>>> report = create_report(ReportCreate.model_validate({"type": "crisis_log"}).root, principal, ctx.actor())
>>> list_reports(ReportListQuery(type="crisis_log"), principal).items[0].id == report.id
>>> delete_report(str(report.id), principal, ctx.actor())      # author or admin; audited

**Who sees a report**: everyone with read access sees every report (reports are campaign-wide, like the data
they summarise and the daily brief, which is one of them). **Who makes one**: ``user`` and up (building one reads
a lot). **Who deletes one**: its author, or an admin (403 for others; a report made by a schedule or the daily
brief job has no author, so only an admin may delete it). Creating and deleting are audited
(``report.create`` / ``report.delete``), besides the row-level trigger on ``reports``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from pydantic import BaseModel

from warroom.audit import record_audit, set_actor
from warroom.core.db import connection
from warroom.core.errors import Forbidden, NotFound
from warroom.core.pagination import Keyset, Page, TimeIdPosition
from warroom.core.security import Principal
from warroom.reports.generate import build_report
from warroom.reports.models import ReportListQuery, ReportOut

REPORTS_KEYSET = Keyset("reports.list", TimeIdPosition)
REPORT_COLUMNS = (
    "r.id, r.report_type AS type, r.title, r.parameters, r.generated_data, r.generated_at, r.generated_by,"
    " r.schedule_id, r.period_start, r.report_date"
)


def report_out(row: dict[str, Any]) -> ReportOut:
    """A stored row as its type's report model (the daily brief job's rows have no title or parameters)."""
    parameters = row["parameters"] or {}
    if row["type"] == "daily_brief" and not parameters and row.get("report_date"):
        parameters = {"date": row["report_date"].isoformat()}
    title = row["title"] or (
        f"Daily brief, {row['report_date']}" if row["type"] == "daily_brief" else row["type"].replace("_", " ")
    )
    return ReportOut.model_validate(
        {
            "id": row["id"],
            "type": row["type"],
            "title": title,
            "parameters": parameters,
            "generated_data": row["generated_data"],
            "generated_at": row["generated_at"],
            "generated_by": row["generated_by"],
            "schedule_id": row["schedule_id"],
            "period_start": row["period_start"],
        }
    )


def _uuid_or_404(report_id: str) -> str:
    try:
        return str(uuid.UUID(report_id))
    except ValueError as error:
        raise NotFound(f"There is no report '{report_id[:64]}'.") from error


def insert_report(
    conn: psycopg.Connection,
    report_type: str,
    title: str,
    parameters: BaseModel,
    data: BaseModel,
    *,
    generated_by: str | None,
    schedule_id: str | None = None,
    period_start: dt.datetime | None = None,
) -> dict[str, Any] | None:
    """Store one report; with a schedule, only if that schedule has none for ``period_start`` (else None)."""
    conflict = (
        " ON CONFLICT (schedule_id, period_start) WHERE schedule_id IS NOT NULL DO NOTHING" if schedule_id else ""
    )
    return conn.execute(
        "INSERT INTO reports AS r (report_type, title, parameters, generated_data, generated_by, schedule_id,"  # noqa: S608
        f" period_start) VALUES (%s, %s, %s, %s, %s, %s, %s){conflict} RETURNING {REPORT_COLUMNS}",
        (
            report_type,
            title,
            Jsonb(parameters.model_dump(mode="json", by_alias=True, exclude_none=True)),
            Jsonb(data.model_dump(mode="json", by_alias=True)),
            generated_by,
            schedule_id,
            period_start,
        ),
    ).fetchone()


def create_report(body: Any, principal: Principal, actor: dict[str, Any]) -> ReportOut:
    """Build the report of ``body.type`` from the stored data and keep it; audited as ``report.create``."""
    default_title, data = build_report(body.type, body.parameters)
    with connection() as conn:
        set_actor(conn, principal.user_id)
        row = insert_report(
            conn, body.type, body.title or default_title, body.parameters, data, generated_by=principal.user_id
        )
        assert row is not None  # an insert without a schedule always returns its row
        record_audit(conn, "report.create", "report", str(row["id"]), {"type": body.type}, actor)
    return report_out(row)


def list_reports(query: ReportListQuery) -> Page[Any]:
    """Reports newest first, filtered by type, author and generation time."""
    after = REPORTS_KEYSET.decode(query.cursor)
    conditions, params = [], []
    for column, value in (("r.report_type", query.type), ("r.generated_by", query.author)):
        if value is not None:
            conditions.append(f"{column} = %s")
            params.append(str(value))
    if query.from_ is not None:
        conditions.append("r.generated_at >= %s")
        params.append(query.from_)
    if query.to is not None:
        conditions.append("r.generated_at < %s")
        params.append(query.to)
    if after is not None:
        conditions.append("(r.generated_at, r.id) < (%s, %s::uuid)")
        params += [after.t, after.id]
    where = (" WHERE " + " AND ".join(conditions)) if conditions else ""
    with connection() as conn:
        rows = conn.execute(
            f"SELECT {REPORT_COLUMNS} FROM reports AS r{where} ORDER BY r.generated_at DESC, r.id DESC LIMIT %s",  # noqa: S608
            (*params, query.limit + 1),
        ).fetchall()
    page = REPORTS_KEYSET.page(rows, query.limit, lambda row: TimeIdPosition(t=row["generated_at"], id=row["id"]))
    return page.map(report_out)


def load_report_row(conn: psycopg.Connection, report_id: str, *, lock: bool = False) -> dict[str, Any]:
    row = conn.execute(
        f"SELECT {REPORT_COLUMNS} FROM reports AS r WHERE r.id = %s{' FOR UPDATE' if lock else ''}",  # noqa: S608
        (_uuid_or_404(report_id),),
    ).fetchone()
    if row is None:
        raise NotFound(f"There is no report '{report_id}'.")
    return row


def get_report(report_id: str) -> ReportOut:
    with connection() as conn:
        return report_out(load_report_row(conn, report_id))


def delete_report(report_id: str, principal: Principal, actor: dict[str, Any]) -> None:
    """Remove a report (its author or an admin; 403 for anyone else); audited as ``report.delete``."""
    with connection() as conn:
        row = load_report_row(conn, report_id, lock=True)
        if str(row["generated_by"] or "") != principal.user_id and principal.role != "admin":
            raise Forbidden("Only the report's author or an admin may delete it.")
        set_actor(conn, principal.user_id)
        conn.execute("DELETE FROM reports WHERE id = %s", (row["id"],))
        record_audit(
            conn, "report.delete", "report", str(row["id"]), {"type": row["type"], "title": row["title"]}, actor
        )
