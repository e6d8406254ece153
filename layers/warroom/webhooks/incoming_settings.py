"""The incoming webhooks' global settings (composed into the settings routes by :mod:`warroom.system.settings`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from warroom.core.settings import define_setting

WEBHOOK_MAX_BODY_BYTES = define_setting(
    "webhook_max_body_bytes",
    # API Gateway itself takes at most 10 MB; Lambda's event at most 6 MB.
    Annotated[int, Field(ge=1024, le=6_000_000)],
    1_048_576,
    "The largest incoming webhook body accepted; larger ones are refused with 413 before anything is read.",
)
WEBHOOK_REJECTIONS_PER_IP_PER_HOUR = define_setting(
    "webhook_rejections_per_ip_per_hour",
    Annotated[int, Field(ge=1, le=100_000)],
    60,
    "Rejected incoming webhook calls (bad signature, unknown service, ...) audited per source address and hour; "
    "past it they are answered 429 and no longer audited. Correctly signed calls are never counted.",
)
RETENTION_WEBHOOK_RECEIPTS_DAYS = define_setting(
    "retention_webhook_receipts_days",
    # Senders retry for hours to days (Meta up to 36 hours): a receipt outlives every retry of its event.
    Annotated[int, Field(ge=7, le=3650)],
    30,
    "Finished incoming webhook receipts older than this many days are pruned by the daily retention job.",
)
SETTINGS = (WEBHOOK_MAX_BODY_BYTES, WEBHOOK_REJECTIONS_PER_IP_PER_HOUR, RETENTION_WEBHOOK_RECEIPTS_DAYS)
