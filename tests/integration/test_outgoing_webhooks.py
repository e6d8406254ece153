"""Outgoing webhooks end to end: admin routes, broadcast -> WebhookDeliveryQueue -> WebhookDeliveryFunction ->
a real receiver on 127.0.0.1, signed per Standard Webhooks and checked with the reference verifier.

The queues are real (moto); the consumer is driven by handing its handler the queued messages, and retries by
invoking its schedule with the time a retry is due (time is the schedule's, so nothing sleeps).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import secrets
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.conftest import _reset_containers, load_event
from tests.integration.auth_support import create_account, open_session_for, sent_emails, verify_sender
from tests.sqs_records import drain_records, sqs_record
from warroom.core.config import reset_settings
from warroom.realtime import WEBHOOK_EVENTS_KEY, broadcast
from warroom.webhooks import delivery
from warroom.webhooks.subscriptions import create_subscription

ADMIN = "AdminFunction"
CONSUMER = "WebhookDeliveryFunction"
PUBLIC = "93.184.215.14"


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        self.server.received.append((self.path, dict(self.headers), body))  # type: ignore[attr-defined]
        status, headers = self.server.answers[min(len(self.server.received), len(self.server.answers)) - 1]  # type: ignore[attr-defined]
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[ThreadingHTTPServer]:
    """A real HTTP receiver on 127.0.0.1; ``answers`` are (status, headers) per request, the last one repeating."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.received, server.answers = [], [(200, {})]  # type: ignore[attr-defined]
    server.url = f"http://127.0.0.1:{server.server_address[1]}/war-room"  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def queues(services, monkeypatch):
    """The delivery queue (redriving to its DLQ after 2 receives, for the poison test) and the DLQ, configured."""
    sqs = boto3.client("sqs")
    suffix = secrets.token_hex(4)
    dlq = sqs.create_queue(QueueName=f"webhook-dlq-{suffix}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(
        QueueName=f"webhook-deliveries-{suffix}",
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})},
    )["QueueUrl"]
    monkeypatch.setenv("WARROOM_WEBHOOK_QUEUE_URL", queue)
    monkeypatch.setenv("WARROOM_WEBHOOK_DLQ_URL", dlq)
    _reset_containers()
    yield sqs, queue, dlq
    sqs.delete_queue(QueueUrl=queue)
    sqs.delete_queue(QueueUrl=dlq)
    monkeypatch.delenv("WARROOM_WEBHOOK_QUEUE_URL")
    monkeypatch.delenv("WARROOM_WEBHOOK_DLQ_URL")
    _reset_containers()


@pytest.fixture
def deployed(monkeypatch):
    """As deployed (not local development): https only, public addresses only."""
    monkeypatch.setenv("AWS_SAM_LOCAL", "false")
    reset_settings()
    yield
    monkeypatch.setenv("AWS_SAM_LOCAL", "true")
    reset_settings()


@pytest.fixture
def admin(db):
    account = create_account(db, role="admin")
    return open_session_for(account).access_token


def _drain(sqs, url: str) -> list[dict]:
    """Every visible message of ``url`` as the SQS records Lambda would hand the consumer (deleted from the queue)."""
    return drain_records(sqs, url, "webhook-deliveries")


def _record(body: str, message_id: str = "m-1") -> dict:
    return sqs_record(body, message_id, queue="webhook-deliveries")


def _run_consumer(lambda_runtime, sqs, queue: str, rounds: int = 3) -> int:
    """Hand the consumer what is queued, again and again (fan-out queues attempts) until the queue is empty."""
    handled = 0
    for _ in range(rounds):
        records = _drain(sqs, queue)
        if not records:
            break
        result = lambda_runtime.invoke(CONSUMER, {"Records": records})
        assert result == {"batchItemFailures": []}
        handled += len(records)
    return handled


def _sweep_at(lambda_runtime, when: dt.datetime) -> dict:
    event = load_event("webhook_delivery_schedule")
    event["time"] = when.isoformat()
    return lambda_runtime.invoke(CONSUMER, event)


