"""Document intelligence through the real handlers: a presigned POST to the S3 emulator, the ingest function on
S3's notification, then the library and search routes -- real PostgreSQL (pgvector), Redis and moto."""

from __future__ import annotations

import base64
import json
import uuid

import boto3
import httpx
import pytest

from localcloud.lambda_runtime import FunctionError
from tests.conftest import UPLOADS_BUCKET
from tests.integration.test_document_ingest import s3_notification, sqs_batch

HEALTHCARE = """# Healthcare briefing

## Medicare and hospital costs

Older Americans on Medicare face rising hospital bills. The senator's plan caps out-of-pocket costs for
inpatient stays at two thousand dollars a year and lets Medicare negotiate drug prices directly.

## Rural clinics

Rural clinics closed across the state last year. The plan funds forty new community health centres and
tele-health visits for farming counties.
"""
SCHOOLS = """# Education memo

School funding fell behind inflation for six years. The proposal raises teacher pay by eight percent and
rebuilds crumbling classrooms in the oldest districts.
"""
POLLING = """# Polling memo, October

Likely voters rank the economy first and healthcare second. Among independents the margin is within the
error of the survey; turnout models favour an early-vote push in the suburbs.
"""


def upload(invoke, token: str, filename: str, data: bytes, content_type: str = "text/markdown", **extra) -> dict:
    """Announce the upload, POST the file to the presigned form, and deliver S3's notification to the ingest."""
    announced = invoke(
        "DocumentsFunction",
        "documents_upload",
        token=token,
        body={"filename": filename, "content_type": content_type, "size": len(data), **extra},
    )
    assert announced.status == 201, announced.body
    form = announced.body["upload"]
    posted = httpx.post(form["url"], data=form["fields"], files={"file": (filename, data, content_type)})
    assert posted.status_code in (200, 204), posted.text
    return announced.body["document"]


def deliver(lambda_runtime, key: str) -> dict:
    head = boto3.client("s3").head_object(Bucket=UPLOADS_BUCKET, Key=key)
    body = s3_notification(key, size=head["ContentLength"], etag=head["ETag"].strip('"'))
    return lambda_runtime.invoke("DocumentIngestFunction", sqs_batch(body))


def key_of(db, document_id: str) -> str:
    return db.execute("SELECT s3_key FROM documents WHERE id = %s", (document_id,)).fetchone()["s3_key"]


@pytest.fixture
def library(services, invoke, lambda_runtime, token_for, db):
    """Three processed documents of one user (one shared) and the user's token."""
    token = token_for("user")
    ids = {}
    for name, text, shared in (
        ("healthcare.md", HEALTHCARE, True),
        ("schools.md", SCHOOLS, False),
        ("polling.md", POLLING, False),
    ):
        document = upload(invoke, token, name, text.encode(), shared=shared)
        assert deliver(lambda_runtime, key_of(db, document["id"])) == {"batchItemFailures": []}
        ids[name] = document["id"]
    return token, ids


def search(invoke, token: str, query: str, **options):
    return invoke("DocumentsFunction", "documents_search", token=token, body={"query": query, **options})


def test_an_uploaded_document_is_processed_once_and_found_by_meaning_and_by_words(library, invoke, db, lambda_runtime):
    token, ids = library
    opened = invoke(
        "DocumentsFunction", "documents_get", token=token, path_parameters={"document_id": ids["healthcare.md"]}
    )
    assert opened.status == 200, opened.body
    document = opened.body
    assert (document["status"], document["document_type"], document["title"]) == (
        "processed",
        "markdown",
        "Healthcare briefing",
    )
    assert document["chunk_count"] >= 1 and document["summary"] and document["summary_source"] == "extractive"
    chunks = db.execute("SELECT count(*) AS n FROM document_chunks WHERE document_id = %s", (ids["healthcare.md"],))
    assert chunks.fetchone()["n"] == document["chunk_count"]
    # a reworded question finds the paragraph by meaning
    semantic = search(invoke, token, "what will seniors pay for hospital stays", mode="semantic", limit=3).body
    assert semantic["mode"] == "semantic" and semantic["hits"][0]["document"]["id"] == ids["healthcare.md"]
    # an exact phrase finds it by words, marked
    keyword = search(invoke, token, '"community health centres"', mode="keyword").body
    assert [h["document"]["id"] for h in keyword["hits"]] == [ids["healthcare.md"]]
    assert "<<community>> <<health>> <<centres>>" in keyword["hits"][0]["text"]
    hybrid = search(invoke, token, "teacher pay in old classrooms").body
    assert hybrid["mode"] == "hybrid" and hybrid["hits"][0]["document"]["id"] == ids["schools.md"]
    assert hybrid["hits"][0]["ranks"]["semantic"] and hybrid["hits"][0]["ranks"]["keyword"]
    # the same notification again does no work twice
    before = db.execute(
        "SELECT attempts, processed_at FROM documents WHERE id = %s", (ids["healthcare.md"],)
    ).fetchone()
    assert deliver(lambda_runtime, key_of(db, ids["healthcare.md"])) == {"batchItemFailures": []}
    after = db.execute("SELECT attempts, processed_at FROM documents WHERE id = %s", (ids["healthcare.md"],)).fetchone()
    assert after == before


