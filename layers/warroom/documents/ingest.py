"""Register documents uploaded to the uploads bucket: the record handler of the ``document_ingest`` function.

Example
-------
>>> from warroom.documents.ingest import ingest_record
>>> processor = BatchProcessor(event_type=EventType.SQS)
>>> process_partial_response(event=event, record_handler=ingest_record, processor=processor, context=context)
{"batchItemFailures": []}

S3 sends an ``ObjectCreated`` notification to ``DocumentQueue`` for every object put under ``documents/``; each SQS
message body is that notification (``Records[].s3.bucket.name``, ``.object.key`` URL-encoded, ``.object.size``,
``.eTag``, ``.sequencer``). Each object becomes one row of ``documents`` with ``status = 'uploaded'``, keyed by
``(s3_bucket, s3_key)``: a redelivered notification changes nothing, and an object overwritten under the same key
(a newer sequencer, another ETag) resets its row to ``uploaded``. S3's ``s3:TestEvent`` (sent when the notification
is configured) and folder placeholders are skipped. A malformed body or a key outside ``documents/`` raises
:class:`InvalidDocumentNotification`: the record fails, is retried, and after five receives lands in the DLQ.

Then each registered object is processed (:func:`warroom.documents.processing.process_uploaded`): text, chunks,
embeddings and summary, once per object version. A file that cannot be read is marked ``failed`` and the record
succeeds (retrying cannot help); anything else fails the record, so SQS retries it and, after five receives,
moves it to the DLQ. The content type is guessed from the file name at registration (S3 notifications do not
carry it); processing checks the real type from the bytes.
"""

from __future__ import annotations

import json
import logging
import mimetypes
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.parse import unquote_plus

import psycopg

from warroom.core.db import connection

logger = logging.getLogger(__name__)

DOCUMENTS_PREFIX = "documents/"
MAX_FILENAME_LENGTH = 255  # documents.filename
DEFAULT_CONTENT_TYPE = "application/octet-stream"
Registration = Literal["registered", "updated", "unchanged"]


class InvalidDocumentNotification(ValueError):
    """The message is not an S3 notification this function can register (it fails, then goes to the DLQ)."""


class QueueRecord(Protocol):
    """What the record handler reads of an SQS record (Powertools' ``SQSRecord`` has both)."""

    @property
    def body(self) -> str: ...

    @property
    def message_id(self) -> str: ...