def _subscribe(invoke, token: str, url: str, events=("crisis:detected",)) -> dict:
    answer = invoke(ADMIN, "admin_webhooks_create", token=token, body={"url": url, "events": list(events)})
    assert answer.status == 201, answer.body
    return answer.body


def _path(webhook_id: str) -> dict[str, str]:
    return {"webhook_id": webhook_id}


def test_a_detected_crisis_reaches_the_receiver_signed_and_verifiable(
    invoke, db, admin, receiver, queues, lambda_runtime, token_for
):
    sqs, queue, _ = queues
    # GIVEN a subscription of the local receiver to crisis:detected; its secret is shown once
    created = _subscribe(invoke, admin, receiver.url)
    assert created["secret"].startswith("whsec_") and created["state"] == "ok"
    # WHEN a manager opens an alert (crisis:detected is broadcast; no dashboard is connected)
    alert = invoke("AlertsFunction", "alerts_create", token=token_for("manager"), body={"title": "Leak", "severity": 8})
    assert alert.status == 201
    # AND the consumer handles the queued event, then the queued attempt
    assert _run_consumer(lambda_runtime, sqs, queue) == 2
    # THEN the receiver got one POST that the Standard Webhooks reference verifier accepts (5-minute tolerance)
    [(path, headers, body)] = receiver.received
    assert path == "/war-room" and headers["Content-Type"] == "application/json"
    payload = Webhook(created["secret"]).verify(body, headers)
    assert payload["type"] == "crisis:detected"
    assert payload["data"]["id"] == alert.body["id"] and payload["data"]["title"] == "Leak"
    assert headers["webhook-signature"].startswith("v1,")
    # AND a wrong secret does not verify
    with pytest.raises(WebhookVerificationError, match="signature"):
        Webhook("whsec_" + "A" * 43 + "=").verify(body, headers)
    # AND the delivery log says so, with the same webhook-id
    deliveries = invoke(ADMIN, "admin_webhooks_deliveries", token=admin, path_parameters=_path(created["id"]))
    [entry] = deliveries.body["items"]
    assert (entry["status"], entry["attempt_count"], entry["response_code"]) == ("succeeded", 1, 200)
    assert entry["webhook_id"] == headers["webhook-id"] and entry["next_attempt_at"] is None
    listed = invoke(ADMIN, "admin_webhooks_list", token=admin).body["items"]
    assert listed[0]["last_success_at"] is not None


