"""Exporting the audit log as CSV (with a header row) or JSON (an array), oldest first.

Example
-------
>>> export = export_entries(ExportQuery(format="csv", action="admin.user_create"), ctx.actor())
>>> export.body            # the file, when it fits in the answer; else None and export.download_url

**Delivery.** Entries are read through a server-side cursor (bounded memory) into a spooled
temporary file. Up to ``WARROOM_AUDIT_EXPORT_INLINE_MAX_BYTES`` (4 MB: Lambda answers at most 6 MB,
and JSON-escaping the body inflates it) the file is the answer's body. A larger one is put in the
uploads bucket under ``exports/audit/`` (the bucket's lifecycle rule deletes it after a day) and
answered with ``303 See Other`` to a presigned download URL valid for 15 minutes, so a client that
follows redirects receives the file either way. More than ``WARROOM_AUDIT_EXPORT_MAX_ROWS`` (200,000)
matching entries is a 422 asking to narrow the filters.

The export is consistent: it holds exactly the entries up to the last ``seq`` counted when it
started. It is itself audited (``audit.export``) before it is handed out.

Spreadsheets run cells that start with ``= + - @`` as formulas; CSV cells starting so are prefixed
with ``'`` (OWASP's advice). The JSON export is exact.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import tempfile
import uuid
from dataclasses import dataclass
from typing import IO, Any

from warroom.audit import record_audit
from warroom.audit.models import ExportQuery
from warroom.audit.trail import filter_clause
from warroom.core.config import get_settings
from warroom.core.db import connection
from warroom.core.errors import DependencyUnavailable, ValidationFailed

EXPORT_PREFIX = "exports/audit/"
DOWNLOAD_URL_TTL_S = 900
CSV_COLUMNS = (
    "seq",
    "id",
    "timestamp",
    "user_id",
    "action",
    "resource_type",
    "resource_id",
    "ip_address",
    "user_agent",
    "details",
    "prev_hash",
    "hash",
)
_CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FETCH_ROWS = 2000
# The timestamp as the hash chain writes it; details as their canonical jsonb text.
_EXPORT_COLUMNS = (
    "seq, id::text AS id, to_char(timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS timestamp,"
    " user_id::text AS user_id, action, resource_type, resource_id, host(ip_address) AS ip_address, user_agent,"
    " details::text AS details, prev_hash, hash"
)


class ExportTooLarge(ValidationFailed):
    code = "export_too_large"


@dataclass
class AuditExport:
    format: str
    rows: int
    filename: str
    content_type: str
    body: str | None = None
    download_url: str | None = None
    expires_in_s: int | None = None


def _safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value


def _write_rows(cursor: Any, fmt: str, out: IO[bytes]) -> int:
    """Write every row of ``cursor`` to ``out`` in ``fmt``; returns how many."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    count = 0
    if fmt == "csv":
        writer = csv.writer(text)
        writer.writerow(CSV_COLUMNS)
        for row in cursor:
            writer.writerow([_safe_cell(row[column]) for column in CSV_COLUMNS])
            count += 1
    else:
        text.write("[")
        for row in cursor:
            entry = {**row, "details": json.loads(row["details"]) if row["details"] is not None else None}
            text.write(("," if count else "") + "\n" + json.dumps(entry, ensure_ascii=False, separators=(",", ":")))
            count += 1
        text.write("\n]\n")
    text.detach()  # leave ``out`` open for the caller
    return count


def _upload(spool: IO[bytes], fmt: str, filename: str) -> tuple[str, str]:
    """Put the file in the uploads bucket; returns (object key, presigned download URL)."""
    from warroom.core.aws import aws_client

    bucket = get_settings().uploads_bucket
    if not bucket:
        raise DependencyUnavailable("s3", "This export is too large to answer directly and no bucket is configured.")
    key = f"{EXPORT_PREFIX}{uuid.uuid4()}/{filename}"
    s3 = aws_client("s3")
    spool.seek(0)
    try:
        s3.upload_fileobj(
            spool,
            bucket,
            key,
            ExtraArgs={"ContentType": _CONTENT_TYPES[fmt], "ContentDisposition": f'attachment; filename="{filename}"'},
        )
        url = s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=DOWNLOAD_URL_TTL_S
        )
    except Exception as error:  # botocore's errors have no common base worth naming here
        raise DependencyUnavailable("s3") from error
    return key, url


def export_entries(query: ExportQuery, actor: dict[str, Any]) -> AuditExport:
    """The entries matching the filters as a file (inline or through S3); audited as ``audit.export``."""
    settings = get_settings()
    conditions, params = filter_clause(query)
    where = (" WHERE " + " AND ".join(conditions)) if conditions else ""
    filters = query.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"format"})
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    filename = f"audit-{stamp}.{query.format}"
    with (
        connection() as conn,
        tempfile.SpooledTemporaryFile(max_size=settings.audit_export_inline_max_bytes + 1) as spool,
    ):
        counted = conn.execute(
            f"SELECT count(*) AS n, max(seq) AS last_seq FROM audit_logs{where}",  # noqa: S608
            params,
        ).fetchone()
        if counted["n"] > settings.audit_export_max_rows:
            raise ExportTooLarge(
                f"{counted['n']} entries match; an export holds at most {settings.audit_export_max_rows}."
                " Narrow it with 'from' and 'to'.",
                details=[{"loc": ["query", "from"], "msg": "too many entries match", "type": "export_too_large"}],
            )
        with conn.cursor(name="audit_export") as cursor:
            cursor.itersize = _FETCH_ROWS
            cursor.execute(
                f"SELECT {_EXPORT_COLUMNS} FROM audit_logs{where}"  # noqa: S608
                + (" AND" if where else " WHERE")
                + " seq <= %s ORDER BY seq",
                (*params, counted["last_seq"] or 0),
            )
            rows = _write_rows(cursor, query.format, spool)
        size = spool.tell()
        export = AuditExport(query.format, rows, filename, _CONTENT_TYPES[query.format])
        delivery: dict[str, Any] = {"delivery": "inline", "bytes": size}
        if size <= settings.audit_export_inline_max_bytes:
            spool.seek(0)
            export.body = spool.read().decode()
        else:
            key, export.download_url = _upload(spool, query.format, filename)
            export.expires_in_s = DOWNLOAD_URL_TTL_S
            delivery = {"delivery": "s3", "bytes": size, "s3_key": key}
        details = {"format": query.format, "filters": filters, "rows": rows, **delivery}
        record_audit(conn, "audit.export", "audit_log", None, details, actor)
    return export
