"""Audit anchor: every hour, keep the audit chain's head outside the database (S3 Object Lock)."""

from __future__ import annotations

from typing import Any

from warroom.audit.anchor import write_anchor
from warroom.core.job_runs import recorded_job
from warroom.core.logs import configure_logging

logger = configure_logging("audit_anchor")


@logger.inject_lambda_context
@recorded_job("audit_anchor")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """`written` with the head, `unchanged`, or `refused` when the chain no longer holds the stored anchor."""
    return write_anchor()