def test_a_failing_receiver_is_retried_with_backoff_then_dead_lettered_and_marked_failing(
    invoke, db, admin, receiver, queues, lambda_runtime
):
    sqs, queue, dlq = queues
    # an admin who subscribed to alert emails (verified address), to be told when a subscription starts failing
    on_call = create_account(db, role="admin")
    db.execute("UPDATE users SET email_verified_at = now() WHERE id = %s", (on_call.id,))
    db.execute("INSERT INTO notification_subscriptions (user_id, channel) VALUES (%s, 'alerts')", (on_call.id,))
    verify_sender()
    receiver.answers = [(503, {"Retry-After": "900"}), (500, {})]
    _subscribe(invoke, admin, receiver.url, events=("system:data-mode-change",))
    # WHEN the event is broadcast and the consumer makes the first attempt
    broadcast("system:data-mode-change", {"mode": "LIVE", "previous": "MOCK"})
    _run_consumer(lambda_runtime, sqs, queue)
    [row] = db.execute("SELECT * FROM webhook_deliveries").fetchall()
    # THEN it waits for the receiver's Retry-After (900 s) rather than the schedule's first minute
    assert row["status"] == "retrying" and row["attempt_count"] == 1 and row["response_code"] == 503
    assert 900 <= (row["next_attempt_at"] - row["last_attempt_at"]).total_seconds() <= 901
    # WHEN each retry comes due and the schedule queues it (attempts 2..8)
    gaps = []
    for _ in range(delivery.MAX_ATTEMPTS - 1):
        due = db.execute("SELECT next_attempt_at FROM webhook_deliveries").fetchone()["next_attempt_at"]
        assert _sweep_at(lambda_runtime, due - dt.timedelta(seconds=1)) == {"queued": 0}  # not yet
        assert _sweep_at(lambda_runtime, due) == {"queued": 1}
        assert _run_consumer(lambda_runtime, sqs, queue) == 1
        row = db.execute("SELECT * FROM webhook_deliveries").fetchone()
        if row["next_attempt_at"]:
            gaps.append((row["next_attempt_at"] - row["last_attempt_at"]).total_seconds())
    # THEN the delays grew per the schedule (with +-10 % jitter), and after the 8th attempt it failed for good
    for gap, base in zip(gaps, delivery.RETRY_DELAYS_S[1:], strict=True):
        assert base * 0.9 <= gap <= base * 1.1
    assert len(receiver.received) == delivery.MAX_ATTEMPTS
    assert len({headers["webhook-id"] for _, headers, _ in receiver.received}) == 1  # one id across retries
    assert (row["status"], row["attempt_count"], row["next_attempt_at"]) == ("failed", 8, None)
    assert row["last_error"] == "answered 500"
    listed = invoke(ADMIN, "admin_webhooks_list", token=admin).body["items"][0]
    assert (listed["state"], listed["enabled"]) == ("failing", True)
    # AND the spent delivery is in the DLQ, and admins were alerted once (audit trail, email)
    [parked] = [json.loads(r["body"]) for r in _drain(sqs, dlq)]
    assert parked["delivery_id"] == str(row["id"]) and parked["from_dlq"] is True
    assert db.execute("SELECT count(*) AS n FROM audit_logs WHERE action = 'webhook.failing'").fetchone()["n"] == 1
    [email] = sent_emails(on_call.email)
    assert email["subject"].startswith("Webhook failing: ") and receiver.url in email["subject"]
    # WHEN the receiver recovers and the DLQ message is redriven to the queue
    receiver.answers = [(200, {})]
    result = lambda_runtime.invoke(CONSUMER, {"Records": [_record(json.dumps(parked))]})
    assert result == {"batchItemFailures": []}
    # THEN that one more attempt delivers it and the subscription is ok again
    row = db.execute("SELECT * FROM webhook_deliveries").fetchone()
    assert (row["status"], row["attempt_count"], row["response_code"]) == ("succeeded", 9, 200)
    assert invoke(ADMIN, "admin_webhooks_list", token=admin).body["items"][0]["state"] == "ok"


def test_410_gone_disables_the_subscription(invoke, db, admin, receiver, queues, lambda_runtime, services):
    import redis

    sqs, queue, _ = queues
    receiver.answers = [(410, {})]
    created = _subscribe(invoke, admin, receiver.url)
    assert json.loads(redis.Redis.from_url(services.redis_url).get(WEBHOOK_EVENTS_KEY)) == ["crisis:detected"]
    broadcast("crisis:detected", {"id": "a1"})
    _run_consumer(lambda_runtime, sqs, queue)
    # THEN one attempt, the delivery failed and the subscription is disabled as gone (audited)
    sub = invoke(ADMIN, "admin_webhooks_list", token=admin).body["items"][0]
    assert (sub["id"], sub["enabled"], sub["state"]) == (created["id"], False, "gone")
    assert db.execute("SELECT status, response_code FROM webhook_deliveries").fetchone() == {
        "status": "failed",
        "response_code": 410,
    }
    assert db.execute("SELECT count(*) AS n FROM audit_logs WHERE action = 'webhook.disabled'").fetchone()["n"] == 1
    # AND nobody wants crisis:detected any more, so the next broadcast costs no queue message
    assert json.loads(redis.Redis.from_url(services.redis_url).get(WEBHOOK_EVENTS_KEY)) == []
    broadcast("crisis:detected", {"id": "a2"})
    assert _drain(sqs, queue) == []
    assert len(receiver.received) == 1


