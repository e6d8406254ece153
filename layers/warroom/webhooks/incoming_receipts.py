"""Webhook receipts (``webhook_receipts``): one row per accepted delivery, the key to processing each event once.

Example
-------
>>> receipt_id, enqueue = store_receipt(conn, "meta", "sha256:...", "ad_account", payload, "203.0.113.9")
>>> claimed = claim_receipt(receipt_id)          # None: processed already, or another consumer holds it
>>> finish_receipt(receipt_id, "processed", {"synced": ["1234567890"]})

A receipt moves ``received`` -> ``processing`` (claimed until ``claimed_until``) -> ``processed`` | ``ignored`` |
``failed``. A consumer that fails unexpectedly releases its claim (back to ``received``, the error kept) and
SQS hands the message again; one that died without releasing is taken over once its claim runs out. A
receipt that is finished is never claimed again, so a message delivered twice does its work once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import psycopg
from psycopg.types.json import Jsonb

from warroom.core.db import connection

FinalStatus = Literal["processed", "ignored", "failed"]
# Longer than the consumer's timeout (WebhookInboxFunction: 120 s) and shorter than the queue's visibility
# timeout (720 s), so the next delivery of a message whose consumer died can take its receipt over.
CLAIM_LEASE_S = 300


def store_receipt(
    conn: psycopg.Connection,
    service: str,
    event_id: str,
    event_type: str,
    payload: Any,
    source_ip: str | None,
) -> tuple[str, bool]:
    """``(receipt id, needs enqueueing)``: a new receipt, or the existing one of this event id.

    An existing receipt needs enqueueing only if it never reached the queue (its enqueue failed). Two
    concurrent deliveries of one event meet on the unique key: the second waits for the first to commit.
    """
    row = conn.execute(
        "INSERT INTO webhook_receipts (service, event_id, event_type, payload, source_ip)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (service, event_id) DO NOTHING RETURNING id",
        (service, event_id, event_type, Jsonb(payload), source_ip),
    ).fetchone()
    if row is not None:
        return str(row["id"]), True
    existing = conn.execute(
        "SELECT id, enqueued_at FROM webhook_receipts WHERE service = %s AND event_id = %s", (service, event_id)
    ).fetchone()
    return str(existing["id"]), existing["enqueued_at"] is None


def mark_enqueued(receipt_id: str) -> None:
    """Record that the receipt's message is on the queue (a duplicate delivery then enqueues nothing)."""
    with connection() as conn:
        conn.execute("UPDATE webhook_receipts SET enqueued_at = now() WHERE id = %s", (receipt_id,))


def claim_receipt(receipt_id: str, lease_s: int = CLAIM_LEASE_S) -> dict[str, Any] | None:
    """Take the receipt for processing: its service, type, payload and receipt time; None when it is finished,
    held by another consumer's live claim, or unknown."""
    with connection() as conn:
        return conn.execute(
            "UPDATE webhook_receipts SET status = 'processing', attempts = attempts + 1,"
            " claimed_until = now() + make_interval(secs => %s)"
            " WHERE id = %s AND (status = 'received' OR (status = 'processing' AND claimed_until < now()))"
            " RETURNING id, service, event_id, event_type, payload, received_at, attempts",
            (lease_s, receipt_id),
        ).fetchone()


def finish_receipt(receipt_id: str, status: FinalStatus, outcome: dict[str, Any], error: str | None = None) -> None:
    """Close the receipt with its final status and what processing did."""
    with connection() as conn:
        conn.execute(
            "UPDATE webhook_receipts SET status = %s, outcome = %s, error = %s, processed_at = now(),"
            " claimed_until = NULL WHERE id = %s",
            (status, Jsonb(outcome), error[:500] if error else None, receipt_id),
        )


def release_receipt(receipt_id: str, error: str) -> None:
    """Give the claim back after an unexpected failure, keeping what went wrong (SQS retries the message)."""
    with connection() as conn:
        conn.execute(
            "UPDATE webhook_receipts SET status = 'received', claimed_until = NULL, error = %s"
            " WHERE id = %s AND status = 'processing'",
            (error[:500], receipt_id),
        )


def prune_receipts(conn: psycopg.Connection, received_before: dt.datetime) -> int:
    """Delete the finished receipts received before the cutoff (in ``conn``'s transaction); how many.

    Unfinished ones stay: they are work not done (their message may be in the dead-letter queue).
    """
    return conn.execute(
        "DELETE FROM webhook_receipts WHERE received_at < %s AND status IN ('processed', 'ignored', 'failed')",
        (received_before,),
    ).rowcount


def database_now() -> dt.datetime:
    """The database's clock: receipts are timed by it, so comparisons with ``received_at`` never mix clocks."""
    with connection() as conn:
        return conn.execute("SELECT clock_timestamp() AS now").fetchone()["now"]