@dataclass(frozen=True)
class UploadedObject:
    """One object named by an ``ObjectCreated`` notification; ``key`` is URL-decoded."""

    bucket: str
    key: str
    size_bytes: int
    etag: str | None = None
    sequencer: str | None = None

    @property
    def filename(self) -> str:
        return self.key.rsplit("/", 1)[-1]

    @property
    def file_path(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def content_type(self) -> str:
        return mimetypes.guess_type(self.filename)[0] or DEFAULT_CONTENT_TYPE


def parse_s3_notification(body: str) -> list[UploadedObject]:
    """The objects an S3 notification message names; ``[]`` for ``s3:TestEvent`` and folder placeholders.

    Raises :class:`InvalidDocumentNotification` for anything else that is not an ``ObjectCreated`` notification
    of a key under ``documents/``.
    """
    try:
        notification = json.loads(body)
    except ValueError as error:
        raise InvalidDocumentNotification(f"the message body is not JSON: {error}") from error
    if not isinstance(notification, dict):
        raise InvalidDocumentNotification("the message body is not an S3 notification")
    if notification.get("Event") == "s3:TestEvent":
        return []
    records = notification.get("Records")
    if not isinstance(records, list) or not records:
        raise InvalidDocumentNotification("the message body has no S3 Records")
    objects = []
    for record in records:
        uploaded = _uploaded_object(record)
        if uploaded.key.endswith("/"):
            logger.info("skipping folder placeholder %s", uploaded.file_path)
            continue
        objects.append(uploaded)
    return objects


def register_uploaded_object(conn: psycopg.Connection, uploaded: UploadedObject) -> Registration:
    """Insert the object's ``documents`` row, or refresh it if the object was overwritten; idempotent."""
    row = conn.execute(
        """
        INSERT INTO documents
            (filename, file_path, status, size_bytes, content_type, s3_bucket, s3_key, s3_etag, s3_sequencer)
        VALUES
            (%(filename)s, %(file_path)s, 'uploaded', %(size_bytes)s, %(content_type)s, %(bucket)s, %(key)s,
             %(etag)s, %(sequencer)s)
        ON CONFLICT (s3_bucket, s3_key) DO UPDATE SET
            filename = EXCLUDED.filename,
            size_bytes = EXCLUDED.size_bytes,
            content_type = EXCLUDED.content_type,
            s3_etag = EXCLUDED.s3_etag,
            s3_sequencer = EXCLUDED.s3_sequencer,
            status = 'uploaded',
            ai_summary = NULL,
            vector_embeddings = NULL,
            processed_at = NULL
        -- A redelivery has the same ETag; an older notification arriving late has a smaller sequencer (S3 says:
        -- right-pad the shorter with zeros, then compare), and must not undo a newer one.
        WHERE documents.s3_etag IS DISTINCT FROM EXCLUDED.s3_etag
          AND (documents.s3_sequencer IS NULL OR EXCLUDED.s3_sequencer IS NULL
               OR rpad(EXCLUDED.s3_sequencer, 64, '0') COLLATE "C" > rpad(documents.s3_sequencer, 64, '0') COLLATE "C")
        RETURNING id, (xmax = 0) AS inserted
        """,
        {
            "filename": uploaded.filename,
            "file_path": uploaded.file_path,
            "size_bytes": uploaded.size_bytes,
            "content_type": uploaded.content_type,
            "bucket": uploaded.bucket,
            "key": uploaded.key,
            "etag": uploaded.etag,
            "sequencer": uploaded.sequencer,
        },
    ).fetchone()
    if row is None:
        return "unchanged"
    return "registered" if row["inserted"] else "updated"


def ingest_record(record: QueueRecord) -> list[Registration]:
    """Register every object named by one SQS message; raises (so the record fails) when it cannot."""
    try:
        objects = parse_s3_notification(record.body)
        if not objects:
            logger.info("message %s names no document (S3 test event or folder); skipped", record.message_id)
            return []
        with connection() as conn:
            outcomes = [register_uploaded_object(conn, uploaded) for uploaded in objects]
        from warroom.documents.processing import process_uploaded

        for uploaded in objects:
            process_uploaded(uploaded.bucket, uploaded.key, uploaded.etag)
    except Exception:
        # Powertools turns the exception into a batchItemFailures entry without logging it.
        logger.exception("message %s could not be registered", record.message_id)
        raise
    for uploaded, outcome in zip(objects, outcomes, strict=True):
        logger.info("%s %s (%d bytes)", outcome, uploaded.file_path, uploaded.size_bytes)
    return outcomes


def _uploaded_object(record: Any) -> UploadedObject:
    try:
        event_name, s3 = record["eventName"], record["s3"]
        bucket, key, size = s3["bucket"]["name"], unquote_plus(s3["object"]["key"]), int(s3["object"]["size"])
    except (TypeError, KeyError, ValueError) as error:
        raise InvalidDocumentNotification(f"an S3 record lacks {error}") from error
    if record.get("eventSource") != "aws:s3" or not str(event_name).startswith("ObjectCreated:"):
        raise InvalidDocumentNotification(f"{event_name!r} from {record.get('eventSource')!r} is not an S3 upload")
    if not key.startswith(DOCUMENTS_PREFIX):
        raise InvalidDocumentNotification(f"s3://{bucket}/{key} is outside {DOCUMENTS_PREFIX}")
    uploaded = UploadedObject(
        bucket=bucket,
        key=key,
        size_bytes=size,
        etag=s3["object"].get("eTag"),
        sequencer=s3["object"].get("sequencer"),
    )
    if len(uploaded.filename) > MAX_FILENAME_LENGTH:
        raise InvalidDocumentNotification(f"{uploaded.file_path}: file name longer than {MAX_FILENAME_LENGTH}")
    return uploaded
