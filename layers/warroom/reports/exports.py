"""Exports of a stored report or a query as CSV, JSON or PDF: answered directly, or as a job to poll.

Example
-------
>>> result = export("csv", ExportBody(query=MentionsSource(kind="mentions", source="reddit")), principal, actor)
>>> result.body or result.accepted or result.link        # the file; a queued job (202); a link (303)
>>> run_export_job(job_id)                               # the queue consumer: the file into S3, report:ready

**Formats.** CSV: a header row per table; a report's tables follow each other, each under a one-cell title row
and followed by an empty row. Text cells that a spreadsheet would run as a formula -- starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return -- are prefixed with ``'`` (OWASP's advice; numbers stay numbers, so a
negative sentiment is still ``-0.52``), and every cell is quoted as RFC 4180 needs (``csv.QUOTE_MINIMAL``:
commas, quotes, line breaks). JSON: a report is its API shape (``ReportOut``, the documented schema of its type);
a query is an :class:`~warroom.reports.models.ExportDocument`. PDF: :mod:`warroom.reports.pdf`.

**Inline or a job.** The rows are counted first (one aggregate for mentions). More than the
``report_export_max_rows`` setting is a 422. More than ``report_export_inline_max_rows``, or an estimated build
time (rows x a per-format cost measured by the benchmark) over ``report_export_inline_max_seconds``, is a job: a
``report_export_jobs`` row, queued on ``ReportExportQueue``, answered 202 with its id; ``ReportExportFunction``
builds the file into the uploads bucket under ``exports/reports/<job id>/`` (expired after a day by the bucket's
lifecycle rule), marks the job done and sends ``report:ready`` to the requester's sockets; ``GET
/reports/export/jobs/{id}`` then answers a presigned download link (15 minutes). Otherwise the file is built
into a spooled temporary file and, up to 4 MB (Lambda answers at most 6 MB, and a binary answer is base64, 4/3
larger), is the answer's body; a larger one goes to S3 and is answered 303 with the link, as the audit export
does. Every export is audited (``report.export``).

**Who.** Exports take ``readonly`` (anyone who may read the data may take it away) except the audit log (admins).
A job is seen by its requester and admins only (404 for others); it runs with the requester's role at run time.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import os
import tempfile
import uuid
from dataclasses import dataclass
from typing import IO, Any

from psycopg.types.json import Jsonb

from warroom.audit import record_audit
from warroom.auth.users import fetch_user
from warroom.core.config import get_settings
from warroom.core.db import connection
from warroom.core.errors import BadRequest, DependencyUnavailable, NotFound, ValidationFailed, WarRoomError
from warroom.core.security import Principal
from warroom.core.settings import read_settings
from warroom.reports.models import ExportAccepted, ExportBody, ExportFormat, ExportJobOut, ExportLink
from warroom.reports.settings import (
    REPORT_EXPORT_INLINE_MAX_ROWS,
    REPORT_EXPORT_INLINE_MAX_SECONDS,
    REPORT_EXPORT_MAX_ROWS,
    REPORT_PDF_MAX_TABLE_ROWS,
)
from warroom.reports.tables import ExportContent, cell_text, count_rows, export_content

logger = logging.getLogger(__name__)

CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json", "pdf": "application/pdf"}
INLINE_MAX_BYTES = 4 * 1024 * 1024
DOWNLOAD_URL_TTL_S = 900
EXPORT_PREFIX = "exports/reports/"
READY_EVENT = "report:ready"
QUEUE_URL_ENV = "WARROOM_REPORT_EXPORT_QUEUE_URL"
# Seconds per row of each format in the benchmark (tests/perf/test_bench_reports.py, 2 cores: CSV 85-120 us a
# row, a tabled PDF row ~600 us, a PDF row past the table cap ~80 us), rounded up: what decides, with the time
# setting, that an export becomes a job. JSON is estimated at 1.25x CSV (it was not measured apart).
SECONDS_PER_ROW = {"csv": 0.00012, "json": 0.00015, "pdf_tabled": 0.0006, "pdf_read": 0.00008}
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_JOB_COLUMNS = (
    "id, requested_by, format, request, status, rows, bytes, filename, s3_key, error, created_at, finished_at"
)


class ExportTooLarge(ValidationFailed):
    code = "export_too_large"


@dataclass
class ExportResult:
    """One of: ``body`` (the file), ``link`` (303 to a stored file) or ``accepted`` (202, a job)."""

    format: str
    filename: str
    content_type: str
    rows: int = 0
    body: bytes | None = None
    link: ExportLink | None = None
    accepted: ExportAccepted | None = None


def neutralise(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run: text starting like a formula gets a leading ``'``."""
    kind = type(value)
    if kind is not str:
        if kind is int or kind is float:  # the common cells first: this runs for every cell of every row
            return value
        value = cell_text(value)
        if type(value) is not str:
            return value
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def require_binary_accept(accept: str | None) -> None:
    """A PDF is a binary answer, which API Gateway (and Chalice) deliver only to a request accepting it."""
    accepted = {part.split(";")[0].strip().lower() for part in (accept or "").split(",")}
    if not accepted & {"application/pdf", "*/*"}:
        raise BadRequest("A PDF export needs the header 'Accept: application/pdf' (or */*).")


