"""Incoming webhooks through the real handlers: signed calls accepted once, everything else refused and audited.

What a sender and the war room rely on: a correctly signed Meta notification is answered 200 at once and syncs
its ad account once however often it is delivered (and however often SQS hands the message over); a generic
Standard Webhooks sender's mentions land in the mention list; Meta's handshake is answered in plain text; and a
call that is unsigned, forged, stale, too large, malformed or for an unknown service is refused in the error
shape, leaving nothing behind but its audit entry.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from standardwebhooks.webhooks import Webhook

from tests.conftest import _reset_containers, load_event
from tests.fake_meta import FakeMeta
from tests.integration.auth_support import audit_rows, count
from tests.sqs_records import drain_records

WEBHOOKS = "WebhooksFunction"
INBOX = "WebhookInboxFunction"
QUEUE = "warroom-test-webhook-inbox"
META_SECRET = "meta-app-secret-for-tests-0123456789"
VERIFY_TOKEN = "verify-token-for-tests-7c1f"
SERVICE = "listening-partner"
SERVICE_SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
SOURCE_IP = "173.252.127.10"  # the sample events' source address


@pytest.fixture
def inbox(services, monkeypatch) -> Iterator[tuple[Any, str]]:
    """The inbox queue in moto and the services' secrets in the environment."""
    sqs = boto3.client("sqs")
    # a queue of each test's own: SQS allows one purge a minute
    url = sqs.create_queue(QueueName=f"{QUEUE}-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    for name, value in {
        "WARROOM_WEBHOOK_INBOX_QUEUE_URL": url,
        "META_APP_SECRET": META_SECRET,
        "META_WEBHOOK_VERIFY_TOKEN": VERIFY_TOKEN,
        "INCOMING_WEBHOOK_SECRETS": json.dumps({SERVICE: SERVICE_SECRET, "broken": "whsec_", "meta": SERVICE_SECRET}),
    }.items():
        monkeypatch.setenv(name, value)
    _reset_containers()
    yield sqs, url
    _reset_containers()


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every queued message, as the SQS records Lambda would hand WebhookInboxFunction."""
    return drain_records(sqs, url, QUEUE)


def meta_signature(body: bytes, secret: str = META_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def standard_headers(body: bytes, msg_id: str, *, at: dt.datetime | None = None, secret: str = SERVICE_SECRET):
    """Headers signed with the Standard Webhooks reference package, as any sender's library signs them."""
    at = at or dt.datetime.now(dt.UTC)
    signature = Webhook(secret).sign(msg_id, at, body.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())), "webhook-signature": signature}


def post(
    lambda_runtime, service: str, body: bytes, headers: dict[str, str | None], *, base64_body: bool = False
) -> tuple[int, dict[str, str], Any]:
    """POST /webhooks/{service} with exactly these bytes (base64 in the event, as API Gateway sends binary)."""
    event = load_event("webhooks_receive_meta" if service == "meta" else "webhooks_receive")
    for key in ("headers", "multiValueHeaders"):
        for name in ("x-hub-signature-256", "webhook-id", "webhook-timestamp", "webhook-signature"):
            event[key].pop(name, None)
    for name, value in headers.items():
        if value is not None:
            event["headers"][name] = value
            event["multiValueHeaders"][name] = [value]
    if service != "meta":
        event["pathParameters"] = {"service": service}
        event["path"] = event["requestContext"]["path"] = f"/api/v1/webhooks/{service}"
    event["body"] = base64.b64encode(body).decode() if base64_body else body.decode()
    event["isBase64Encoded"] = base64_body
    result = lambda_runtime.invoke(WEBHOOKS, event)
    answer = json.loads(result["body"]) if result["headers"].get("Content-Type") == "application/json" else None
    return result["statusCode"], result["headers"], answer


def meta_notification(field: str = "with_issues_ad_objects", account: str = "1234567890") -> bytes:
    change = {"field": field, "value": {"id": "23850000000000001", "level": "CAMPAIGN", "error_code": 1815869}}
    entry = {"id": account, "time": 1795608000, "changes": [change]}
    return json.dumps({"object": "ad_account", "entry": [entry]}).encode()