def test_a_redirect_is_not_followed_and_counts_as_a_failure(invoke, db, admin, receiver, queues, lambda_runtime):
    sqs, queue, _ = queues
    receiver.answers = [(307, {"Location": receiver.url + "/elsewhere"})]
    _subscribe(invoke, admin, receiver.url)
    broadcast("crisis:detected", {"id": "a1"})
    _run_consumer(lambda_runtime, sqs, queue)
    assert [path for path, _, _ in receiver.received] == ["/war-room"]
    row = db.execute("SELECT status, response_code, last_error FROM webhook_deliveries").fetchone()
    assert (row["status"], row["response_code"]) == ("retrying", 307) and "redirect" in row["last_error"]


LOCAL_REFUSED = [
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.5:8080/hook",
    "http://192.168.1.20:8080/hook",
    "http://[::ffff:127.0.0.1]:8080/hook",
    "http://0x0a000001:8080/",
    "http://[fd00::1]:8080/",
    "http://user:pw@127.0.0.1:8080/",
    "http://127.0.0.1:25/",
    "https://hooks..example/",
]
DEPLOYED_REFUSED = [
    "https://169.254.169.254/latest/meta-data/",
    "https://2130706433/",
    "https://[::ffff:169.254.169.254]/",
    "https://localhost/hook",  # a name that resolves to loopback
    "http://127.0.0.1:8080/hook",
]


def _refused_everywhere(invoke, db, admin, urls: list[str]) -> None:
    for url in urls:
        answer = invoke(ADMIN, "admin_webhooks_create", token=admin, body={"url": url, "events": ["crisis:detected"]})
        assert answer.status == 422, (url, answer.body)
        [detail] = answer.body["error"]["details"]
        assert detail["loc"] == ["body", "url"] and url not in json.dumps(answer.body)
    assert db.execute("SELECT count(*) AS n FROM webhook_subscriptions").fetchone()["n"] == 0
    assert db.execute("SELECT count(*) AS n FROM audit_logs WHERE action = 'webhook.create'").fetchone()["n"] == 0


def test_in_local_development_a_subscription_to_a_non_public_address_is_refused_with_422(invoke, db, admin):
    _refused_everywhere(invoke, db, admin, LOCAL_REFUSED)


def test_deployed_a_subscription_to_http_or_a_non_public_address_is_refused_with_422(invoke, db, admin, deployed):
    _refused_everywhere(invoke, db, admin, DEPLOYED_REFUSED)


def test_a_name_that_rebinds_to_a_private_address_is_never_delivered(services, db, queues, deployed):
    sqs, queue, _ = queues
    # GIVEN a listener on loopback that counts connections, and a subscription to a name that resolved publicly
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.05)
    port = listener.getsockname()[1]
    try:
        created = create_subscription(
            f"https://hooks.example.org:{port}/in", ["crisis:detected"], None, {}, resolver=lambda h, p: [PUBLIC]
        )
        broadcast("crisis:detected", {"id": "a1"})
        [event] = _drain(sqs, queue)
        delivery.process_message(event["body"])
        [attempt] = _drain(sqs, queue)
        # WHEN, at the attempt, the name now answers the loopback listener's address (DNS rebinding)
        outcome = delivery.process_message(attempt["body"], resolver=lambda h, p: ["127.0.0.1"])
        # THEN no connection was made, and the attempt failed as refused (to be retried, re-resolved each time)
        with pytest.raises(TimeoutError):
            listener.accept()
    finally:
        listener.close()
    assert outcome == {"kind": "attempt", "status": "retrying"}
    row = db.execute("SELECT * FROM webhook_deliveries WHERE subscription_id = %s", (created.id,)).fetchone()
    assert row["last_error"] == "refused: address_not_public" and row["response_code"] is None


