"""Report exports: builds each queued large export into S3 (ReportExportQueue -> this function), then report:ready."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from warroom.core.logs import configure_logging
from warroom.reports.exports import export_record

logger = configure_logging("report_export")
processor = BatchProcessor(event_type=EventType.SQS)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """One SQS batch of export jobs; failed records are reported back in ``batchItemFailures`` (retried, then DLQ)."""
    return process_partial_response(event=event, record_handler=export_record, processor=processor, context=context)