def mentions_payload(*ids: str, content: str = "Record turnout at the Riverside rally tonight") -> bytes:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    mentions = [
        {
            "id": mention_id,
            "source": "twitter",
            "content": f"{content} ({mention_id})",
            "published_at": (now - dt.timedelta(minutes=n)).isoformat(),
            "author_handle": "@riverside_voter",
            "country": "us",
            "likes": 3,
        }
        for n, mention_id in enumerate(ids)
    ]
    return json.dumps({"type": "mentions", "timestamp": now.isoformat(), "data": {"mentions": mentions}}).encode()


def stored_nothing(db, sqs, url) -> bool:
    return count(db, "SELECT 1 FROM webhook_receipts") == 0 and drain(sqs, url) == []


@pytest.fixture
def live_meta(inbox, db, monkeypatch) -> Iterator[FakeMeta]:
    """LIVE data mode with the Meta connector pointed at the fake Graph API (one campaign, a week of days)."""
    with FakeMeta() as fake:
        fake.currency = "USD"
        fake.report_statuses = ["Job Completed"]
        fake.campaigns = [
            {
                "id": "23850000000000001",
                "name": "Persuasion North",
                "status": "ACTIVE",
                "effective_status": "WITH_ISSUES",
                "objective": "OUTCOME_AWARENESS",
                "daily_budget": "15000",
                "start_time": "2026-09-01T00:00:00+0000",
            }
        ]
        today = dt.datetime.now(dt.UTC).date()
        fake.insights = {
            "23850000000000001": [
                {
                    "impressions": "1000",
                    "reach": "700",
                    "clicks": "12",
                    "spend": "101.10",
                    "date_start": (today - dt.timedelta(days=n)).isoformat(),
                    "date_stop": (today - dt.timedelta(days=n)).isoformat(),
                }
                for n in range(7)
            ]
        }
        for name, value in {
            "META_ACCESS_TOKEN": fake.token,
            "WARROOM_META_AD_ACCOUNT_IDS": fake.account_id,
            "WARROOM_META_BASE_URL": fake.base_url,
        }.items():
            monkeypatch.setenv(name, value)
        db.execute("INSERT INTO settings (key, value) VALUES ('data_mode', '\"LIVE\"')")
        _reset_containers()
        yield fake


def test_a_signed_meta_change_is_accepted_once_and_syncs_its_ad_account_once(lambda_runtime, inbox, live_meta, db):
    sqs, url = inbox
    body = meta_notification()
    # WHEN Meta delivers a correctly signed notification, and then delivers it again
    first = post(lambda_runtime, "meta", body, {"x-hub-signature-256": meta_signature(body)})
    again = post(lambda_runtime, "meta", body, {"x-hub-signature-256": meta_signature(body)})
    # THEN both are answered 200 at once (the second as a duplicate), with one receipt and one queued message
    assert (first[0], first[2]["status"]) == (200, "accepted"), first
    assert (again[0], again[2]) == (200, {"status": "duplicate", "event_id": first[2]["event_id"]})
    assert first[2]["event_id"].startswith("sha256:")
    assert live_meta.requests == []  # nothing synced on the sender's request
    records = drain(sqs, url)
    assert len(records) == 1
    # WHEN the inbox consumer processes the queued message
    assert lambda_runtime.invoke(INBOX, {"Records": records}) == {"batchItemFailures": []}
    # THEN the ad account was synced: its campaign and days are stored, and the receipt says so
    synced_requests = len(live_meta.requests)
    assert synced_requests > 0
    assert count(db, "SELECT 1 FROM campaign_days d JOIN campaigns c ON c.id = d.campaign_id") == 7
    receipt = db.execute("SELECT status, outcome, attempts, processed_at FROM webhook_receipts").fetchone()
    assert (receipt["status"], receipt["attempts"]) == ("processed", 1)
    assert receipt["outcome"]["synced"] == [live_meta.account_id] and receipt["processed_at"] is not None
    # WHEN SQS hands the same message over again (at-least-once delivery)
    assert lambda_runtime.invoke(INBOX, {"Records": records}) == {"batchItemFailures": []}
    # THEN nothing runs twice: not one more request reached Meta
    assert len(live_meta.requests) == synced_requests
    assert db.execute("SELECT attempts FROM webhook_receipts").fetchone()["attempts"] == 1
    # AND a second notification that arrived before that sync started is covered by it: no second sync
    other = meta_notification(field="in_process_ad_objects")
    assert post(lambda_runtime, "meta", other, {"x-hub-signature-256": meta_signature(other)})[0] == 200
    db.execute("UPDATE webhook_receipts SET received_at = received_at - interval '1 minute' WHERE status = 'received'")
    assert lambda_runtime.invoke(INBOX, {"Records": drain(sqs, url)}) == {"batchItemFailures": []}
    second = db.execute("SELECT status, outcome FROM webhook_receipts WHERE outcome->'synced' = '[]'").fetchone()
    assert (second["status"], second["outcome"]["covered"]) == ("processed", [live_meta.account_id])
    assert len(live_meta.requests) == synced_requests


