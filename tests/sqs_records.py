"""SQS records as Lambda hands them to a queue consumer: built from a body, or drained from a real (moto) queue."""

from __future__ import annotations

import hashlib
from typing import Any


def sqs_record(body: str, message_id: str = "m-1", *, queue: str = "queue", receipt_handle: str | None = None) -> dict:
    """One record of an SQS event for ``queue`` (first receive)."""
    return {
        "messageId": message_id,
        "receiptHandle": receipt_handle or f"rh-{message_id}",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue}",
        "awsRegion": "us-east-1",
    }


def drain_records(sqs: Any, url: str, queue: str) -> list[dict[str, Any]]:
    """Every message queued at ``url``, received and deleted, as the records Lambda would hand its consumer."""
    records = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages"):
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            records.append(
                sqs_record(message["Body"], message["MessageId"], queue=queue, receipt_handle=message["ReceiptHandle"])
            )
    return records