def test_others_see_only_shared_documents_and_cannot_delete_them(library, invoke, token_for, db):
    _, ids = library
    other = token_for("user")
    listed = invoke("DocumentsFunction", "documents_list", token=other, query={}).body["items"]
    assert [d["id"] for d in listed] == [ids["healthcare.md"]]
    hidden = invoke(
        "DocumentsFunction", "documents_get", token=other, path_parameters={"document_id": ids["schools.md"]}
    )
    assert hidden.status == 404
    found = search(invoke, other, "teacher pay", mode="keyword").body["hits"]
    assert ids["schools.md"] not in {h["document"]["id"] for h in found}
    refused = invoke(
        "DocumentsFunction", "documents_delete", token=other, path_parameters={"document_id": ids["healthcare.md"]}
    )
    assert refused.status == 403
    manager = token_for("manager")
    everything = invoke("DocumentsFunction", "documents_list", token=manager, query={}).body["items"]
    assert {d["id"] for d in everything} == set(ids.values())


def test_deleting_removes_the_object_the_chunks_and_the_row(library, invoke, db):
    token, ids = library
    document_id = ids["polling.md"]
    key = key_of(db, document_id)
    deleted = invoke("DocumentsFunction", "documents_delete", token=token, path_parameters={"document_id": document_id})
    assert deleted.status == 204
    assert (
        db.execute("SELECT count(*) AS n FROM document_chunks WHERE document_id = %s", (document_id,)).fetchone()["n"]
        == 0
    )
    assert db.execute("SELECT count(*) AS n FROM documents WHERE id = %s", (document_id,)).fetchone()["n"] == 0
    listed = boto3.client("s3").list_objects_v2(Bucket=UPLOADS_BUCKET, Prefix=key)
    assert listed.get("KeyCount", 0) == 0
    found = search(invoke, token, "turnout models early vote", mode="keyword").body["hits"]
    assert document_id not in {h["document"]["id"] for h in found}
    audited = db.execute("SELECT count(*) AS n FROM audit_logs WHERE action = 'document.deleted'").fetchone()["n"]
    assert audited == 1


def test_a_download_is_a_short_lived_link_to_the_file(library, invoke):
    token, ids = library
    answer = invoke(
        "DocumentsFunction", "documents_download", token=token, path_parameters={"document_id": ids["schools.md"]}
    )
    assert answer.status == 200 and answer.body["expires_in"] == 300
    fetched = httpx.get(answer.body["url"])
    assert fetched.status_code == 200 and fetched.content == SCHOOLS.encode()
    assert 'filename="schools.md"' in fetched.headers["content-disposition"]


def test_a_file_that_is_not_what_it_claims_fails_with_its_reason_and_is_not_retried(
    services, invoke, lambda_runtime, token_for, db
):
    token = token_for("user")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    document = upload(invoke, token, "memo.pdf", png, content_type="application/pdf")
    assert deliver(lambda_runtime, key_of(db, document["id"])) == {"batchItemFailures": []}
    row = db.execute("SELECT status, error_reason FROM documents WHERE id = %s", (document["id"],)).fetchone()
    assert (row["status"], row["error_reason"]) == ("failed", "unsupported_type")
    opened = invoke("DocumentsFunction", "documents_get", token=token, path_parameters={"document_id": document["id"]})
    assert opened.body["error_reason"] == "unsupported_type" and opened.body["error_message"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"filename": "../etc/passwd", "content_type": "text/plain", "size": 10}, 422, "filename"),
        ({"filename": "a\x01b.txt", "content_type": "text/plain", "size": 10}, 422, None),
        ({"filename": "brief.exe", "content_type": "application/x-msdownload", "size": 10}, 422, "content_type"),
        ({"filename": "big.pdf", "content_type": "application/pdf", "size": 26 * 1024 * 1024}, 413, None),
        ({"filename": "empty.txt", "content_type": "text/plain", "size": 0}, 422, "size"),
    ],
)
def test_bad_uploads_are_refused_and_create_nothing(services, invoke, token_for, db, body, status, field):
    answer = invoke("DocumentsFunction", "documents_upload", token=token_for("user"), body=body)
    assert answer.status == status, answer.body
    if field:
        assert field in [d["loc"][-1] for d in answer.body["error"]["details"]]
    assert db.execute("SELECT count(*) AS n FROM documents").fetchone()["n"] == 0