def write_csv(content: ExportContent, out: IO[bytes]) -> int:
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    rows = 0
    several = len(content.tables) > 1
    for number, table in enumerate(content.tables):
        if several:
            if number:
                writer.writerow([])
            writer.writerow([neutralise(table.title)])
        writer.writerow(table.columns)
        for row in table.rows:
            writer.writerow([neutralise(value) for value in row])
            rows += 1
    text.detach()
    return rows


def _json_value(value: Any) -> Any:
    value = cell_text(value) if not isinstance(value, list | dict) else value
    return value


def write_json(content: ExportContent, out: IO[bytes]) -> int:
    if content.document is not None:
        out.write(content.document.model_dump_json(by_alias=True).encode())
        return content.row_count()
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    table = content.tables[0]
    head = {
        "kind": content.kind,
        "filters": content.filters,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(),
        "columns": table.columns,
    }
    text.write(json.dumps(head, ensure_ascii=False)[:-1] + ',"rows":[')
    rows = 0
    for row in table.rows:
        item = {column: _json_value(value) for column, value in zip(table.columns, row, strict=True)}
        text.write(("," if rows else "") + "\n" + json.dumps(item, ensure_ascii=False, default=str))
        rows += 1
    text.write(f'\n],"row_count":{rows}}}\n')
    text.detach()
    return rows


def write_file(fmt: str, content: ExportContent, out: IO[bytes]) -> int:
    """Write ``content`` as ``fmt`` to ``out``; returns the rows written (a PDF: read)."""
    if fmt == "csv":
        return write_csv(content, out)
    if fmt == "json":
        return write_json(content, out)
    from warroom.reports.pdf import write_pdf

    cap = read_settings([REPORT_PDF_MAX_TABLE_ROWS])[REPORT_PDF_MAX_TABLE_ROWS.key]
    return write_pdf(content, out, max_table_rows=cap)


def _filename(content: ExportContent, fmt: str) -> str:
    return f"{content.name}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.{fmt}"


def estimated_seconds(fmt: str, rows: int, pdf_cap: int) -> float:
    if fmt == "pdf":
        return min(rows, pdf_cap) * SECONDS_PER_ROW["pdf_tabled"] + rows * SECONDS_PER_ROW["pdf_read"]
    return rows * SECONDS_PER_ROW[fmt]


def _target(body: ExportBody) -> dict[str, Any]:
    if body.report_id is not None:
        return {"report_id": str(body.report_id)}
    assert body.query is not None
    return {"query": body.query.model_dump(mode="json", by_alias=True, exclude_none=True)}


def _s3() -> tuple[Any, str]:
    from warroom.core.aws import aws_client

    bucket = get_settings().uploads_bucket
    if not bucket:
        raise DependencyUnavailable("s3", "No uploads bucket is configured for exports.")
    return aws_client("s3"), bucket


def _upload(spool: IO[bytes], key: str, fmt: str, filename: str) -> None:
    s3, bucket = _s3()
    spool.seek(0)
    try:
        s3.upload_fileobj(
            spool,
            bucket,
            key,
            ExtraArgs={"ContentType": CONTENT_TYPES[fmt], "ContentDisposition": f'attachment; filename="{filename}"'},
        )
    except Exception as error:  # botocore's errors have no common base worth naming here
        raise DependencyUnavailable("s3") from error


def _download_url(key: str) -> str:
    s3, bucket = _s3()
    try:
        return s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=DOWNLOAD_URL_TTL_S
        )
    except Exception as error:
        raise DependencyUnavailable("s3") from error


