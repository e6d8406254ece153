"""Auth email: sends the password-reset emails that POST /auth/password/forgot queued, off the request path."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from warroom.auth.account import send_requested_reset
from warroom.core.logs import configure_logging

logger = configure_logging("auth_email")
processor = BatchProcessor(event_type=EventType.SQS)


def send_one(record: SQSRecord) -> bool:
    request = json.loads(record.body)
    return send_requested_reset(request["email"], {k: request.get(k) for k in ("ip_address", "user_agent")})


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A message that fails (SES down, say) is retried by SQS and ends in the dead-letter queue after 5."""
    return process_partial_response(event=event, record_handler=send_one, processor=processor, context=context)
