"""Processing an uploaded document: its bytes to text, chunks, embeddings and a summary, stored all at once.

Example
-------
>>> process_uploaded(uploaded)            # from document_ingest, after the object is registered
'processed'

One object version is processed once: the row's ``processed_etag`` names the version it was last processed from,
so a redelivered notification of that version does nothing ('unchanged'). The work (reading the object,
extracting, embedding: network and CPU) runs outside any transaction; its result -- every chunk, the summary,
the mean embedding, ``processed`` -- is written in one transaction, so a document's chunks appear all at once
or not at all, and only if the object is still the version that was read.

* A file that cannot be read (wrong type by its bytes, encrypted, corrupt, empty, no text layer) is ``failed``
  with the reason and message, and not retried ('failed').
* Anything else (S3 or OpenAI down, a bug) is raised: the message is retried and, after five receives, lands in
  the DLQ, while the document stays ``processing`` and visible as such.

After the commit ``document:processed`` is broadcast: to everyone when the document is shared, else to its
uploader (managers and admins see it in the list).
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from botocore.exceptions import ClientError

from warroom.core.aws import aws_client
from warroom.core.data_mode import get_data_mode
from warroom.core.db import connection
from warroom.core.settings import read_settings
from warroom.documents.chunking import chunk_document
from warroom.documents.embeddings import embed_texts, mean_embedding
from warroom.documents.extract import UnreadableDocument, extract
from warroom.documents.library import DOCUMENT_COLUMNS, document_out
from warroom.documents.settings import DOCUMENT_MAX_BYTES
from warroom.documents.summaries import summarize
from warroom.realtime import broadcast

logger = logging.getLogger(__name__)

Outcome = Literal["processed", "failed", "unchanged"]


def _vector_literal(vector: list[float]) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in vector) + "]"


def _claim(bucket: str, key: str, etag: str | None) -> dict[str, Any] | None:
    """Mark the document ``processing`` unless this version was already processed (or failed); its row or None."""
    with connection() as conn:
        return conn.execute(
            # Only the version the row now names (a late notification of an older one does nothing), and only
            # until it has been processed or found unreadable.
            "UPDATE documents SET status = 'processing', attempts = attempts + 1, error_reason = NULL,"
            " error_message = NULL WHERE s3_bucket = %s AND s3_key = %s AND s3_etag IS NOT DISTINCT FROM %s"
            " AND NOT (status IN ('processed', 'failed') AND processed_etag IS NOT DISTINCT FROM s3_etag)"
            " RETURNING id, filename, title, shared, uploaded_by",
            (bucket, key, etag),
        ).fetchone()


def _fail(document_id: str, etag: str | None, error: UnreadableDocument) -> None:
    with connection() as conn:
        conn.execute(
            "UPDATE documents SET status = 'failed', error_reason = %s, error_message = %s, processed_etag = %s,"
            " processed_at = now() WHERE id = %s",
            (error.reason, str(error)[:500], etag, document_id),
        )


def process_uploaded(bucket: str, key: str, etag: str | None) -> Outcome:
    """Process the object's document (see the module docstring); raises on what a retry may cure."""
    claimed = _claim(bucket, key, etag)
    if claimed is None:
        return "unchanged"
    document_id = str(claimed["id"])
    max_bytes = read_settings([DOCUMENT_MAX_BYTES])[DOCUMENT_MAX_BYTES.key]
    try:
        obj = aws_client("s3").get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("NoSuchKey", "NoSuchBucket", "404"):
            raise  # S3 unavailable or refusing: a retry may cure it
        _fail(document_id, etag, UnreadableDocument("missing_object", "the object is no longer in the bucket"))
        return "failed"
    if obj["ContentLength"] > max_bytes:
        _fail(document_id, etag, UnreadableDocument("too_large", f"the file is larger than {max_bytes} bytes"))
        return "failed"
    data = obj["Body"].read()
    try:
        extracted = extract(data, claimed["filename"])
        chunks = chunk_document(extracted)
        if not chunks:
            raise UnreadableDocument("empty", "the document holds no text")
    except UnreadableDocument as error:
        logger.info("document %s cannot be read: %s (%s)", document_id, error, error.reason)
        _fail(document_id, etag, error)
        return "failed"
    mode = get_data_mode()
    user_id = str(claimed["uploaded_by"]) if claimed["uploaded_by"] else None
    vectors = embed_texts([c.text for c in chunks], mode=mode, user_id=user_id).vectors
    full_text = "\n\n".join(page.text for page in extracted.pages)
    title = claimed["title"] or extracted.title
    summary = summarize(full_text, mode=mode, title=title, user_id=user_id)
    with connection() as conn:
        current = conn.execute("SELECT s3_etag FROM documents WHERE id = %s FOR UPDATE", (document_id,)).fetchone()
        if current is None or (etag is not None and current["s3_etag"] not in (None, etag)):
            logger.info("document %s changed while it was processed; the newer version will be", document_id)
            return "unchanged"
        conn.execute("DELETE FROM document_chunks WHERE document_id = %s", (document_id,))
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO document_chunks (document_id, ordinal, page_start, page_end, heading, content, embedding)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s::vector)",
                [
                    (
                        document_id,
                        c.ordinal,
                        c.page_start,
                        c.page_end,
                        (c.heading or None) and c.heading[:300],
                        c.text,
                        _vector_literal(v),
                    )
                    for c, v in zip(chunks, vectors, strict=True)
                ],
            )
        row = conn.execute(
            "UPDATE documents AS d SET status = 'processed', document_type = %s, title = %s, page_count = %s,"
            " chunk_count = %s, ai_summary = %s, summary_source = %s, summary_note = %s,"
            " vector_embeddings = %s::vector, processed_etag = %s, processed_at = now()"
            f" WHERE d.id = %s RETURNING {DOCUMENT_COLUMNS}",
            (
                extracted.type,
                (title or None) and title[:300],
                len(extracted.pages),
                len(chunks),
                summary.text,
                summary.source,
                summary.fallback_reason,
                _vector_literal(mean_embedding(vectors)),
                etag,
                document_id,
            ),
        ).fetchone()
    data_out = document_out(row).model_dump(mode="json")
    try:
        if claimed["shared"]:
            broadcast("document:processed", data_out)
        elif user_id:
            broadcast("document:processed", data_out, user_id=user_id)
    except Exception:  # the document is stored; a dashboard that missed the event sees it in the list
        logger.exception("could not broadcast document:processed for %s", document_id)
    logger.info("document %s processed: %d pages, %d chunks", document_id, len(extracted.pages), len(chunks))
    return "processed"