def test_secrets_never_appear_in_answers_logs_or_the_audit_trail(
    invoke, db, admin, receiver, queues, lambda_runtime, caplog, capsys
):
    sqs, queue, _ = queues
    caplog.set_level(logging.DEBUG)
    created = _subscribe(invoke, admin, receiver.url)
    secret = created["secret"]
    key_material = secret.removeprefix("whsec_")
    # WHEN the subscription is listed, changed, tested and delivered
    answers = [
        invoke(ADMIN, "admin_webhooks_list", token=admin),
        invoke(
            ADMIN,
            "admin_webhooks_update",
            token=admin,
            body={"events": ["crisis:detected", "crisis:resolved"]},
            path_parameters=_path(created["id"]),
        ),
        invoke(ADMIN, "admin_webhooks_test", token=admin, path_parameters=_path(created["id"])),
    ]
    _run_consumer(lambda_runtime, sqs, queue)
    answers.append(invoke(ADMIN, "admin_webhooks_deliveries", token=admin, path_parameters=_path(created["id"])))
    # THEN no answer, log line or audit record holds the secret or its ciphertext
    stored = db.execute("SELECT secret_ciphertext FROM webhook_subscriptions").fetchone()["secret_ciphertext"]
    assert key_material not in stored  # stored encrypted
    audit = json.dumps([r["details"] for r in db.execute("SELECT details FROM audit_logs").fetchall()])
    logs = caplog.text + capsys.readouterr().out  # the layer's loggers and the functions' JSON lines
    assert "webhook delivery" in logs
    for text in [json.dumps(a.body) for a in answers] + [logs, audit]:
        assert key_material not in text and stored not in text and "whsec_" not in text
    assert answers[1].body["events"] == ["crisis:detected", "crisis:resolved"]
    # AND the test delivery was signed with it
    [(_, headers, body)] = receiver.received
    assert Webhook(secret).verify(body, headers)["type"] == "webhook:test"


def _api_key_for(db, creator_id: str) -> str:
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    key = f"wr_{prefix}_{secret}"
    db.execute(
        "INSERT INTO api_keys (name, prefix, key_hash, role, created_by) VALUES ('k', %s, %s, 'manager', %s)",
        (prefix, hashlib.sha256(key.encode()).hexdigest(), creator_id),
    )
    return key


ROUTES = [
    ("admin_webhooks_list", ..., None),
    ("admin_webhooks_create", {"url": "http://127.0.0.1:8080/h", "events": ["crisis:detected"]}, None),
    ("admin_webhooks_update", {"enabled": False}, "id"),
    ("admin_webhooks_delete", ..., "id"),
    ("admin_webhooks_deliveries", ..., "id"),
    ("admin_webhooks_test", ..., "id"),
]


def test_only_a_signed_in_admin_administers_webhooks(invoke, db, admin, token_for):
    created = _subscribe(invoke, admin, "http://127.0.0.1:8080/h")
    manager = token_for("manager")
    key = _api_key_for(db, create_account(db, role="admin").id)
    before = db.execute("SELECT * FROM webhook_subscriptions").fetchall()
    for event, body, path in ROUTES:
        params = _path(created["id"]) if path else None
        # a manager: 403 for the role
        refused = invoke(ADMIN, event, token=manager, body=body, path_parameters=params)
        assert (refused.status, refused.error_code) == (403, "forbidden"), event
        # an API key (even an admin's): 403, administration takes a bearer token
        keyed = invoke(ADMIN, event, headers={"X-API-Key": key}, body=body, path_parameters=params)
        assert (keyed.status, keyed.error_code) == (403, "bearer_token_required"), event
        # nobody: 401
        assert invoke(ADMIN, event, body=body, path_parameters=params).status == 401
    assert db.execute("SELECT * FROM webhook_subscriptions").fetchall() == before
    assert db.execute("SELECT count(*) AS n FROM webhook_deliveries").fetchone()["n"] == 0


