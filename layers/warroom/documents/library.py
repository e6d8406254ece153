"""The document library: uploads announced and presigned, listed, opened, downloaded and deleted.

Example
-------
>>> answer = announce_upload(UploadRequest(filename="brief.pdf", content_type="application/pdf", size=52_000),
...                          principal, actor)
>>> answer.upload.url, answer.upload.fields      # POST the file there as multipart/form-data
>>> list_documents(DocumentListQuery(status="processed"), principal).items

**Who may see a document**: its uploader; everyone with read access when it is ``shared``; managers and admins
always. Others get a 404 (its existence is not theirs to learn). **Who may delete it**: its uploader, or an
admin; anyone else who may see it gets a 403.

The upload is a presigned S3 **POST** (a policy can bound the size with ``content-length-range`` and fix the
content type, which a presigned PUT cannot) for a key of our making, ``documents/<document id>/<file name>``; the
row is ``pending`` until the object arrives and S3's notification reaches ``document_ingest``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import psycopg

from warroom.audit import record_audit, set_actor
from warroom.core.config import get_settings
from warroom.core.db import connection
from warroom.core.errors import (
    DependencyUnavailable,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from warroom.core.pagination import Keyset, Page, TimeIdPosition
from warroom.core.security import Principal, role_at_least
from warroom.core.settings import read_settings
from warroom.documents.models import (
    CONTENT_TYPES,
    DocumentListQuery,
    DocumentOut,
    DownloadOut,
    UploadForm,
    UploadOut,
    UploadRequest,
)
from warroom.documents.settings import DOCUMENT_INLINE_MAX_BYTES, DOCUMENT_MAX_BYTES

UPLOAD_URL_TTL_S = 900
DOWNLOAD_URL_TTL_S = 300
DOCUMENTS_KEYSET = Keyset("documents.list", TimeIdPosition)
DOCUMENT_COLUMNS = (
    "d.id, d.filename, d.title, d.status, d.document_type, d.content_type, d.size_bytes, d.shared, d.uploaded_by,"
    " d.page_count, d.chunk_count, d.ai_summary AS summary, d.summary_source, d.summary_note, d.error_reason,"
    " d.error_message, d.created_at, d.processed_at"
)


def visible_to(principal: Principal, alias: str = "d") -> tuple[str, list[Any]]:
    """The SQL condition (and its parameters) "``principal`` may see document ``alias``"."""
    if role_at_least(principal.role, "manager"):
        return "TRUE", []
    return f"({alias}.uploaded_by = %s OR {alias}.shared)", [principal.user_id]


def document_out(row: dict[str, Any]) -> DocumentOut:
    return DocumentOut.model_validate(row)


def _uuid_or_404(document_id: str) -> str:
    try:
        return str(uuid.UUID(document_id))
    except ValueError as error:
        raise NotFound(f"There is no document '{document_id}'.") from error


def load_visible(conn: psycopg.Connection, document_id: str, principal: Principal, *, lock: bool = False) -> dict:
    """The document's row if ``principal`` may see it; 404 otherwise (unknown and invisible look the same)."""
    condition, params = visible_to(principal)
    row = conn.execute(
        f"SELECT {DOCUMENT_COLUMNS}, d.s3_bucket, d.s3_key FROM documents AS d"
        f" WHERE d.id = %s AND {condition}{' FOR UPDATE' if lock else ''}",
        (_uuid_or_404(document_id), *params),
    ).fetchone()
    if row is None:
        raise NotFound(f"There is no document '{document_id}'.")
    return row