def test_a_meta_change_that_cannot_be_synced_is_failed_and_not_retried(lambda_runtime, inbox, db, monkeypatch):
    # GIVEN LIVE data mode without a Meta access token
    sqs, url = inbox
    monkeypatch.delenv("META_ACCESS_TOKEN", raising=False)
    monkeypatch.setenv("WARROOM_META_AD_ACCOUNT_IDS", "1234567890")
    db.execute("INSERT INTO settings (key, value) VALUES ('data_mode', '\"LIVE\"')")
    _reset_containers()
    body = meta_notification()
    assert post(lambda_runtime, "meta", body, {"x-hub-signature-256": meta_signature(body)})[0] == 200
    # WHEN the consumer processes it
    result = lambda_runtime.invoke(INBOX, {"Records": drain(sqs, url)})
    # THEN the message is consumed (no retry) and the receipt failed with the cause
    assert result == {"batchItemFailures": []}
    receipt = db.execute("SELECT status, outcome FROM webhook_receipts").fetchone()
    assert (receipt["status"], receipt["outcome"]) == ("failed", {"cause": "token_missing"})


def test_a_meta_field_we_do_not_act_on_is_recorded_as_ignored(lambda_runtime, inbox, db):
    sqs, url = inbox
    body = meta_notification(field="ad_recommendations")
    assert post(lambda_runtime, "meta", body, {"x-hub-signature-256": meta_signature(body)})[0] == 200
    assert lambda_runtime.invoke(INBOX, {"Records": drain(sqs, url)}) == {"batchItemFailures": []}
    receipt = db.execute("SELECT status, outcome FROM webhook_receipts").fetchone()
    assert receipt["status"] == "ignored" and receipt["outcome"]["fields"] == ["ad_recommendations"]


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (
            {"x-hub-signature-256": meta_signature(meta_notification(), secret="someone-elses-secret")},
            "invalid_signature",
        ),
        ({}, "signature_missing"),
        ({"x-hub-signature-256": "sha1=" + hashlib.sha1(b"x", usedforsecurity=False).hexdigest()}, "invalid_signature"),
        ({"x-hub-signature-256": "sha256=not-hex"}, "invalid_signature"),
    ],
    ids=["wrong secret", "missing", "sha1", "not hex"],
)
def test_a_meta_call_without_a_valid_signature_is_401_and_leaves_only_an_audit_entry(
    lambda_runtime, inbox, db, headers, reason
):
    sqs, url = inbox
    status, answer_headers, answer = post(lambda_runtime, "meta", meta_notification(), headers)
    assert status == 401 and answer["error"]["code"] == reason
    assert set(answer["error"]) == {"code", "message", "details"} and "WWW-Authenticate" in answer_headers
    assert stored_nothing(db, sqs, url)
    [entry] = audit_rows(db, "webhook.rejected")
    assert entry["details"] == {"service": "meta", "reason": reason}
    assert (str(entry["ip_address"]), entry["user_agent"], entry["user_id"]) == (SOURCE_IP, None, None)