def export(fmt: ExportFormat, body: ExportBody, principal: Principal, actor: dict[str, Any]) -> ExportResult:
    """The export of ``body`` as ``fmt``: the file, a link to it, or a queued job (see the module docstring)."""
    limits = read_settings(
        [
            REPORT_EXPORT_INLINE_MAX_ROWS,
            REPORT_EXPORT_INLINE_MAX_SECONDS,
            REPORT_EXPORT_MAX_ROWS,
            REPORT_PDF_MAX_TABLE_ROWS,
        ]
    )
    with export_content(body, principal) as content:  # 403 / 404 before anything is counted
        rows = count_rows(body)
        if rows > limits[REPORT_EXPORT_MAX_ROWS.key]:
            raise ExportTooLarge(
                f"{rows} rows match; an export holds at most {limits[REPORT_EXPORT_MAX_ROWS.key]}. Narrow the query.",
                details=[{"loc": ["body", "query"], "msg": "too many rows match", "type": "export_too_large"}],
            )
        seconds = estimated_seconds(fmt, rows, limits[REPORT_PDF_MAX_TABLE_ROWS.key])
        filename = _filename(content, fmt)
        if rows > limits[REPORT_EXPORT_INLINE_MAX_ROWS.key] or seconds > limits[REPORT_EXPORT_INLINE_MAX_SECONDS.key]:
            accepted = _queue_job(fmt, body, filename, rows, principal, actor)
            return ExportResult(fmt, filename, CONTENT_TYPES[fmt], rows, accepted=accepted)
        with tempfile.SpooledTemporaryFile(max_size=INLINE_MAX_BYTES + 1) as spool:
            written = write_file(fmt, content, spool)
            size = spool.tell()
            result = ExportResult(fmt, filename, CONTENT_TYPES[fmt], written)
            delivery: dict[str, Any] = {"delivery": "inline", "bytes": size}
            if size <= INLINE_MAX_BYTES:
                spool.seek(0)
                result.body = spool.read()
            else:
                key = f"{EXPORT_PREFIX}inline/{uuid.uuid4()}/{filename}"
                _upload(spool, key, fmt, filename)
                result.link = ExportLink(
                    download_url=_download_url(key), expires_in_s=DOWNLOAD_URL_TTL_S, rows=written, format=fmt
                )
                delivery = {"delivery": "s3", "bytes": size, "s3_key": key}
    with connection() as conn:
        record_audit(
            conn,
            "report.export",
            "report_export",
            None,
            {"format": fmt, **_target(body), "rows": written, **delivery},
            actor,
        )
    return result


# ---------------------------------------------------------------------------------------------- jobs


def _job_out(row: dict[str, Any], *, with_link: bool = True) -> ExportJobOut:
    job = ExportJobOut(
        id=row["id"],
        status=row["status"],
        format=row["format"],
        rows=row["rows"],
        bytes=row["bytes"],
        filename=row["filename"],
        created_at=row["created_at"],
        finished_at=row["finished_at"],
        error=row["error"],
    )
    if with_link and row["status"] == "done" and row["s3_key"]:
        job.download_url, job.expires_in_s = _download_url(row["s3_key"]), DOWNLOAD_URL_TTL_S
    return job


def _queue_job(
    fmt: str, body: ExportBody, filename: str, rows: int, principal: Principal, actor: dict[str, Any]
) -> ExportAccepted:
    from warroom.core.aws import aws_client

    queue_url = os.environ.get(QUEUE_URL_ENV)
    if not queue_url:
        raise DependencyUnavailable("sqs", "This export is too large to answer directly and no export queue is set.")
    request = {"format": fmt, **_target(body)}
    with connection() as conn:
        row = conn.execute(
            f"INSERT INTO report_export_jobs (requested_by, format, request, filename) VALUES (%s, %s, %s, %s)"  # noqa: S608
            f" RETURNING {_JOB_COLUMNS}",
            (principal.user_id, fmt, Jsonb(request), filename),
        ).fetchone()
        try:
            aws_client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps({"job_id": str(row["id"])}))
        except Exception as error:  # nothing is kept of a job that could not be queued (the transaction rolls back)
            raise DependencyUnavailable("sqs") from error
        record_audit(
            conn,
            "report.export",
            "report_export",
            str(row["id"]),
            {"format": fmt, **_target(body), "rows": rows, "delivery": "job"},
            actor,
        )
    job = _job_out(row, with_link=False)
    return ExportAccepted(job=job, poll_url=f"/api/v1/reports/export/jobs/{job.id}", estimated_rows=rows)