def test_update_delete_and_the_deliveries_list_with_its_cursor(invoke, db, admin, queues):
    created = _subscribe(invoke, admin, "http://127.0.0.1:8080/h")
    path = _path(created["id"])
    # three test deliveries, listed newest first, two a page
    ids = [invoke(ADMIN, "admin_webhooks_test", token=admin, path_parameters=path).body for _ in range(3)]
    assert all(t["status"] == "pending" and t["webhook_id"].startswith("msg_") for t in ids)
    first = invoke(ADMIN, "admin_webhooks_deliveries", token=admin, path_parameters=path, query={"limit": ["2"]})
    assert [d["id"] for d in first.body["items"]] == [ids[2]["delivery_id"], ids[1]["delivery_id"]]
    second = invoke(
        ADMIN,
        "admin_webhooks_deliveries",
        token=admin,
        path_parameters=path,
        query={"limit": ["2"], "cursor": [first.body["next_cursor"]]},
    )
    assert [d["id"] for d in second.body["items"]] == [ids[0]["delivery_id"]] and second.body["next_cursor"] is None
    assert first.body["items"][0]["next_attempt_at"] is not None  # waiting for its attempt
    bad = invoke(ADMIN, "admin_webhooks_deliveries", token=admin, path_parameters=path, query={"cursor": ["x.y"]})
    assert (bad.status, bad.error_code) == (422, "invalid_cursor")
    filtered = invoke(
        ADMIN, "admin_webhooks_deliveries", token=admin, path_parameters=path, query={"status": ["succeeded"]}
    )
    assert filtered.body["items"] == []
    # PATCH: invalid bodies change nothing
    for body in ({}, {"events": []}, {"events": ["user:login"]}, {"enabled": "maybe"}, {"url": "http://x/"}):
        refused = invoke(ADMIN, "admin_webhooks_update", token=admin, body=body, path_parameters=path)
        assert refused.status == 422, (body, refused.body)
    # disabling abandons the waiting deliveries (audited with old and new), and a disabled one cannot be tested
    disabled = invoke(ADMIN, "admin_webhooks_update", token=admin, body={"enabled": False}, path_parameters=path)
    assert disabled.status == 200 and disabled.body["enabled"] is False
    statuses = {r["status"] for r in db.execute("SELECT status FROM webhook_deliveries").fetchall()}
    assert statuses == {"abandoned"}
    audit = db.execute("SELECT details FROM audit_logs WHERE action = 'webhook.update'").fetchone()["details"]
    assert audit == {"old": {"enabled": True}, "new": {"enabled": False}}
    refused = invoke(ADMIN, "admin_webhooks_test", token=admin, path_parameters=path)
    assert refused.status == 409
    # unknown ids are 404 everywhere
    for event in ("admin_webhooks_update", "admin_webhooks_delete", "admin_webhooks_deliveries", "admin_webhooks_test"):
        for unknown in ("5b1e8c3a-9d2f-4e6a-8b7c-1d2e3f4a5b6c", "42"):
            body = {"enabled": True} if event == "admin_webhooks_update" else ...
            answer = invoke(ADMIN, event, token=admin, body=body, path_parameters=_path(unknown))
            assert (answer.status, answer.error_code) == (404, "not_found"), (event, unknown)
    # DELETE removes it and its log (audited)
    assert invoke(ADMIN, "admin_webhooks_delete", token=admin, path_parameters=path).status == 204
    assert invoke(ADMIN, "admin_webhooks_delete", token=admin, path_parameters=path).status == 404
    assert db.execute("SELECT count(*) AS n FROM webhook_deliveries").fetchone()["n"] == 0
    assert db.execute("SELECT count(*) AS n FROM audit_logs WHERE action = 'webhook.delete'").fetchone()["n"] == 1


def test_create_validates_its_body(invoke, db, admin):
    for body in (
        {"url": "http://127.0.0.1:8080/h"},
        {"url": "http://127.0.0.1:8080/h", "events": []},
        {"url": "http://127.0.0.1:8080/h", "events": ["dashboard:kpi-update"]},
        {"url": "http://127.0.0.1:8080/h", "events": ["crisis:detected"], "secret": "mine"},
        {"url": "h" * 3000, "events": ["crisis:detected"]},
        {"url": "http://127.0.0.1:8080/\u202e", "events": ["crisis:detected"]},
    ):
        answer = invoke(ADMIN, "admin_webhooks_create", token=admin, body=body)
        assert answer.status == 422, (body, answer.body)
    assert db.execute("SELECT count(*) AS n FROM webhook_subscriptions").fetchone()["n"] == 0


