"""Reports: list, create (type + parameters), by id, delete; CSV / PDF / JSON exports and their jobs; schedules."""

from __future__ import annotations

from chalice import Response

from warroom.auth.guard import authenticate_request
from warroom.core.http import JSON_CONTENT_TYPE as JSON
from warroom.core.http import OtherAnswer, RequestContext, WarRoomApp
from warroom.core.pagination import Page, PageQuery
from warroom.reports import exports, schedules, store
from warroom.reports.models import (
    ExportAccepted,
    ExportBody,
    ExportDocument,
    ExportJobOut,
    ExportLink,
    ReportCreate,
    ReportListQuery,
    ReportOut,
    ScheduleCreate,
    ScheduleOut,
)

app = WarRoomApp("reports", authenticate=authenticate_request)
# PDF answers are binary: Chalice base64-encodes them for API Gateway (Globals.Api.BinaryMediaTypes) when the
# request accepts them (`Accept: application/pdf` or `*/*`).
app.api.binary_types.append("application/pdf")


@app.endpoint("GET", "/api/v1/reports", role="readonly", query=ReportListQuery, response=Page[ReportOut])
def list_reports(query: ReportListQuery) -> Page[ReportOut]:
    """Every report, newest first (reports are campaign-wide: every reader sees them all); filters: type, author,
    generation time."""
    return store.list_reports(query)


@app.endpoint("POST", "/api/v1/reports", role="user", body=ReportCreate, response=ReportOut, status_code=201)
def create_report(body: ReportCreate, ctx: RequestContext) -> ReportOut:
    """Build a report of `type` from the stored data with that type's `parameters` and keep it (audited).

    Types: `sentiment_summary`, `crisis_log`, `campaign_performance`, `mentions_digest`, `daily_brief`; each
    answers its own `generated_data` schema. An unknown type or a parameter the type does not take is a 422.
    """
    return store.create_report(body.root, ctx.principal, ctx.actor())


@app.endpoint("GET", "/api/v1/reports/{report_id}", role="readonly", response=ReportOut, errors=(404,))
def get_report(report_id: str) -> ReportOut:
    """One report with its parameters and generated data."""
    return store.get_report(report_id)


@app.endpoint("DELETE", "/api/v1/reports/{report_id}", role="user", status_code=204, errors=(403, 404))
def delete_report(report_id: str, ctx: RequestContext) -> None:
    """Delete a report: its author or an admin (403 for others); audited."""
    store.delete_report(report_id, ctx.principal, ctx.actor())


def _answer(result: exports.ExportResult) -> Response:
    """The file (with its type and name), a 303 link to a stored one, or the 202 of a queued job."""
    if result.accepted is not None:
        location = result.accepted.poll_url
        body = result.accepted.model_dump_json()
        return Response(body=body, status_code=202, headers={"Content-Type": JSON, "Location": location})
    if result.link is not None:
        headers = {"Content-Type": JSON, "Location": result.link.download_url}
        return Response(body=result.link.model_dump_json(), status_code=303, headers=headers)
    headers = {
        "Content-Type": result.content_type,
        "Content-Disposition": f'attachment; filename="{result.filename}"',
        "X-Export-Rows": str(result.rows),
    }
    body = result.body if result.format == "pdf" else (result.body or b"").decode()
    return Response(body=body, status_code=200, headers=headers)


EXPORT_ANSWERS = (
    OtherAnswer(202, ExportAccepted, headers=("Location",), description="A large export: a job to poll."),
    OtherAnswer(303, ExportLink, headers=("Location",), description="Over 4 MB: a link to the stored file."),
)
EXPORT_DOC = """

Export a stored report (`report_id`) or a query (`query`: `kind` mentions with the mentions list's filters,
alerts, campaign_metrics, or audit_log for admins). Small exports are the answer's body with
`Content-Disposition: attachment`; large ones (over the `report_export_inline_max_rows` setting, or an estimated
time over `report_export_inline_max_seconds`) answer 202 with a job to poll at
`GET /api/v1/reports/export/jobs/{id}` (and `report:ready` on the socket when done). Audited."""


@app.endpoint(
    "POST",
    "/api/v1/reports/export/csv",
    role="readonly",
    body=ExportBody,
    response=str,
    content_type="text/csv",
    other_answers=EXPORT_ANSWERS,
    errors=(403, 404),
    summary="Export a report or a query as CSV",
)
def export_csv(body: ExportBody, ctx: RequestContext) -> Response:
    (
        """CSV (RFC 4180 quoting; text cells starting with = + - @ tab or CR prefixed with ' so no spreadsheet runs
    them; a report's tables one after another, each under its title row)."""
        + EXPORT_DOC
    )
    return _answer(exports.export("csv", body, ctx.principal, ctx.actor()))


@app.endpoint(
    "POST",
    "/api/v1/reports/export/json",
    role="readonly",
    body=ExportBody,
    response=ReportOut | ExportDocument,
    other_answers=EXPORT_ANSWERS,
    errors=(403, 404),
    summary="Export a report or a query as JSON",
)
def export_json(body: ExportBody, ctx: RequestContext) -> Response:
    """JSON: a report in its type's documented schema, or a query as `{kind, filters, columns, rows, row_count}`."""
    return _answer(exports.export("json", body, ctx.principal, ctx.actor()))


@app.endpoint(
    "POST",
    "/api/v1/reports/export/pdf",
    role="readonly",
    body=ExportBody,
    response=bytes,
    content_type="application/pdf",
    other_answers=EXPORT_ANSWERS,
    errors=(400, 403, 404),
    summary="Export a report or a query as PDF",
)
def export_pdf(body: ExportBody, ctx: RequestContext) -> Response:
    """PDF: a title page, charts, then the tables (at most `report_pdf_max_table_rows` rows). Send
    `Accept: application/pdf` (or `*/*`): the PDF is a binary answer (400 otherwise)."""
    exports.require_binary_accept(ctx.headers.get("accept"))
    return _answer(exports.export("pdf", body, ctx.principal, ctx.actor()))


@app.endpoint("GET", "/api/v1/reports/export/jobs/{job_id}", role="readonly", response=ExportJobOut, errors=(404,))
def get_export_job(job_id: str, ctx: RequestContext) -> ExportJobOut:
    """An export job of the caller's (admins: anyone's): its status and, once done, a 15-minute download link."""
    return exports.get_job(job_id, ctx.principal)


@app.endpoint("GET", "/api/v1/reports/schedules", role="manager", query=PageQuery, response=Page[ScheduleOut])
def list_schedules(query: PageQuery, ctx: RequestContext) -> Page[ScheduleOut]:
    """The caller's report schedules (admins: everyone's), newest first."""
    return schedules.list_schedules(query, ctx.principal)


@app.endpoint(
    "POST", "/api/v1/reports/schedules", role="manager", body=ScheduleCreate, response=ScheduleOut, status_code=201
)
def create_schedule(body: ScheduleCreate, ctx: RequestContext) -> ScheduleOut:
    """Subscribe to a report type built daily (covering the day before) or weekly (the week before) at `hour` in
    the campaign's time zone, stored and emailed to you as a link (audited)."""
    return schedules.create_schedule(body, ctx.principal, ctx.actor())


@app.endpoint("DELETE", "/api/v1/reports/schedules/{schedule_id}", role="manager", status_code=204, errors=(404,))
def delete_schedule(schedule_id: str, ctx: RequestContext) -> None:
    """Delete one of your schedules (admins: anyone's); its reports stay (audited)."""
    schedules.delete_schedule(schedule_id, ctx.principal, ctx.actor())
