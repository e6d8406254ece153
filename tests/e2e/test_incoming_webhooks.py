"""Incoming webhooks in ``warroom dev`` (MOCK): over HTTP through the gateway, onto the inbox queue, through the
consumer. A signed Meta notification (sent twice, once as a binary body the gateway base64-encodes) syncs the
mock ad account once; a Standard Webhooks sender's mentions appear in the mention list; a forged call is 401;
Meta's handshake is answered in plain text."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

import psycopg
import pytest
from standardwebhooks.webhooks import Webhook

from tests.e2e.conftest import WEBHOOK_SECRETS, LocalCloud
from tests.polling import wait_until

pytestmark = pytest.mark.e2e

META_SECRET = WEBHOOK_SECRETS["META_APP_SECRET"]
VERIFY_TOKEN = WEBHOOK_SECRETS["META_WEBHOOK_VERIFY_TOKEN"]
PARTNER_SECRET = json.loads(WEBHOOK_SECRETS["INCOMING_WEBHOOK_SECRETS"])["partner"]


def test_signed_webhooks_cross_the_local_cloud_once(local_cloud: LocalCloud):
    cloud = local_cloud
    client = cloud.client
    database = cloud.runtime["DATABASE_URL"]

    def receipts() -> list[tuple[str, str]]:
        with psycopg.connect(database) as conn:
            return conn.execute("SELECT service, status FROM webhook_receipts ORDER BY received_at").fetchall()

    # Meta's handshake
    challenge = client.get(
        "/api/v1/webhooks/meta",
        params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "8217"},
    )
    assert (challenge.status_code, challenge.text) == (200, "8217")
    assert challenge.headers["content-type"].startswith("text/plain")
    # a signed Meta notification, twice: as JSON, then as a binary body (base64 in the gateway's event)
    body = json.dumps(
        {
            "object": "ad_account",
            "entry": [{"id": "1234567890", "time": 1795608000, "changes": [{"field": "with_issues_ad_objects"}]}],
        }
    ).encode()
    signature = "sha256=" + hmac.new(META_SECRET.encode(), body, hashlib.sha256).hexdigest()
    first = client.post(
        "/api/v1/webhooks/meta",
        content=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
    )
    second = client.post(
        "/api/v1/webhooks/meta",
        content=body,
        headers={"Content-Type": "application/octet-stream", "X-Hub-Signature-256": signature},
    )
    assert (first.status_code, first.json()["status"]) == (200, "accepted"), first.text
    assert (second.status_code, second.json()["status"]) == (200, "duplicate"), second.text
    forged = client.post("/api/v1/webhooks/meta", content=body, headers={"X-Hub-Signature-256": "sha256=00"})
    assert (forged.status_code, forged.json()["error"]["code"]) == (401, "invalid_signature")
    # a Standard Webhooks sender's mentions
    now = dt.datetime.now(dt.UTC)
    # published before the MOCK back-fill's week, so the shared cloud's newest mentions stay the mock source's
    published = now - dt.timedelta(days=8)
    mention = {
        "id": "e2e-1",
        "source": "news",
        "content": "Riverside rally draws a record crowd",
        "published_at": published,
    }
    payload = json.dumps({"type": "mentions", "data": {"mentions": [mention]}}, default=str)
    headers = {
        "Content-Type": "application/json",
        "webhook-id": "msg_e2e_1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(PARTNER_SECRET).sign("msg_e2e_1", now, payload),
    }
    accepted = client.post("/api/v1/webhooks/partner", content=payload.encode(), headers=headers)
    assert (accepted.status_code, accepted.json()["status"]) == (200, "accepted"), accepted.text
    # the queue's poller hands both to WebhookInboxFunction, which processes each once
    assert wait_until(lambda: receipts() == [("meta", "processed"), ("partner", "processed")], timeout_s=30), (
        receipts(),
        cloud.log()[-3000:],
    )
    token = cloud.admin_token()
    listed = client.get(
        "/api/v1/mentionlytics/mentions", headers={"Authorization": f"Bearer {token}"}, params={"q": "Riverside rally"}
    ).json()
    assert "partner:e2e-1" in [m["external_id"] for m in listed["items"]]
    with psycopg.connect(database) as conn:
        synced = conn.execute("SELECT project FROM ingest_cursors WHERE provider = 'webhook_meta'").fetchall()
    assert synced == [("1234567890",)], "the notification synced the mock ad account, once"