def test_every_other_rejection_is_answered_in_the_error_shape_and_audited(lambda_runtime, inbox, db):
    sqs, url = inbox
    good = mentions_payload("post-1")
    stale_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=6)
    future_at = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=6)
    db.execute("INSERT INTO settings (key, value) VALUES ('webhook_max_body_bytes', '2048')")
    big = mentions_payload(*[f"post-{n}" for n in range(40)])
    assert len(big) > 2048
    not_json = b"{not json"
    wrong_type = json.dumps({"type": "invoice.paid", "data": {}}).encode()
    nul = json.dumps({"type": "mentions", "data": {"mentions": [{"id": "a\u0000b"}]}}).encode()
    latin1 = "caf\xe9".encode("latin-1")  # not UTF-8, sent base64-encoded as API Gateway sends binary bodies
    bad = "invalid_signature"
    cases = [
        ("unknown-partner", good, standard_headers(good, "msg_1"), False, 404, "unknown_service"),
        ("broken", good, standard_headers(good, "msg_1"), False, 404, "unknown_service"),
        (SERVICE, good, standard_headers(good, "msg_1", at=stale_at), False, 401, "stale_timestamp"),
        (SERVICE, good, standard_headers(good, "msg_1", at=future_at), False, 401, "stale_timestamp"),
        (SERVICE, good, standard_headers(good, "msg_1", secret="whsec_" + "A" * 40), False, 401, "invalid_signature"),
        (
            SERVICE,
            good,
            {**standard_headers(good, "msg_1"), "webhook-signature": "v1"},
            False,
            401,
            "invalid_signature",
        ),
        (SERVICE, good, {"webhook-id": "msg_1"}, False, 401, "signature_missing"),
        (SERVICE, good + b" ", standard_headers(good, "msg_1"), False, 401, "invalid_signature"),
        (SERVICE, latin1, {**standard_headers(good, "msg_1"), "webhook-signature": "v1,AA=="}, True, 401, bad),
        (SERVICE, big, standard_headers(big, "msg_2"), False, 413, "payload_too_large"),
        (SERVICE, not_json, standard_headers(not_json, "msg_3"), False, 400, "malformed_payload"),
        (SERVICE, wrong_type, standard_headers(wrong_type, "msg_4"), False, 400, "malformed_payload"),
        (SERVICE, nul, standard_headers(nul, "msg_5"), False, 400, "malformed_payload"),
    ]
    for service, body, headers, as_base64, expected_status, code in cases:
        status, _, answer = post(lambda_runtime, service, body, headers, base64_body=as_base64)
        assert (status, answer["error"]["code"]) == (expected_status, code), (service, code, answer)
        assert set(answer["error"]) == {"code", "message", "details"}
        # no secret, signature or body ever comes back
        assert SERVICE_SECRET not in json.dumps(answer) and "post-1" not in json.dumps(answer)
    assert stored_nothing(db, sqs, url)
    assert count(db, "SELECT 1 FROM mentions") == 0
    reasons = [(row["details"]["service"], row["details"]["reason"]) for row in audit_rows(db, "webhook.rejected")]
    assert reasons == [(service, code) for service, _, _, _, _, code in cases]


