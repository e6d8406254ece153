"""Outgoing webhooks' signatures and retry schedule, checked against the Standard Webhooks reference verifier."""

from __future__ import annotations

import base64
import datetime as dt
import random

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from warroom.webhooks.delivery import MAX_ATTEMPTS, RETRY_DELAYS_S, payload_of, retry_delay_s, sign, webhook_id
from warroom.webhooks.subscriptions import new_secret


def test_a_new_secret_is_whsec_and_256_random_bits():
    secret = new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert new_secret() != secret


def test_the_signature_verifies_with_the_reference_library_within_five_minutes():
    # GIVEN a body signed four minutes ago
    secret = new_secret()
    sent = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=4)
    body = payload_of("crisis:detected", {"id": "a1", "title": "Ünïcødé ✓"}, sent.isoformat())
    headers = sign(secret, webhook_id("5b1e8c3a-9d2f-4e6a-8b7c-1d2e3f4a5b6c"), sent, body)
    # THEN the reference verifier accepts it, and the headers are the spec's
    assert Webhook(secret).verify(body, headers)["data"]["title"] == "Ünïcødé ✓"
    assert headers["webhook-id"] == "msg_5b1e8c3a9d2f4e6a8b7c1d2e3f4a5b6c"
    assert headers["webhook-timestamp"] == str(int(sent.timestamp()))
    assert headers["webhook-signature"].startswith("v1,")
    # AND a changed body, another secret or a signature older than five minutes is refused
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace("a1", "a2"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    stale = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=6)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(body, sign(secret, headers["webhook-id"], stale, body))


def test_retries_back_off_for_about_a_day_with_jitter_and_honour_retry_after():
    rng = random.Random(7)
    delays = [retry_delay_s(attempts, None, rng) for attempts in range(1, MAX_ATTEMPTS)]
    for delay, base in zip(delays, RETRY_DELAYS_S, strict=True):
        assert base * 0.9 <= delay <= base * 1.1
    assert 24 * 3600 <= sum(RETRY_DELAYS_S) <= 30 * 3600
    # a longer Retry-After wins, a shorter one does not, and none waits more than a day
    assert retry_delay_s(1, 3600, rng) == 3600
    assert retry_delay_s(3, 10, rng) >= 1800 * 0.9
    assert retry_delay_s(1, 10**9, rng) == 86_400