def inline(filename: str, data: bytes, content_type: str = "text/markdown", **extra) -> dict:
    body = {"filename": filename, "content_type": content_type, "size": len(data), **extra}
    return {**body, "content_base64": base64.b64encode(data).decode()}


def test_a_small_file_sent_in_the_body_is_stored_and_processed_like_an_upload(
    services, invoke, lambda_runtime, token_for, db
):
    token = token_for("user")
    answer = invoke("DocumentsFunction", "documents_upload", token=token, body=inline("schools.md", SCHOOLS.encode()))
    assert answer.status == 201, answer.body
    assert answer.body["upload"] is None and answer.body["document"]["status"] == "pending"
    document_id = answer.body["document"]["id"]
    stored = boto3.client("s3").get_object(Bucket=UPLOADS_BUCKET, Key=key_of(db, document_id))
    assert stored["Body"].read() == SCHOOLS.encode() and stored["ContentType"] == "text/markdown"
    assert deliver(lambda_runtime, key_of(db, document_id)) == {"batchItemFailures": []}
    found = search(invoke, token, '"teacher pay"', mode="keyword").body["hits"]
    assert [h["document"]["id"] for h in found] == [document_id]
    audited = db.execute(
        "SELECT details FROM audit_logs WHERE resource_id = %s AND action = 'document.uploaded'", (document_id,)
    ).fetchall()
    assert [a["details"]["inline"] for a in audited] == [True]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        # the bytes decide, not the name: a PNG announced as a PDF, a PDF announced as text
        (inline("memo.pdf", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "application/pdf"), 415, "unsupported_media_type"),
        (inline("memo.txt", b"%PDF-1.7\n" + b"0" * 64, "text/plain"), 415, "unsupported_media_type"),
        (inline("blank.txt", b"   \n\n  ", "text/plain"), 422, "validation_error"),
        ({**inline("a.md", b"# A memo"), "size": 99}, 422, "validation_error"),
        ({**inline("a.md", b"# A memo"), "content_base64": "not base64!"}, 422, "validation_error"),
        (inline("big.txt", b"a" * (4 * 1024 * 1024 + 1), "text/plain"), 413, "payload_too_large"),
    ],
    ids=["png-as-pdf", "pdf-as-text", "blank", "wrong-size", "bad-base64", "over-inline-limit"],
)
def test_bad_inline_files_are_refused_and_store_nothing(services, invoke, token_for, db, body, status, code):
    objects = boto3.client("s3").list_objects_v2(Bucket=UPLOADS_BUCKET, Prefix="documents/").get("KeyCount")
    answer = invoke("DocumentsFunction", "documents_upload", token=token_for("user"), body=body)
    assert (answer.status, answer.error_code) == (status, code), answer.body
    assert db.execute("SELECT count(*) AS n FROM documents").fetchone()["n"] == 0
    assert boto3.client("s3").list_objects_v2(Bucket=UPLOADS_BUCKET, Prefix="documents/").get("KeyCount") == objects


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"query": ""}, "query"),
        ({"query": "x" * 2001}, "query"),
        ({"query": "a", "limit": 51}, "limit"),
        ({"query": "a", "mode": "fuzzy"}, "mode"),
        ({"query": "a", "filters": {"document_ids": ["nope"]}}, "document_ids"),
    ],
)
def test_bad_searches_are_422_naming_the_field(services, invoke, token_for, body, field):
    answer = invoke("DocumentsFunction", "documents_search", token=token_for("readonly"), body=body)
    assert answer.status == 422
    assert field in {str(part) for d in answer.body["error"]["details"] for part in d["loc"]}


def test_readonly_may_read_but_not_upload_and_unknown_ids_are_404(services, invoke, token_for):
    reader = token_for("readonly")
    refused = invoke(
        "DocumentsFunction",
        "documents_upload",
        token=reader,
        body={"filename": "a.txt", "content_type": "text/plain", "size": 3},
    )
    assert refused.status == 403
    for unknown in (str(uuid.uuid4()), "not-a-uuid"):
        missing = invoke("DocumentsFunction", "documents_get", token=reader, path_parameters={"document_id": unknown})
        assert missing.status == 404
    assert json.loads(json.dumps(missing.body))["error"]["code"] == "not_found"


@pytest.fixture
def live_openai(services, monkeypatch, invoke, token_for):
    """LIVE mode, OpenAI pointed at the local fake (no SDK retries)."""
    from tests.fake_openai import FakeOpenAI
    from warroom.core.config import reset_settings

    with FakeOpenAI() as fake:
        for name, value in {
            "OPENAI_API_KEY": fake.api_key,
            "WARROOM_OPENAI_BASE_URL": fake.base_url,
            "WARROOM_OPENAI_MAX_RETRIES": "0",
            "WARROOM_OPENAI_TIMEOUT_S": "5",
        }.items():
            monkeypatch.setenv(name, value)
        reset_settings()
        admin = token_for("admin")
        assert invoke("SystemFunction", "system_put_data_mode", token=admin, body={"mode": "LIVE"}).status == 200
        yield fake
    reset_settings()