def test_a_signed_mentions_payload_lands_in_the_mention_list_once(lambda_runtime, inbox, invoke, db, token_for):
    sqs, url = inbox
    body = mentions_payload("post-81723", "post-81724")
    # WHEN a generic sender posts a signed mentions payload, and retries it with the same webhook-id
    first = post(lambda_runtime, SERVICE, body, standard_headers(body, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"))
    again = post(lambda_runtime, SERVICE, body, standard_headers(body, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"))
    assert (first[0], first[2]) == (200, {"status": "accepted", "event_id": "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"})
    assert again[2]["status"] == "duplicate"
    records = drain(sqs, url)
    assert len(records) == 1
    # WHEN the consumer processes it (twice: a redelivery)
    assert lambda_runtime.invoke(INBOX, {"Records": records}) == {"batchItemFailures": []}
    assert lambda_runtime.invoke(INBOX, {"Records": records}) == {"batchItemFailures": []}
    # THEN the two mentions are stored once, scored, and listed like any other mention
    rows = db.execute("SELECT provider, external_id, sentiment_score, country FROM mentions ORDER BY external_id")
    stored = rows.fetchall()
    assert [(r["provider"], r["external_id"], r["country"]) for r in stored] == [
        ("webhook", f"{SERVICE}:post-81723", "US"),
        ("webhook", f"{SERVICE}:post-81724", "US"),
    ]
    assert all(r["sentiment_score"] is not None for r in stored)
    listed = invoke("MentionsFunction", "mentions_list", token=token_for("readonly"), query={"limit": ["10"]})
    assert listed.status == 200
    assert {m["external_id"] for m in listed.body["items"]} == {f"{SERVICE}:post-81723", f"{SERVICE}:post-81724"}
    receipt = db.execute("SELECT status, outcome FROM webhook_receipts").fetchone()
    # AND crisis detection ran over the new mentions' window, as after any ingest
    assert receipt["outcome"]["detection"]["trigger"] == "ingest"
    assert receipt["status"] == "processed" and (receipt["outcome"]["inserted"], receipt["outcome"]["duplicates"]) == (
        2,
        0,
    )


def test_meta_verification_answers_the_challenge_as_plain_text_and_403_otherwise(invoke, inbox, db):
    good = {"hub.mode": ["subscribe"], "hub.verify_token": [VERIFY_TOKEN], "hub.challenge": ["1158201444"]}
    answer = invoke(WEBHOOKS, "webhooks_meta_verify", query=good)
    assert (answer.status, answer.body) == (200, "1158201444")
    assert answer.headers["content-type"].startswith("text/plain")
    refused = [
        {**good, "hub.verify_token": ["guess"]},
        {**good, "hub.mode": ["unsubscribe"]},
        {"hub.mode": ["subscribe"], "hub.challenge": ["1"]},
        {**good, "hub.challenge": ["x" * 300]},
    ]
    for query in refused:
        answer = invoke(WEBHOOKS, "webhooks_meta_verify", query=query)
        assert (answer.status, answer.error_code) == (403, "forbidden")
        assert VERIFY_TOKEN not in json.dumps(answer.body)
    assert [row["details"]["reason"] for row in audit_rows(db, "webhook.rejected")] == ["verification_refused"] * 4


def test_rejections_past_the_limit_are_429_unaudited_while_signed_calls_still_pass(lambda_runtime, inbox, db):
    sqs, url = inbox
    db.execute("INSERT INTO settings (key, value) VALUES ('webhook_rejections_per_ip_per_hour', '2')")
    body = meta_notification()
    forged = {"x-hub-signature-256": meta_signature(body, secret="guess")}
    statuses = [post(lambda_runtime, "meta", body, forged)[0] for _ in range(4)]
    assert statuses == [401, 401, 429, 429]
    assert len(audit_rows(db, "webhook.rejected")) == 2
    status, headers, answer = post(lambda_runtime, "meta", body, forged)
    assert status == 429 and answer["error"]["code"] == "rate_limited" and int(headers["Retry-After"]) > 0
    # a correctly signed call from the same address is never refused
    assert post(lambda_runtime, "meta", body, {"x-hub-signature-256": meta_signature(body)})[0] == 200
    assert len(drain(sqs, url)) == 1


def test_an_unexpected_failure_is_retried_by_sqs_and_the_next_delivery_processes_it(
    lambda_runtime, inbox, db, monkeypatch
):
    from warroom.pipelines import incoming_webhooks

    # GIVEN a queued notification for the MOCK data mode's Meta ad account beside a mentions payload, and a
    # sync that breaks once
    sqs, url = inbox
    body = meta_notification(account="act_1234567890")
    assert post(lambda_runtime, "meta", body, {"x-hub-signature-256": meta_signature(body)})[0] == 200
    records = drain(sqs, url)
    mentions = mentions_payload("post-1")
    assert post(lambda_runtime, SERVICE, mentions, standard_headers(mentions, "msg_1"))[0] == 200
    batch = records + drain(sqs, url)

    def broken(*args, **kwargs):
        raise RuntimeError("connection reset in the middle of the sync")

    monkeypatch.setattr(incoming_webhooks, "sync_campaigns", broken)
    # WHEN the consumer runs into it
    result = lambda_runtime.invoke(INBOX, {"Records": batch})
    # THEN that message alone is handed back to SQS (retried, and after 5 receives moved to the dead-letter
    # queue), and its receipt is free for the next delivery, with what went wrong; the mentions were processed
    assert result == {"batchItemFailures": [{"itemIdentifier": records[0]["messageId"]}]}
    assert count(db, "SELECT 1 FROM mentions") == 1
    receipt = db.execute("SELECT status, error, attempts FROM webhook_receipts WHERE service = 'meta'").fetchone()
    assert (receipt["status"], receipt["error"], receipt["attempts"]) == ("received", "RuntimeError: attempt 1", 1)
    # WHEN SQS delivers it again and the sync works
    monkeypatch.undo()
    assert lambda_runtime.invoke(INBOX, {"Records": records}) == {"batchItemFailures": []}
    receipt = db.execute("SELECT status, attempts, outcome FROM webhook_receipts WHERE service = 'meta'").fetchone()
    assert (receipt["status"], receipt["attempts"], receipt["outcome"]["synced"]) == ("processed", 2, ["1234567890"])
    assert count(db, "SELECT 1 FROM campaigns WHERE platform = 'meta'") > 0
