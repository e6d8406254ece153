"""Webhook inbox: processes each webhook POST /webhooks/{service} accepted and queued (WebhookInboxQueue)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from warroom.core.logs import configure_logging
from warroom.pipelines.incoming_webhooks import process_inbox_message

logger = configure_logging("webhook_inbox")
processor = BatchProcessor(event_type=EventType.SQS)


def process_one(record: SQSRecord) -> str:
    return process_inbox_message(record.body)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A message that fails unexpectedly is retried by SQS and ends in the dead-letter queue after 5 receives."""
    return process_partial_response(event=event, record_handler=process_one, processor=processor, context=context)
