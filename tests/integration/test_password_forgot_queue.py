"""POST /auth/password/forgot does the same work for any email: it enqueues; AuthEmailFunction does the rest.

Once, a known email took 14-17 ms (token, audit row, SES) and an unknown one ~4 ms, which told them apart.
"""

from __future__ import annotations

import json

import boto3
import pytest

from tests.conftest import _reset_containers
from tests.integration.auth_support import AUTH, count, create_account, sent_emails, verify_sender
from tests.sqs_records import drain_records

QUEUE = "warroom-test-auth-emails"


@pytest.fixture
def auth_email_queue(services, monkeypatch):
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    sqs.purge_queue(QueueUrl=url)
    monkeypatch.setenv("WARROOM_AUTH_EMAIL_QUEUE_URL", url)
    _reset_containers()
    verify_sender()
    return sqs, url


def _drain(sqs, url: str) -> list[dict]:
    """Every queued message, as the SQS records Lambda would hand AuthEmailFunction."""
    return drain_records(sqs, url, QUEUE)


def test_known_and_unknown_emails_cost_the_request_the_same(invoke, db, lambda_runtime, auth_email_queue):
    sqs, url = auth_email_queue
    account = create_account(db)
    audit_before = count(db, "SELECT 1 FROM audit_logs")
    # WHEN a reset is asked for a known and for an unknown email
    known = invoke(AUTH, "auth_password_forgot", body={"email": account.email})
    unknown = invoke(AUTH, "auth_password_forgot", body={"email": "ghost@campaign.example.org"})
    # THEN both answers are the same, and neither request touched the account, the database or SES:
    # each only enqueued one message
    assert (known.status, known.body) == (unknown.status, unknown.body) == (202, known.body)
    assert count(db, "SELECT 1 FROM email_tokens") == 0 and count(db, "SELECT 1 FROM audit_logs") == audit_before
    assert sent_emails(account.email) == []
    records = _drain(sqs, url)
    assert sorted(json.loads(r["body"])["email"] for r in records) == sorted(
        [account.email, "ghost@campaign.example.org"]
    )
    # WHEN the queue's consumer runs
    result = lambda_runtime.invoke("AuthEmailFunction", {"Records": records})
    # THEN the known account got its link, the unknown address nothing, and no message failed
    assert result == {"batchItemFailures": []}
    assert len(sent_emails(account.email)) == 1
    assert count(db, "SELECT 1 FROM email_tokens WHERE purpose = 'reset_password'") == 1
