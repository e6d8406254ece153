"""Webhook delivery: fans broadcast events out to subscriptions and makes each signed attempt (WebhookDeliveryQueue);
every minute, queues the retries that are due."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from warroom.core.job_runs import recorded_job
from warroom.core.logs import configure_logging
from warroom.webhooks.delivery import enqueue_due, process_message

logger = configure_logging("webhook_delivery")
processor = BatchProcessor(event_type=EventType.SQS)


def deliver(record: SQSRecord) -> dict[str, Any]:
    return process_message(record.body)


def _scheduled_time(event: dict[str, Any]) -> dt.datetime:
    """The schedule's own time, never earlier than now (a replayed sample event sweeps what is due now)."""
    now = dt.datetime.now(dt.UTC)
    try:
        stamp = dt.datetime.fromisoformat(str(event.get("time", "")).replace("Z", "+00:00"))
    except ValueError:
        return now
    return max(now, stamp) if stamp.tzinfo else now


@recorded_job("webhook_retry")
def sweep(event: dict[str, Any], context: Any) -> dict[str, int]:
    return {"queued": enqueue_due(_scheduled_time(event))}


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """An SQS batch (failed records reported in ``batchItemFailures``), or the 1-minute schedule's sweep."""
    if "Records" in event:
        return process_partial_response(event=event, record_handler=deliver, processor=processor, context=context)
    return sweep(event, context)