def get_job(job_id: str, principal: Principal) -> ExportJobOut:
    """A job of the caller's (an admin: anyone's); 404 otherwise. Done: with a fresh download link."""
    try:
        key = str(uuid.UUID(job_id))
    except ValueError as error:
        raise NotFound(f"There is no export job '{job_id[:64]}'.") from error
    with connection() as conn:
        row = conn.execute(f"SELECT {_JOB_COLUMNS} FROM report_export_jobs WHERE id = %s", (key,)).fetchone()  # noqa: S608
    if row is None or (str(row["requested_by"]) != principal.user_id and principal.role != "admin"):
        raise NotFound(f"There is no export job '{key}'.")
    return _job_out(row)


def _finish(job_id: str, **values: Any) -> dict[str, Any]:
    names = ", ".join(f"{name} = %({name})s" for name in values)
    with connection() as conn:
        return conn.execute(
            f"UPDATE report_export_jobs SET {names}, finished_at = now() WHERE id = %(id)s RETURNING {_JOB_COLUMNS}",  # noqa: S608
            {**values, "id": job_id},
        ).fetchone()


def run_export_job(job_id: str, *, final_attempt: bool = True) -> dict[str, Any]:
    """Build a queued job's file into S3, mark it done and tell the requester (``report:ready``).

    Idempotent: a job already done (a redelivered message) is left alone. An export the request itself makes
    impossible (the report was deleted, the requester may no longer read the audit log) fails at once; anything
    else raises, so SQS retries it, and marks the job failed on the ``final_attempt``.
    """
    from warroom.realtime import broadcast

    with connection() as conn:
        row = conn.execute(
            f"UPDATE report_export_jobs SET status = 'running', started_at = now() WHERE id = %s AND status <> 'done'"  # noqa: S608
            f" RETURNING {_JOB_COLUMNS}",
            (job_id,),
        ).fetchone()
        user = fetch_user(conn, str(row["requested_by"])) if row else None
    if row is None:
        return {"job_id": job_id, "acted": False, "reason": "unknown or already done"}
    fmt, request = row["format"], dict(row["request"])
    request.pop("format", None)
    try:
        if user is None or user["status"] != "active":
            raise NotFound("The requester's account is no longer active.")
        principal = Principal(
            user_id=str(user["id"]),
            role=user["role"],
            token_id=f"export-job:{job_id}",
            expires_at=dt.datetime.now(dt.UTC),
        )
        body = ExportBody.model_validate(request)
        key = f"{EXPORT_PREFIX}{job_id}/{row['filename']}"
        with export_content(body, principal) as content, tempfile.TemporaryFile() as spool:
            written = write_file(fmt, content, spool)
            size = spool.tell()
            _upload(spool, key, fmt, row["filename"])
    except WarRoomError as error:
        if isinstance(error, DependencyUnavailable) and not final_attempt:
            raise
        _finish(job_id, status="failed", error=error.message)
        logger.warning("export job %s failed: %s", job_id, error.message)
        return {"job_id": job_id, "acted": True, "status": "failed"}
    except Exception:
        if final_attempt:
            _finish(job_id, status="failed", error="The export could not be built.")
        raise
    done = _finish(job_id, status="done", rows=written, bytes=size, s3_key=key, error=None)
    ready = {
        "job_id": job_id,
        "format": fmt,
        "filename": done["filename"],
        "rows": written,
        "poll_url": f"/api/v1/reports/export/jobs/{job_id}",
    }
    try:
        broadcast(READY_EVENT, ready, user_id=str(row["requested_by"]))
    except Exception:
        logger.exception("export job %s done but report:ready not sent", job_id)
    return {"job_id": job_id, "acted": True, "status": "done", "rows": written, "bytes": size}


def export_record(record: Any) -> None:
    """One SQS record of the export queue (``{"job_id": ...}``, a Powertools ``SQSRecord``); the third delivery
    (the queue's ``maxReceiveCount``) marks a failing job failed."""
    message = json.loads(record.body)
    attempts = int(record.attributes.approximate_receive_count or 1)
    run_export_job(str(uuid.UUID(str(message["job_id"]))), final_attempt=attempts >= 3)
