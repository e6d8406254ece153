"""The signature checks of incoming webhooks, on their own: what passes, what is refused, and why."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac

import pytest
from standardwebhooks.webhooks import Webhook

from warroom.webhooks.incoming_models import MetaNotification, WebhookMention
from warroom.webhooks.incoming_verify import (
    SignatureRejected,
    standard_secret_is_valid,
    verify_meta_signature,
    verify_standard_webhook,
)

APP_SECRET = "0123456789abcdef0123456789abcdef"
SECRET = "whsec_" + base64.b64encode(b"s" * 24).decode()
BODY = b'{"object":"ad_account","entry":[{"id":"1","time":1,"changes":[]}]}'


def meta_header(body: bytes, secret: str = APP_SECRET, scheme: str = "sha256") -> str:
    return f"{scheme}=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed(body: bytes, msg_id: str = "msg_1", *, at: dt.datetime | None = None, secret: str = SECRET) -> dict:
    at = at or dt.datetime.now(dt.UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body.decode()),
    }


def reason_of(call, *args) -> str:
    with pytest.raises(SignatureRejected) as raised:
        call(*args)
    assert raised.value.status_code == 401 and raised.value.details == {"reason": raised.value.reason}
    return raised.value.reason


def test_metas_signature_passes_over_the_exact_bytes_and_nothing_else():
    verify_meta_signature(APP_SECRET, BODY, meta_header(BODY))
    verify_meta_signature(APP_SECRET, BODY, meta_header(BODY).upper().replace("SHA256=", "sha256="))  # hex case
    assert reason_of(verify_meta_signature, APP_SECRET, BODY + b"\n", meta_header(BODY)) == "invalid_signature"
    assert reason_of(verify_meta_signature, APP_SECRET, BODY, meta_header(BODY, "other")) == "invalid_signature"
    assert reason_of(verify_meta_signature, APP_SECRET, BODY, meta_header(BODY, scheme="sha1")) == "invalid_signature"
    assert reason_of(verify_meta_signature, APP_SECRET, BODY, "sha256=zz") == "invalid_signature"
    assert reason_of(verify_meta_signature, APP_SECRET, BODY, "sha256=") == "invalid_signature"
    assert reason_of(verify_meta_signature, APP_SECRET, BODY, None) == "signature_missing"
    assert reason_of(verify_meta_signature, APP_SECRET, BODY, "  ") == "signature_missing"


def test_a_standard_webhook_signed_by_the_reference_package_passes_within_five_minutes():
    verify_standard_webhook(SECRET, BODY, signed(BODY))
    verify_standard_webhook(SECRET, BODY, signed(BODY, at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=4)))
    # while a secret rotates, the sender signs with both: one matching signature is enough
    both = signed(BODY)
    both["webhook-signature"] = (
        signed(BODY, secret="whsec_" + "QUJD" * 8)["webhook-signature"] + " " + (both["webhook-signature"])
    )
    verify_standard_webhook(SECRET, BODY, both)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"webhook-timestamp": -301}, "stale_timestamp"),
        ({"webhook-timestamp": +310}, "stale_timestamp"),
        ({"webhook-timestamp": "not a number"}, "invalid_signature"),
        ({"webhook-timestamp": "1e400"}, "invalid_signature"),
        ({"webhook-id": "msg_2"}, "invalid_signature"),
        ({"webhook-signature": "v1"}, "invalid_signature"),
        ({"webhook-signature": "v1,not base64!"}, "invalid_signature"),
        ({"webhook-signature": "v1,a,b"}, "invalid_signature"),
        ({"webhook-signature": "v2,AAAA"}, "invalid_signature"),
        ({"webhook-signature": None}, "signature_missing"),
        ({"webhook-id": ""}, "signature_missing"),
    ],
    ids=[
        "old",
        "future",
        "timestamp text",
        "timestamp overflow",
        "other id",
        "no comma",
        "not base64",
        "two commas",
        "other version",
        "no signature",
        "empty id",
    ],
)
def test_a_standard_webhook_that_was_tampered_with_is_refused_with_its_reason(change, reason):
    if isinstance(change.get("webhook-timestamp"), int):  # seconds from now, read when the test runs
        change = {"webhook-timestamp": str(int(dt.datetime.now(dt.UTC).timestamp()) + change["webhook-timestamp"])}
    headers = {**signed(BODY), **change}
    headers = {k: v for k, v in headers.items() if v is not None}
    assert reason_of(verify_standard_webhook, SECRET, BODY, headers) == reason


def test_a_body_that_is_not_utf8_or_was_changed_cannot_pass():
    assert reason_of(verify_standard_webhook, SECRET, b"caf\xe9", signed(b"cafe")) == "invalid_signature"
    assert reason_of(verify_standard_webhook, SECRET, BODY + b" ", signed(BODY)) == "invalid_signature"
    assert reason_of(verify_standard_webhook, "whsec_" + "QUJD" * 8, BODY, signed(BODY)) == "invalid_signature"


def test_only_usable_secrets_configure_a_service():
    assert standard_secret_is_valid(SECRET)
    assert not standard_secret_is_valid("whsec_")
    assert not standard_secret_is_valid("whsec_a")  # not base64


def test_only_ad_object_changes_of_an_ad_account_name_accounts_to_sync():
    notification = MetaNotification.model_validate(
        {
            "object": "ad_account",
            "entry": [
                {"id": "act_111", "time": 1, "changes": [{"field": "with_issues_ad_objects", "value": {"id": "9"}}]},
                {"id": 222, "changes": [{"field": "in_process_ad_objects", "value": {"level": "AD"}}]},
                {"id": "333", "changes": [{"field": "ad_recommendations", "value": {}}]},
            ],
        }
    )
    assert notification.ad_accounts_changed() == ["111", "222"]
    page = MetaNotification.model_validate({"object": "page", "entry": [{"id": "1", "changes": []}]})
    assert page.ad_accounts_changed() == []


def test_a_pushed_mention_becomes_the_ingests_mention_under_its_service():
    mention = WebhookMention.model_validate(
        {"id": "p-1", "source": "news", "content": "Op-ed", "published_at": "2026-12-02T06:00:00Z", "country": "es"}
    ).to_mention("partner")
    assert (mention.provider, mention.external_id, mention.country) == ("webhook", "partner:p-1", "ES")
    assert mention.metadata == {"webhook_service": "partner"} and mention.sentiment_score is None