def test_a_poison_message_ends_in_the_dlq(services, queues, lambda_runtime):
    sqs, queue, dlq = queues
    sqs.send_message(QueueUrl=queue, MessageBody='{"kind": "attempt", "delivery_id": "not-a-uuid"}')
    # a well-formed attempt for a delivery that no longer exists: claims nothing, succeeds
    harmless = _record(
        json.dumps({"kind": "attempt", "delivery_id": "5b1e8c3a-9d2f-4e6a-8b7c-1d2e3f4a5b6c", "attempt": 0})
    )
    # WHEN the consumer is handed it (in a batch) as often as SQS redelivers it
    for _ in range(2):
        [message] = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=1, VisibilityTimeout=0)["Messages"]
        poison = _record(message["Body"], message["MessageId"])
        result = lambda_runtime.invoke(CONSUMER, {"Records": [poison, harmless]})
        # THEN each time it reports that record failed (so SQS keeps it), and only that one
        assert result == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
    # AND past maxReceiveCount SQS moves it to the DLQ
    assert sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=1).get("Messages") is None
    [parked] = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=1)["Messages"]
    assert "not-a-uuid" in parked["Body"]


def test_broadcast_skips_the_queue_only_when_redis_says_nobody_wants_the_event(services, queues, own_redis):
    import redis

    sqs, queue, _ = queues
    client = redis.Redis.from_url(own_redis.url)
    # no list in Redis (lost, expired): sent, the consumer decides
    broadcast("crisis:resolved", {"id": "a"})
    assert len(_drain(sqs, queue)) == 1
    # the list says nobody wants it: no SQS call; an event that is no webhook event never goes
    client.set(WEBHOOK_EVENTS_KEY, json.dumps(["crisis:detected"]))
    broadcast("crisis:resolved", {"id": "a"})
    broadcast("dashboard:kpi-update", {"x": 1})
    assert _drain(sqs, queue) == []
    # one user's own event is not delivered outside
    client.set(WEBHOOK_EVENTS_KEY, json.dumps(["document:processed"]))
    broadcast("document:processed", {"id": "d"}, user_id="5b1e8c3a-9d2f-4e6a-8b7c-1d2e3f4a5b6c")
    assert _drain(sqs, queue) == []
    # Redis down: sent anyway
    own_redis.stop()
    broadcast("crisis:resolved", {"id": "a"})
    [record] = _drain(sqs, queue)
    assert json.loads(record["body"])["envelope"]["event"] == "crisis:resolved"


def test_broadcast_never_fails_its_caller_because_of_webhooks(services, monkeypatch):
    monkeypatch.setenv("WARROOM_WEBHOOK_QUEUE_URL", "http://127.0.0.1:1/queue/none")
    _reset_containers()
    try:
        assert broadcast("crisis:detected", {"id": "a"}) == 0
    finally:
        monkeypatch.delenv("WARROOM_WEBHOOK_QUEUE_URL")
        _reset_containers()


def test_the_fan_out_makes_one_delivery_per_subscription_even_when_sqs_repeats_a_message(
    invoke, db, admin, queues, lambda_runtime
):
    sqs, queue, _ = queues
    one = _subscribe(invoke, admin, "http://127.0.0.1:8080/one")
    _subscribe(invoke, admin, "http://127.0.0.1:8080/two", events=("crisis:resolved",))
    three = _subscribe(invoke, admin, "http://127.0.0.1:8080/three", events=("crisis:detected", "report:ready"))
    broadcast("crisis:detected", {"id": "a"})
    [event] = _drain(sqs, queue)
    for _ in range(2):  # at-least-once: the same message twice
        assert lambda_runtime.invoke(CONSUMER, {"Records": [event]}) == {"batchItemFailures": []}
    rows = db.execute("SELECT subscription_id::text AS s FROM webhook_deliveries ORDER BY 1").fetchall()
    assert sorted(r["s"] for r in rows) == sorted([one["id"], three["id"]])
    assert len(_drain(sqs, queue)) == 2  # one attempt message per delivery, not per message
