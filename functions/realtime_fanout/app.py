"""Realtime fan-out: posts queued broadcast chunks to their WebSocket connections (large audiences only)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from warroom.core.logs import configure_logging
from warroom.realtime import deliver_fanout_chunk

logger = configure_logging("realtime_fanout")
processor = BatchProcessor(event_type=EventType.SQS)


def post_chunk(record: SQSRecord) -> int:
    return deliver_fanout_chunk(record.body)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=post_chunk, processor=processor, context=context)