def announce_upload(body: UploadRequest, principal: Principal, actor: dict[str, Any]) -> UploadOut:
    """Create the ``pending`` row and answer the presigned POST for its object (413 over the size limit); or, when
    the file came inline, check it, store it to S3 and answer with ``upload`` null (S3's notification then
    processes it exactly as a presigned upload)."""
    from warroom.core.aws import aws_client

    values = read_settings([DOCUMENT_MAX_BYTES, DOCUMENT_INLINE_MAX_BYTES])
    max_bytes = values[DOCUMENT_MAX_BYTES.key]
    if body.size > max_bytes:
        raise PayloadTooLarge(f"Documents may be at most {max_bytes} bytes.", details={"max_bytes": max_bytes})
    content = body.content()
    if content is not None:
        _check_inline(content, body, min(max_bytes, values[DOCUMENT_INLINE_MAX_BYTES.key]))
    bucket = get_settings().uploads_bucket
    if not bucket:
        raise DependencyUnavailable("s3", "No uploads bucket is configured.")
    document_id = str(uuid.uuid4())
    key = f"documents/{document_id}/{body.filename}"
    form = None
    if content is None:
        try:
            form = aws_client("s3").generate_presigned_post(
                bucket,
                key,
                Fields={"Content-Type": body.content_type},
                Conditions=[{"Content-Type": body.content_type}, ["content-length-range", 1, max_bytes]],
                ExpiresIn=UPLOAD_URL_TTL_S,
            )
        except Exception as error:  # botocore's errors have no common base worth naming here
            raise DependencyUnavailable("s3") from error
    # The row exists before the object does, so the ingest finds it (and the file's announced type) by its key.
    with connection() as conn:
        set_actor(conn, principal.user_id)
        row = conn.execute(
            "INSERT INTO documents (id, filename, file_path, status, size_bytes, content_type, s3_bucket, s3_key,"
            " uploaded_by, title, shared) VALUES (%s, %s, %s, 'pending', %s, %s, %s, %s, %s, %s, %s)"
            f" RETURNING {DOCUMENT_COLUMNS.replace('d.', '')}",
            (
                document_id,
                body.filename,
                f"s3://{bucket}/{key}",
                body.size,
                body.content_type,
                bucket,
                key,
                principal.user_id,
                body.title,
                body.shared,
            ),
        ).fetchone()
        record_audit(
            conn,
            "document.uploaded" if content is not None else "document.upload_announced",
            "document",
            document_id,
            {"filename": body.filename, "size": body.size, "shared": body.shared, "inline": content is not None},
            actor,
        )
    if content is None:
        expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=UPLOAD_URL_TTL_S)
        upload = UploadForm(url=form["url"], fields=form["fields"], expires_at=expires_at, max_bytes=max_bytes)
        return UploadOut(document=document_out(row), upload=upload)
    try:
        aws_client("s3").put_object(Bucket=bucket, Key=key, Body=content, ContentType=body.content_type)
    except Exception as error:  # no object, so no row either: the client may simply try again
        with connection() as conn:
            conn.execute("DELETE FROM documents WHERE id = %s AND status = 'pending'", (document_id,))
        raise DependencyUnavailable("s3") from error
    return UploadOut(document=document_out(row), upload=None)


def _check_inline(content: bytes, body: UploadRequest, limit: int) -> None:
    """An inline file must be what it says: its announced size, within ``limit`` (413), and -- read from its bytes,
    not its name -- of the announced type (415) and not empty (422). Nothing is stored when it is not."""
    from warroom.documents.extract import UnreadableDocument, sniff_type

    if len(content) > limit:
        raise PayloadTooLarge(
            f"Files sent inline may be at most {limit} bytes; announce larger ones without `content_base64` and"
            " POST them to the presigned URL.",
            details={"max_inline_bytes": limit},
        )
    if len(content) != body.size:
        raise ValidationFailed(
            "`size` does not match the content.",
            details=[{"loc": ["body", "size"], "msg": f"the content has {len(content)} bytes", "type": "value_error"}],
        )
    try:
        kind = sniff_type(content, body.filename)
    except UnreadableDocument as error:
        if error.reason == "unsupported_type":
            raise UnsupportedMediaType(f"The file is {error.message}.", details={"reason": error.reason}) from error
        raise ValidationFailed(
            f"The file cannot be read: {error.message}.",
            details=[{"loc": ["body", "content_base64"], "msg": error.message, "type": error.reason}],
        ) from error
    announced = CONTENT_TYPES[body.content_type]
    if kind != announced and {kind, announced} != {"markdown", "text"}:
        raise UnsupportedMediaType(
            f"The file's bytes are {kind}, not {announced} as `content_type` says.",
            details={"detected": kind, "content_type": body.content_type},
        )