def test_live_processing_embeds_and_summarises_through_openai(live_openai, invoke, lambda_runtime, token_for, db):
    token = token_for("user")
    document = upload(invoke, token, "healthcare.md", HEALTHCARE.encode())
    assert deliver(lambda_runtime, key_of(db, document["id"])) == {"batchItemFailures": []}
    row = db.execute("SELECT status, summary_source, chunk_count FROM documents WHERE id = %s", (document["id"],))
    assert row.fetchone() == {"status": "processed", "summary_source": "openai", "chunk_count": 1}
    purposes = [r["purpose"] for r in db.execute("SELECT purpose FROM ai_usage ORDER BY id")]
    assert purposes == ["document_embedding", "document_summary"]
    assert len(live_openai.embedding_requests()) == 1


def test_openai_down_during_ingest_retries_and_leaves_the_document_processing(
    live_openai, invoke, lambda_runtime, token_for, db
):
    token = token_for("user")
    document = upload(invoke, token, "schools.md", SCHOOLS.encode())
    live_openai.faults.extend(["500"])
    # THEN the record fails -- the batch's only one, so Powertools fails the invocation and SQS retries it (after
    # five receives it goes to the DLQ) -- and nothing is half-written
    with pytest.raises(FunctionError, match="BatchProcessingError"):
        deliver(lambda_runtime, key_of(db, document["id"]))
    row = db.execute("SELECT status, chunk_count FROM documents WHERE id = %s", (document["id"],)).fetchone()
    assert row == {"status": "processing", "chunk_count": None}
    assert db.execute("SELECT count(*) AS n FROM document_chunks").fetchone()["n"] == 0
    # WHEN the retry comes with OpenAI back, the document is processed
    assert deliver(lambda_runtime, key_of(db, document["id"])) == {"batchItemFailures": []}
    assert (
        db.execute("SELECT status FROM documents WHERE id = %s", (document["id"],)).fetchone()["status"] == "processed"
    )
    # AND search falls back to keyword search, saying so, when OpenAI refuses the query's embedding
    live_openai.faults.extend(["401"])
    answer = search(invoke, token, "teacher pay", mode="semantic").body
    assert (answer["mode"], answer["requested_mode"]) == ("keyword", "semantic")
    assert "key_rejected" in answer["fallback"] and answer["hits"][0]["document"]["id"] == document["id"]


@pytest.mark.parametrize("path", ["hnsw", "exact"])
def test_a_filtered_semantic_search_still_fills_its_page(services, invoke, token_for, db, make_user, monkeypatch, path):
    """HNSW with a filter returns fewer rows than asked unless iterative scans go on looking: 10 % of the chunks
    are visible to this user, and every page asked for is full -- through the HNSW iterative scan and through the
    exact ranking the route uses when few chunks are visible."""
    from warroom.documents import search as search_module
    from warroom.documents.embeddings import mock_embedding

    monkeypatch.setattr(search_module, "EXACT_BELOW_CHUNKS", 0 if path == "hnsw" else 10_000)

    viewer, other = make_user("user"), make_user("user")
    rows = []
    for n in range(60):
        owner = viewer if n % 10 == 0 else other
        document_id = db.execute(
            "INSERT INTO documents (filename, file_path, status, uploaded_by, chunk_count)"
            " VALUES (%s, %s, 'processed', %s, 20) RETURNING id",
            (f"memo-{n}.md", f"s3://b/documents/memo-{n}.md", owner),
        ).fetchone()["id"]
        for k in range(20):
            text = f"Field report {n}-{k}: volunteers knocked on doors about healthcare costs in ward {k}."
            vector = "[" + ",".join(f"{x:.6g}" for x in mock_embedding(text)) + "]"
            rows.append((document_id, k, text, vector))
    with db.cursor() as cur:
        cur.executemany(
            "INSERT INTO document_chunks (document_id, ordinal, page_start, page_end, content, embedding)"
            " VALUES (%s, %s, 1, 1, %s, %s::vector)",
            rows,
        )
    db.execute("ANALYZE document_chunks")
    from warroom.core.security import issue_access_token

    token = issue_access_token(str(viewer), "user")
    answer = search(invoke, token, "healthcare costs door knocking", mode="semantic", limit=50).body
    assert len(answer["hits"]) == 50  # 6 visible documents x 20 chunks = 120 candidates behind the filter
    assert {h["document"]["uploaded_by"] for h in answer["hits"]} == {str(viewer)}
