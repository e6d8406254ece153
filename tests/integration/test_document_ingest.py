"""The document_ingest function: SQS batches of S3 notifications in, `documents` rows out, bad records reported."""

from __future__ import annotations

import copy
import json
from typing import Any

from tests.conftest import UPLOADS_BUCKET, load_event

FUNCTION = "DocumentIngestFunction"


def s3_notification(key: str, *, size: int = 1024, etag: str = "etag-1", sequencer: str = "0055AED6DCD90281E5") -> str:
    """An S3 ObjectCreated:Put notification body, as the sample event's first record carries one (key URL-encoded)."""
    body = json.loads(load_event("document_ingest_sqs_s3")["Records"][0]["body"])
    obj = body["Records"][0]["s3"]["object"]
    body["Records"][0]["s3"]["bucket"]["name"] = UPLOADS_BUCKET
    obj.update({"key": key.replace(" ", "+"), "size": size, "eTag": etag, "sequencer": sequencer})
    return json.dumps(body)


def sqs_batch(*bodies: str) -> dict[str, Any]:
    """An SQS event with one record per body, shaped like the sample event's records."""
    template = load_event("document_ingest_sqs_s3")["Records"][0]
    records = []
    for index, body in enumerate(bodies):
        record = copy.deepcopy(template)
        record.update({"messageId": f"message-{index}", "receiptHandle": f"handle-{index}", "body": body})
        records.append(record)
    return {"Records": records}


def test_sample_event_registers_the_upload_and_skips_the_test_event(db, lambda_runtime):
    # GIVEN the sample batch: an upload of documents/briefing.pdf and S3's s3:TestEvent
    event = load_event("document_ingest_sqs_s3")

    # WHEN the function handles it
    result = lambda_runtime.invoke(FUNCTION, event)

    # THEN no record failed and exactly the upload was registered; the sample's object is not in this emulator,
    # so processing marks it failed with that reason (not retried: retrying cannot bring it back)
    assert result == {"batchItemFailures": []}
    rows = db.execute("SELECT * FROM documents").fetchall()
    assert len(rows) == 1
    document = rows[0]
    assert document["filename"] == "briefing.pdf"
    assert document["file_path"] == "s3://warroom-local-uploadsbucket/documents/briefing.pdf"
    assert (document["s3_bucket"], document["s3_key"]) == ("warroom-local-uploadsbucket", "documents/briefing.pdf")
    assert (document["status"], document["size_bytes"], document["content_type"]) == (
        "failed",
        48213,
        "application/pdf",
    )
    assert document["error_reason"] == "missing_object"


def test_a_redelivered_notification_changes_nothing(db, lambda_runtime):
    # GIVEN a notification that was already handled once (key with a space, URL-encoded as S3 does)
    event = sqs_batch(s3_notification("documents/press kit/Q3 plan.docx", size=2048))
    assert lambda_runtime.invoke(FUNCTION, event) == {"batchItemFailures": []}
    first = db.execute("SELECT * FROM documents").fetchone()

    # WHEN SQS delivers it again
    result = lambda_runtime.invoke(FUNCTION, event)

    # THEN it succeeds and the one row is untouched
    assert result == {"batchItemFailures": []}
    rows = db.execute("SELECT * FROM documents").fetchall()
    assert rows == [first]
    assert first["filename"] == "Q3 plan.docx"
    assert first["s3_key"] == "documents/press kit/Q3 plan.docx"
    assert first["content_type"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def test_an_overwritten_object_is_registered_again_but_a_late_older_notification_is_ignored(db, lambda_runtime):
    # GIVEN a registered object
    key = "documents/speech.pdf"
    lambda_runtime.invoke(FUNCTION, sqs_batch(s3_notification(key, size=100, etag="v1", sequencer="0055AED6DC")))

    # WHEN it is overwritten (newer sequencer, new ETag), then the first upload's notification arrives again, late
    lambda_runtime.invoke(FUNCTION, sqs_batch(s3_notification(key, size=200, etag="v2", sequencer="0055AED6DD01")))
    lambda_runtime.invoke(FUNCTION, sqs_batch(s3_notification(key, size=100, etag="v1", sequencer="0055AED6DC")))

    # THEN the row describes the newest object
    (row,) = db.execute("SELECT size_bytes, s3_etag, status FROM documents WHERE s3_key = %s", (key,)).fetchall()
    assert row == {"size_bytes": 200, "s3_etag": "v2", "status": "failed"}  # v2 is not in the emulator


def test_a_bad_record_fails_alone(db, lambda_runtime):
    # GIVEN a batch with a good upload, a key outside documents/, a malformed body and another good upload
    event = sqs_batch(
        s3_notification("documents/a.pdf"),
        s3_notification("exports/report.csv"),
        "this is not an S3 notification",
        s3_notification("documents/b.pdf"),
    )

    # WHEN the function handles it
    result = lambda_runtime.invoke(FUNCTION, event)

    # THEN only the two bad records are reported, so SQS retries just those (and dead-letters them after 5 tries)
    assert result == {"batchItemFailures": [{"itemIdentifier": "message-1"}, {"itemIdentifier": "message-2"}]}
    # AND the good ones are registered
    keys = [row["s3_key"] for row in db.execute("SELECT s3_key FROM documents ORDER BY s3_key")]
    assert keys == ["documents/a.pdf", "documents/b.pdf"]


def test_a_folder_placeholder_is_skipped(db, lambda_runtime):
    # GIVEN the zero-byte object a console creates for a folder / WHEN handled / THEN nothing is registered or failed
    result = lambda_runtime.invoke(FUNCTION, sqs_batch(s3_notification("documents/2025/", size=0)))
    assert result == {"batchItemFailures": []}
    assert db.execute("SELECT count(*) AS n FROM documents").fetchone()["n"] == 0
