"""Incoming webhooks, processed: each queued receipt handed to the pipeline its payload asks for, once.

Example
-------
>>> process_inbox_message('{"receipt_id": "0193...", "service": "meta", "event_id": "sha256:..."}')
'processed'

``WebhookInboxFunction`` calls this for every SQS message ``POST /webhooks/{service}`` queued:

- **Meta**, ``object: ad_account`` with an ``in_process_ad_objects`` or ``with_issues_ad_objects`` change (a
  campaign, ad set or ad changed status): the ad account it names is synced through
  :func:`warroom.pipelines.campaigns.sync_campaigns` (campaigns, ad sets, the restatement window of days, then
  the campaign alerts, so a ``WITH_ISSUES`` ad raises its ``delivery_issue`` alert). Meta's syncs read by ad
  account, so "that campaign's sync" is its account's. A notification received before a successful
  webhook-triggered sync of its account *started* is already covered by it (``ingest_cursors`` ``webhook_meta``
  / account: ``synced_from``, on the database's clock) and does nothing more, so a burst that arrives in one
  batch costs one sync, and the platform's own limits are kept by the connector as for every sync.
  Other objects and fields, and accounts that are not configured, are ``ignored``.
- **A generic sender's** ``mentions``: converted to the ingest's mentions (provider ``webhook``) and stored
  through :func:`warroom.pipelines.listening.ingest_then_detect`, so they reach crisis detection at once.

A payload that cannot be processed (it no longer fits its model, or the platform cannot be synced: not
configured, credentials rejected, throttled -- the 15-minute scheduled sync catches up) is ``failed`` with the
cause and not retried. Anything unexpected releases the receipt and raises: SQS delivers the message again, up
to 5 times, then moves it to the dead-letter queue. A message whose receipt is finished (a redelivery, or a
duplicate enqueue) does nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from typing import Any

from pydantic import ValidationError

from warroom.campaigns.sources import SourceUnavailable, sources_for
from warroom.core.data_mode import get_data_mode
from warroom.core.ingest_cursors import read_cursor, save_cursor
from warroom.pipelines.campaigns import sync_campaigns
from warroom.pipelines.listening import ingest_then_detect
from warroom.webhooks.incoming import META
from warroom.webhooks.incoming_models import MentionsEvent, MetaNotification
from warroom.webhooks.incoming_receipts import (
    FinalStatus,
    claim_receipt,
    database_now,
    finish_receipt,
    release_receipt,
)

logger = logging.getLogger(__name__)

# Where a webhook-triggered sync of a Meta ad account is remembered (ingest_cursors provider, per account).
META_SYNC_CURSOR = "webhook_meta"


class Unprocessable(Exception):
    """A payload that cannot be processed: the receipt is failed with this cause, never retried."""

    def __init__(self, cause: str, message: str):
        super().__init__(message)
        self.cause = cause


def process_inbox_message(body: str) -> str:
    """Process the receipt one queued message names; the receipt's final status (or why nothing was done)."""
    try:
        receipt_id = str(uuid.UUID(str(json.loads(body)["receipt_id"])))
    except (ValueError, KeyError, TypeError):
        # Not a message of ours: there is nothing it could be retried into.
        logger.error("webhook inbox message without a receipt id dropped")
        return "dropped"
    claimed = claim_receipt(receipt_id)
    if claimed is None:
        logger.info("webhook receipt %s is finished or held by another consumer: nothing to do", receipt_id)
        return "skipped"
    try:
        status, outcome = _dispatch(claimed)
    except Unprocessable as failure:
        logger.warning("webhook receipt %s cannot be processed: %s (%s)", receipt_id, failure.cause, failure)
        finish_receipt(receipt_id, "failed", {"cause": failure.cause}, str(failure))
        return "failed"
    except Exception as error:
        release_receipt(receipt_id, f"{type(error).__name__}: attempt {claimed['attempts']}")
        raise
    finish_receipt(receipt_id, status, outcome)
    logger.info("webhook receipt %s %s: %s", receipt_id, status, outcome)
    return status


def _dispatch(receipt: dict[str, Any]) -> tuple[FinalStatus, dict[str, Any]]:
    if receipt["service"] == META:
        return _meta_change(receipt["payload"], receipt["received_at"])
    return _generic_event(receipt["service"], receipt["payload"])


def _meta_change(payload: Any, received_at: dt.datetime) -> tuple[FinalStatus, dict[str, Any]]:
    try:
        notification = MetaNotification.model_validate(payload)
    except ValidationError as error:
        raise Unprocessable("malformed_payload", "The stored Meta payload no longer fits its model.") from error
    accounts = notification.ad_accounts_changed()
    if not accounts:
        fields = sorted({change.field for entry in notification.entry for change in entry.changes})
        return "ignored", {"reason": "no_ad_object_change", "object": notification.object, "fields": fields}
    try:
        sources = sources_for("meta", get_data_mode())
    except SourceUnavailable as error:
        raise Unprocessable(error.cause, error.message) from error
    try:
        chosen = [source for source in sources if source.account_id in accounts]
        unknown = sorted(set(accounts) - {source.account_id for source in chosen})
        covered = [s.account_id for s in chosen if _synced_since(s.account_id, received_at)]
        to_sync = [s for s in chosen if s.account_id not in covered]
        outcome: dict[str, Any] = {"accounts": accounts, "covered": covered, "unknown": unknown, "synced": []}
        if not chosen:
            return "ignored", {**outcome, "reason": "unknown_ad_account"}
        if not to_sync:
            return "processed", outcome
        started = database_now()
        synced = sync_campaigns(["meta"], sources={"meta": to_sync})
    finally:
        for source in sources:
            close = getattr(source, "close", None)
            if close is not None:
                close()
    meta = synced.platforms[0]
    if meta.status == "failed":
        raise Unprocessable(meta.cause or "sync_failed", meta.message or "The Meta sync failed.")
    for source in to_sync:
        save_cursor(META_SYNC_CURSOR, source.account_id, {"synced_from": started.isoformat()})
    outcome["synced"] = [s.account_id for s in to_sync]
    outcome["alerts"] = synced.alerts
    return "processed", outcome


def _synced_since(account_id: str, received_at: dt.datetime) -> bool:
    """Whether a webhook-triggered sync of the account started after the notification arrived."""
    stored = read_cursor(META_SYNC_CURSOR, account_id) or {}
    started = stored.get("synced_from")
    return bool(started) and dt.datetime.fromisoformat(started) >= received_at


def _generic_event(service: str, payload: Any) -> tuple[FinalStatus, dict[str, Any]]:
    try:
        event = MentionsEvent.model_validate(payload)
        mentions = [mention.to_mention(service) for mention in event.data.mentions]
    except ValidationError as error:
        raise Unprocessable("malformed_payload", "The stored payload no longer fits the mentions model.") from error
    result, detection = ingest_then_detect(mentions)
    return "processed", {
        "type": event.type,
        "inserted": result.inserted,
        "duplicates": result.duplicates,
        "detection": detection.as_dict() if detection is not None else None,
    }