def list_documents(query: DocumentListQuery, principal: Principal) -> Page[DocumentOut]:
    """The documents ``principal`` may see, newest first, filtered."""
    after = DOCUMENTS_KEYSET.decode(query.cursor)
    condition, params = visible_to(principal)
    conditions = [condition]
    for column, value in (
        ("d.status", query.status),
        ("d.uploaded_by", query.uploaded_by),
        ("d.document_type", query.type),
    ):
        if value is not None:
            conditions.append(f"{column} = %s")
            params.append(str(value) if isinstance(value, uuid.UUID) else value)
    if query.q:
        conditions.append("(d.title ILIKE %s OR d.filename ILIKE %s)")
        pattern = "%" + query.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        params += [pattern, pattern]
    if query.from_ is not None:
        conditions.append("d.created_at >= %s")
        params.append(query.from_)
    if query.to is not None:
        conditions.append("d.created_at < %s")
        params.append(query.to)
    if after:
        conditions.append("(d.created_at, d.id) < (%s, %s::uuid)")
        params += [after.t, after.id]
    with connection() as conn:
        rows = conn.execute(
            f"SELECT {DOCUMENT_COLUMNS} FROM documents AS d WHERE {' AND '.join(conditions)}"
            " ORDER BY d.created_at DESC, d.id DESC LIMIT %s",
            (*params, query.limit + 1),
        ).fetchall()
    page = DOCUMENTS_KEYSET.page(rows, query.limit, lambda row: TimeIdPosition(t=row["created_at"], id=row["id"]))
    return page.map(document_out)


def get_document(document_id: str, principal: Principal) -> DocumentOut:
    with connection() as conn:
        return document_out(load_visible(conn, document_id, principal))


def download_url(document_id: str, principal: Principal) -> DownloadOut:
    """A short-lived presigned GET that downloads the file under its own name (404 until it is uploaded)."""
    from warroom.core.aws import aws_client

    with connection() as conn:
        row = load_visible(conn, document_id, principal)
    if row["status"] == "pending":
        raise NotFound("The document has not been uploaded yet.")
    name = row["filename"].replace('"', "")
    try:
        url = aws_client("s3").generate_presigned_url(
            "get_object",
            Params={
                "Bucket": row["s3_bucket"],
                "Key": row["s3_key"],
                "ResponseContentDisposition": f'attachment; filename="{name}"',
            },
            ExpiresIn=DOWNLOAD_URL_TTL_S,
        )
    except Exception as error:
        raise DependencyUnavailable("s3") from error
    return DownloadOut(url=url, expires_in=DOWNLOAD_URL_TTL_S)


def delete_document(document_id: str, principal: Principal, actor: dict[str, Any]) -> None:
    """Remove the object, the chunks and the row (uploader or admin; 403 for others who may see it); audited."""
    from warroom.core.aws import aws_client

    with connection() as conn:
        row = load_visible(conn, document_id, principal, lock=True)
        if str(row["uploaded_by"]) != principal.user_id and principal.role != "admin":
            raise Forbidden("Only the uploader or an admin may delete this document.")
        if row["s3_bucket"] and row["s3_key"]:
            try:
                aws_client("s3").delete_object(Bucket=row["s3_bucket"], Key=row["s3_key"])
            except Exception as error:  # nothing is deleted unless the object is gone
                raise DependencyUnavailable("s3") from error
        set_actor(conn, principal.user_id)
        conn.execute("DELETE FROM documents WHERE id = %s", (row["id"],))  # its chunks go with it (CASCADE)
        record_audit(conn, "document.deleted", "document", str(row["id"]), {"filename": row["filename"]}, actor)


def prune_pending(conn: psycopg.Connection, before: dt.datetime) -> int:
    """Remove the uploads announced before ``before`` whose file never arrived (rows only: there is no object)."""
    return conn.execute("DELETE FROM documents WHERE status = 'pending' AND created_at < %s", (before,)).rowcount
