"""Document ingest: registers each object uploaded under documents/ (S3 -> DocumentQueue -> this function)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from warroom.core.logs import configure_logging
from warroom.documents.ingest import ingest_record

logger = configure_logging("document_ingest")
processor = BatchProcessor(event_type=EventType.SQS)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """One SQS batch of S3 notifications; failed records are reported back in ``batchItemFailures``."""
    return process_partial_response(event=event, record_handler=ingest_record, processor=processor, context=context)
