"""Exports through the real handler: CSV (injection neutralised, quoting), JSON (the schema), PDF (rendered and
read back: text, a non-Latin name, the chart), the audit log for admins, and the 202 job through the queue consumer
and S3 to a download link and ``report:ready``.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import urllib.request
from typing import Any

import boto3
import pypdfium2 as pdfium
import pytest
from pydantic import TypeAdapter

from tests.conftest import load_event
from tests.integration import test_reports as shared
from tests.integration.auth_support import audit_rows
from warroom.reports.models import ExportAccepted, ExportDocument, ExportJobOut, ReportOut

FN = "ReportsFunction"
NAMES = shared.NAMES
# The report tests' fixtures: the accounts with their tokens, and the stored mentions, alert and campaigns.
people = shared.people
stored = shared.stored
stored_with_campaigns = shared.stored_with_campaigns


def export(lambda_runtime, fmt: str, token: str, body: Any, accept: str | None = None) -> tuple[int, dict, bytes]:
    """POST /reports/export/{fmt} as API Gateway sends it; the raw bytes of the answer (base64 decoded)."""
    event = load_event(f"reports_export_{fmt}")
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    headers["accept"] = accept or event["headers"]["accept"]
    event["headers"] = {**event["headers"], **headers}
    event["multiValueHeaders"] = {name: [value] for name, value in event["headers"].items()}
    event["body"] = json.dumps(body)
    result = lambda_runtime.invoke(FN, event)
    raw = result.get("body") or ""
    content = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode()
    return result["statusCode"], {k.lower(): v for k, v in (result.get("headers") or {}).items()}, content


@pytest.fixture
def report_ids(invoke, people, stored_with_campaigns):
    """One stored report of each type, made by the user."""
    ids = {}
    for kind in ("sentiment_summary", "crisis_log", "campaign_performance", "mentions_digest", "daily_brief"):
        made = invoke(FN, "reports_create", token=people["user"][1], body={"type": kind})
        assert made.status == 201, made.body
        ids[kind] = made.body["id"]
    return ids


def test_csv_of_mentions_neutralises_formulas_and_quotes_every_cell_correctly(lambda_runtime, db, people, stored):
    # WHEN a reader exports the mentions as CSV
    status, headers, content = export(lambda_runtime, "csv", people["readonly"][1], {"query": {"kind": "mentions"}})
    # THEN it is the file, named, with the CSV type
    assert status == 200, content[:300]
    assert headers["content-type"].startswith("text/csv")
    assert (
        headers["content-disposition"].startswith('attachment; filename="mentions-')
        and ".csv" in headers["content-disposition"]
    )
    rows = list(csv.reader(io.StringIO(content.decode("utf-8"), newline="")))
    header, body = rows[0], rows[1:]
    assert len(body) == 40 == int(headers["x-export-rows"])
    by_column = [dict(zip(header, row, strict=True)) for row in body]
    contents = {row["content"] for row in by_column}
    # AND no cell starts as a formula: = + - @ tab and CR get a leading quote
    assert '\'=HYPERLINK("http://evil.example","click")' in contents
    assert {"'+cmd|' /C calc'!A0", "'-2+3 is not a formula", "'@SUM(A1:A2)", "'\ttabbed start"} <= contents
    assert not any(cell.startswith(("=", "+", "@", "\t", "\r")) for row in body for cell in row)
    # AND quotes, commas and line breaks survive the round trip; numbers stay numbers (negative included)
    assert 'quotes "inside", commas, and\na line break' in contents
    assert {row["sentiment_score"] for row in by_column} >= {"-0.9", "0.9"}
    assert set(NAMES) <= {row["author"] for row in by_column}
    assert by_column[0]["handle"].startswith("'@")  # a handle is text: neutralised too
    [entry] = audit_rows(db, "report.export")
    assert entry["details"]["format"] == "csv" and entry["details"]["rows"] == 40


def _pages(content: bytes) -> tuple[pdfium.PdfDocument, list[str]]:
    pdf = pdfium.PdfDocument(content)
    return pdf, [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]


def _chart_drawn(page: pdfium.PdfPage) -> tuple[int, float]:
    """(path objects on the page, share of non-white pixels in the upper chart's box)."""
    paths = sum(1 for obj in page.get_objects() if obj.type == pdfium.raw.FPDF_PAGEOBJ_PATH)
    image = page.render(scale=1).to_pil().convert("L")
    width, height = image.size
    box = image.crop((int(width * 0.1), int(height * 0.12), int(width * 0.95), int(height * 0.45)))
    dark = sum(box.histogram()[:200])
    return paths, dark / (box.size[0] * box.size[1])


def test_pdf_and_json_exports_of_every_report_and_of_queries(invoke, lambda_runtime, people, report_ids):
    # GIVEN a mentions PDF (names in Latin, Cyrillic and Arabic scripts)
    status, headers, content = export(
        lambda_runtime, "pdf", people["readonly"][1], {"query": {"kind": "mentions"}}, accept="application/pdf"
    )
    assert status == 200 and headers["content-type"] == "application/pdf" and content.startswith(b"%PDF-")
    pdf, texts = _pages(content)
    # THEN page 1 is the title page, page 2 the charts, then the table with every name as written
    assert "Mentions export" in texts[0]
    assert "Mentions per day" in texts[1] and "Average sentiment per day" in texts[1]
    paths, ink = _chart_drawn(pdf[1])
    assert paths > 20 and ink > 0.005, (paths, ink)
    table = "\n".join(texts[2:])
    for name in ("Ana López", "Дмитрий Иванов", "Zoë Ærøskøbing"):
        assert name in table
    assert "الأحمد" in table.replace("\r", "") or "محمد" in table  # shaped right to left, read back as words
    assert "=HYPERLINK" in table  # a PDF shows the text as it is (nothing there runs)

    # AND every report type's PDF has its title page, a chart page with drawn paths, and tables
    for kind, report_id in report_ids.items():
        status, _, content = export(lambda_runtime, "pdf", people["readonly"][1], {"report_id": report_id}, "*/*")
        assert status == 200, (kind, content[:200])
        pdf, texts = _pages(content)
        assert len(pdf) >= 3 and "WAR ROOM" in texts[0], kind
        assert _chart_drawn(pdf[1])[0] > 5, kind

    # AND each report's JSON is its type's documented schema, the same as GET /reports/{id}
    for kind, report_id in report_ids.items():
        status, headers, content = export(lambda_runtime, "json", people["readonly"][1], {"report_id": report_id})
        assert status == 200 and headers["content-type"] == "application/json"
        exported = json.loads(content)
        TypeAdapter(ReportOut).validate_python(exported)  # the type's documented schema
        again = invoke(FN, "reports_get", token=people["readonly"][1], path_parameters={"report_id": report_id})
        assert exported == again.body, kind
    status, _, content = export(
        lambda_runtime, "json", people["readonly"][1], {"query": {"kind": "mentions", "source": "reddit"}}
    )
    document = ExportDocument.model_validate_json(content)
    assert status == 200 and document.row_count == len(document.rows) == 10
    assert {row["source"] for row in document.rows} == {"reddit"} and document.filters == {"source": "reddit"}
    status, _, content = export(lambda_runtime, "json", people["readonly"][1], {"query": {"kind": "alerts"}})
    assert status == 200 and ExportDocument.model_validate_json(content).row_count >= 1
    status, _, content = export(lambda_runtime, "csv", people["readonly"][1], {"query": {"kind": "campaign_metrics"}})
    assert status == 200 and content.decode().splitlines()[0].startswith("date,platform,impressions")

    # AND without a binary Accept the gateway could not carry it: a 400 in the error shape says so
    status, _, content = export(
        lambda_runtime, "pdf", people["readonly"][1], {"report_id": report_ids["crisis_log"]}, "application/json"
    )
    assert status == 400 and json.loads(content)["error"]["code"] == "bad_request"


def test_export_errors_and_the_audit_log_for_admins_only(invoke, lambda_runtime, db, people, services):
    token = people["manager"][1]
    report_ids = {"crisis_log": invoke(FN, "reports_create", token=token, body={"type": "crisis_log"}).body["id"]}
    for body in (
        {},
        {"report_id": report_ids["crisis_log"], "query": {"kind": "alerts"}},
        {"query": {"kind": "tweets"}},
        {"query": {"kind": "mentions", "sentiment_min": 5}},
        {"report_id": "not-a-uuid"},
    ):
        status, _, content = export(lambda_runtime, "csv", token, body)
        assert status == 422, (body, content[:200])
    status, _, content = export(lambda_runtime, "csv", token, {"report_id": "00000000-0000-4000-8000-000000000000"})
    assert status == 404 and json.loads(content)["error"]["code"] == "not_found"
    status, _, content = export(lambda_runtime, "csv", token, {"query": {"kind": "audit_log"}})
    assert status == 403 and json.loads(content)["error"]["code"] == "forbidden"
    assert audit_rows(db, "report.export") == []  # nothing exported, nothing recorded
    status, _, content = export(
        lambda_runtime, "csv", people["admin"][1], {"query": {"kind": "audit_log", "action": "report.create"}}
    )
    assert status == 200, content[:200]
    lines = list(csv.reader(io.StringIO(content.decode())))
    assert lines[0][:4] == ["seq", "timestamp", "user_id", "action"] and len(lines) == 1 + 1
    assert {line[3] for line in lines[1:]} == {"report.create"}


def test_a_large_export_is_a_job_the_consumer_builds_into_s3_and_announces(
    invoke, lambda_runtime, db, people, stored, monkeypatch, dashboard
):
    # GIVEN exports of more than 5 rows become jobs, and the export queue
    db.execute("INSERT INTO settings (key, value) VALUES ('report_export_inline_max_rows', '5')")
    queue_url = boto3.client("sqs").create_queue(QueueName="report-exports-test")["QueueUrl"]
    monkeypatch.setenv("WARROOM_REPORT_EXPORT_QUEUE_URL", queue_url)
    token = people["user"][1]
    # AND the user's dashboard is connected (beside someone else's: dash-1)
    from warroom.realtime import connections

    connections.register("requester-1", user_id=str(people["user"][0].id), role="user")

    # WHEN the user exports the 40 mentions as CSV
    status, headers, content = export(lambda_runtime, "csv", token, {"query": {"kind": "mentions"}})
    assert status == 202, content[:300]
    accepted = ExportAccepted.model_validate_json(content)
    assert (
        accepted.estimated_rows == 40 and accepted.job.status == "queued" and headers["location"] == accepted.poll_url
    )
    job = {"job_id": str(accepted.job.id)}
    queued = invoke(FN, "reports_export_job", token=token, path_parameters=job)
    assert queued.status == 200 and queued.body["status"] == "queued" and queued.body["download_url"] is None

    # AND the consumer receives the queued message as Lambda would
    [message] = boto3.client("sqs").receive_message(QueueUrl=queue_url, AttributeNames=["All"])["Messages"]
    event = load_event("reports_export_sqs")
    record = event["Records"][0]
    record.update(
        {"messageId": message["MessageId"], "body": message["Body"], "receiptHandle": message["ReceiptHandle"]}
    )
    assert lambda_runtime.invoke("ReportExportFunction", event) == {"batchItemFailures": []}

    # THEN the job is done with a download link to the whole file in S3
    done = ExportJobOut.model_validate(invoke(FN, "reports_export_job", token=token, path_parameters=job).body)
    assert done.status == "done" and done.rows == 40 and done.download_url
    with urllib.request.urlopen(done.download_url, timeout=10) as response:  # the local moto server
        rows = list(csv.reader(io.StringIO(response.read().decode())))
    assert len(rows) == 41 and rows[0][0] == "published_at"
    # AND report:ready reached the requester's socket only
    [ready] = dashboard
    assert ready["event"] == "report:ready" and ready["data"]["job_id"] == job["job_id"]
    # AND a redelivered message changes nothing; another user cannot see the job; an admin can
    assert lambda_runtime.invoke("ReportExportFunction", event) == {"batchItemFailures": []}
    assert db.execute("SELECT status FROM report_export_jobs").fetchone()["status"] == "done"
    assert invoke(FN, "reports_export_job", token=people["user_b"][1], path_parameters=job).status == 404
    assert invoke(FN, "reports_export_job", token=people["admin"][1], path_parameters=job).status == 200
    for bad in ("not-a-job", "00000000-0000-4000-8000-000000000000"):
        assert invoke(FN, "reports_export_job", token=token, path_parameters={"job_id": bad}).status == 404
    [entry] = audit_rows(db, "report.export")
    assert entry["details"]["delivery"] == "job" and entry["resource_id"] == job["job_id"]
