"""Outgoing webhook deliveries: fan-out of broadcast events, signed attempts, retries, the DLQ and admin alerts.

Example
-------
>>> process_message(record_body)              # the consumer's record handler (WebhookDeliveryFunction)
>>> enqueue_due(now)                          # its 1-minute schedule: hand due retries to the queue
>>> send_test(subscription_id, actor)         # POST /admin/webhooks/{id}/test

The path of an event, all through one queue (``WebhookDeliveryQueue``) and its consumer:

1. ``warroom.realtime.broadcast`` sends ``{"kind": "event", "id", "envelope"}`` for a webhook event.
2. The consumer finds the enabled subscriptions that want the event and writes one ``webhook_deliveries`` row
   each (its body fixed then; ``(subscription, event id)`` is unique, so a message SQS hands over twice makes
   one delivery), then queues one ``{"kind": "attempt", "delivery_id", "attempt"}`` message per row.
3. An attempt claims its row (``attempt_count`` moves from the message's number to the next: a duplicate or
   stale message claims nothing), signs the body and POSTs it through the SSRF-safe transport
   (:mod:`warroom.webhooks.transport`), then records the outcome:

   * 2xx: ``succeeded`` (a ``failing`` subscription is ``ok`` again);
   * 410 Gone: ``failed``, and the subscription is disabled (``gone``; audited; its waiting deliveries abandoned);
   * anything else -- 3xx (never followed), 4xx, 5xx, a timeout, a refused address -- is a failure: ``retrying``
     with ``next_attempt_at`` from :data:`RETRY_DELAYS_S` (1 min, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: 8 attempts
     over about 28 hours), each delay with +-10 % jitter and never shorter than the receiver's ``Retry-After``
     (at most a day). After the last attempt: ``failed``, a copy of the attempt message goes to the dead-letter
     queue (redriving it from there makes one more attempt), the subscription turns ``failing`` and admins are
     alerted once per turn (``system:webhook-failing`` on admins' sockets and an email to admins subscribed to
     alerts).

Retries wait in the table, not in SQS (whose delays stop at 15 minutes): the consumer's schedule
(:func:`enqueue_due`, every minute) queues the deliveries whose ``next_attempt_at`` has come, and moves it a
lease ahead, so a message lost on the way is sent again. A message that cannot be read (a poison message)
raises, so SQS redelivers it and, after ``maxReceiveCount`` receives, moves it to the DLQ.

Signing follows Standard Webhooks: headers ``webhook-id`` (``msg_<delivery id>``, the same on every attempt),
``webhook-timestamp`` (the attempt's Unix time) and ``webhook-signature: v1,<base64 HMAC-SHA256 of
"id.timestamp.body">`` with the subscription's ``whsec_`` secret (the ``standardwebhooks`` package signs).
The body is ``{"type": event, "timestamp": ISO 8601, "data": ...}``. Time is a parameter everywhere (``now``),
and so is the resolver, so tests drive retries and DNS answers without sleeping or patching.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import uuid
from collections.abc import Iterable
from typing import Any

from warroom.audit import record_audit
from warroom.core.aws import aws_client
from warroom.core.config import get_settings
from warroom.core.db import connection
from warroom.core.errors import Conflict, NotFound
from warroom.core.ids import uuid_or_not_found
from warroom.core.pagination import Keyset, Page, TimeIdPosition
from warroom.webhooks.outgoing_models import TEST_EVENT, DeliveryOut, TestDeliveryOut
from warroom.webhooks.subscriptions import (
    abandon_waiting_deliveries,
    decrypt_secret,
    is_local_development,
    refresh_subscribed_events,
)
from warroom.webhooks.transport import PostResult, Resolver, UnsafeDestination, check_destination, post, system_resolver

logger = logging.getLogger(__name__)

RETRY_DELAYS_S = (60, 300, 1800, 7200, 18_000, 36_000, 36_000)
MAX_ATTEMPTS = len(RETRY_DELAYS_S) + 1
JITTER = 0.1
MAX_RETRY_AFTER_S = 86_400
# How long an attempt message may be in flight before the sweep sends it again (an attempt takes at most ~15 s).
LEASE_S = 300
SWEEP_BATCH = 500
FAILING_EVENT = "system:webhook-failing"
USER_AGENT = "WarRoom-Webhooks/1"
DELIVERIES_KEYSET = Keyset("webhooks.deliveries", TimeIdPosition)
_DELIVERY_COLUMNS = (
    "id, subscription_id, event, status, attempt_count, response_code, last_error, next_attempt_at,"
    " last_attempt_at, delivered_at, created_at"
)


class PoisonMessage(ValueError):
    """A queue message that is not one of ours: raised so that SQS retries it and then moves it to the DLQ."""


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def webhook_id(delivery_id: str) -> str:
    """The ``webhook-id`` of a delivery: stable across its attempts, so receivers can drop duplicates."""
    return f"msg_{uuid.UUID(str(delivery_id)).hex}"


def sign(secret: str, message_id: str, timestamp: dt.datetime, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body``."""
    from standardwebhooks.webhooks import Webhook

    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, timestamp, body),
    }


def payload_of(event: str, data: Any, timestamp: str) -> str:
    """The body every attempt of a delivery sends (Standard Webhooks' recommended shape)."""
    return json.dumps({"type": event, "timestamp": timestamp, "data": data}, default=str, separators=(",", ":"))


def retry_delay_s(attempts_made: int, retry_after_s: float | None, rng: random.Random | None = None) -> float:
    """Seconds until the next attempt after ``attempts_made`` failed ones: the schedule with jitter, at least
    the receiver's ``Retry-After`` (capped at a day)."""
    base = RETRY_DELAYS_S[min(attempts_made, len(RETRY_DELAYS_S)) - 1]
    delay = base * (1 + (rng or random).uniform(-JITTER, JITTER))  # jitter spreads retries; not a secret
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, MAX_RETRY_AFTER_S))
    return delay


def _send_messages(queue_url: str | None, bodies: list[dict[str, Any]]) -> bool:
    """Queue ``bodies`` (10 per batch); False when there is no queue or SQS refused (the sweep sends them later)."""
    if not bodies:
        return True
    if not queue_url:
        logger.warning("no webhook queue configured; %d attempt(s) wait for the sweep", len(bodies))
        return False
    try:
        sqs = aws_client("sqs")
        for start in range(0, len(bodies), 10):
            entries = [
                {"Id": str(i), "MessageBody": json.dumps(body)} for i, body in enumerate(bodies[start : start + 10])
            ]
            result = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
            if result.get("Failed"):
                logger.warning("SQS refused %d webhook attempt message(s)", len(result["Failed"]))
    except Exception:
        logger.exception("could not queue %d webhook attempt(s); the sweep sends them later", len(bodies))
        return False
    return True


def fan_out(event_id: str, envelope: dict[str, Any], *, now: dt.datetime | None = None) -> int:
    """One delivery per enabled subscription wanting the event, each queued for its first attempt; how many."""
    now = now or _utcnow()
    event = envelope["event"]
    body = payload_of(event, envelope.get("data"), str(envelope.get("timestamp") or now.isoformat()))
    with connection() as conn:
        # Broadcasts skip the queue by this list: keep it fresh while events flow (it may have expired or been lost).
        refresh_subscribed_events(conn)
        rows = conn.execute(
            """
            INSERT INTO webhook_deliveries (subscription_id, event_id, event, payload, next_attempt_at)
            SELECT id, %s, %s, %s, %s FROM webhook_subscriptions WHERE enabled AND events @> ARRAY[%s]::text[]
            ON CONFLICT (subscription_id, event_id) DO NOTHING
            RETURNING id
            """,
            (event_id, event, body, now + dt.timedelta(seconds=LEASE_S), event),
        ).fetchall()
    _send_messages(
        get_settings().webhook_queue_url,
        [{"kind": "attempt", "delivery_id": str(row["id"]), "attempt": 0} for row in rows],
    )
    return len(rows)


def attempt(
    delivery_id: str,
    expected_attempts: int,
    *,
    now: dt.datetime | None = None,
    resolver: Resolver = system_resolver,
    from_dlq: bool = False,
    rng: random.Random | None = None,
) -> str | None:
    """Make one attempt of a delivery; answers its status after it, or None when the message claimed nothing."""
    now = now or _utcnow()
    claimable = "('pending', 'retrying', 'failed')" if from_dlq else "('pending', 'retrying')"
    with connection() as conn:
        claimed = conn.execute(
            f"""
            UPDATE webhook_deliveries d
            SET attempt_count = d.attempt_count + 1, last_attempt_at = %s, next_attempt_at = %s, status = 'retrying'
            FROM webhook_subscriptions s
            WHERE d.id = %s AND d.attempt_count = %s AND d.status IN {claimable}
              AND s.id = d.subscription_id AND s.enabled
            RETURNING d.id, d.subscription_id, d.event, d.payload, d.attempt_count, s.url, s.secret_ciphertext
            """,  # noqa: S608 (claimable is one of two constants)
            (now, now + dt.timedelta(seconds=LEASE_S), delivery_id, expected_attempts),
        ).fetchone()
    if claimed is None:
        return None
    secret = decrypt_secret(claimed["secret_ciphertext"])
    if secret is None:
        result = PostResult(None, "the signing secret cannot be decrypted (JWT_SECRET changed); recreate it")
        return _record(claimed, result, now, rng, final=True)
    try:
        destination = check_destination(claimed["url"], local=is_local_development(), resolver=resolver)
    except UnsafeDestination as error:
        # Checked at creation; refused now means its DNS answer changed (rebinding) or the rules did: no request.
        logger.warning("webhook %s not delivered: %s", claimed["id"], error.reason)
        return _record(claimed, PostResult(None, f"refused: {error.reason}"), now, rng)
    body = claimed["payload"]
    headers = {
        **sign(secret, webhook_id(claimed["id"]), now, body),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    result = post(destination, body.encode(), headers)
    return _record(claimed, result, now, rng)


def _record(
    claimed: dict[str, Any], result: PostResult, now: dt.datetime, rng: random.Random | None, *, final: bool = False
) -> str:
    """Store an attempt's outcome and do what it implies (disable on 410, DLQ and alert after the last)."""
    delivery_id, subscription_id = str(claimed["id"]), str(claimed["subscription_id"])
    attempts = claimed["attempt_count"]
    code = result.status_code
    error = (result.error or "")[:500] or None
    succeeded = code is not None and 200 <= code < 300 and result.error is None
    gone = code == 410
    exhausted = final or attempts >= MAX_ATTEMPTS
    became_failing = False
    with connection() as conn:
        if succeeded:
            conn.execute(
                "UPDATE webhook_deliveries SET status = 'succeeded', response_code = %s, last_error = NULL,"
                " next_attempt_at = NULL, delivered_at = %s WHERE id = %s",
                (code, now, delivery_id),
            )
            conn.execute(
                "UPDATE webhook_subscriptions SET last_success_at = %s,"
                " state = CASE WHEN state = 'failing' THEN 'ok' ELSE state END WHERE id = %s",
                (now, subscription_id),
            )
            status = "succeeded"
        elif gone or exhausted:
            conn.execute(
                "UPDATE webhook_deliveries SET status = 'failed', response_code = %s, last_error = %s,"
                " next_attempt_at = NULL WHERE id = %s",
                (code, error, delivery_id),
            )
            status = "failed"
            if gone:
                row = conn.execute(
                    "UPDATE webhook_subscriptions SET enabled = false, state = 'gone', last_failure_at = %s"
                    " WHERE id = %s AND enabled RETURNING url",
                    (now, subscription_id),
                ).fetchone()
                if row is not None:
                    abandon_waiting_deliveries(conn, subscription_id)
                    record_audit(
                        conn,
                        "webhook.disabled",
                        "webhook_subscription",
                        subscription_id,
                        {"reason": "410 Gone", "url": row["url"], "delivery_id": delivery_id},
                    )
                    refresh_subscribed_events(conn)
            else:
                row = conn.execute(
                    "UPDATE webhook_subscriptions SET state = 'failing', last_failure_at = %s"
                    " WHERE id = %s AND state = 'ok' RETURNING url",
                    (now, subscription_id),
                ).fetchone()
                conn.execute(
                    "UPDATE webhook_subscriptions SET last_failure_at = %s WHERE id = %s", (now, subscription_id)
                )
                if row is not None:
                    became_failing = True
                    record_audit(
                        conn,
                        "webhook.failing",
                        "webhook_subscription",
                        subscription_id,
                        {"url": row["url"], "delivery_id": delivery_id, "attempts": attempts, "last_error": error},
                    )
        else:
            delay = retry_delay_s(attempts, result.retry_after_s, rng)
            conn.execute(
                "UPDATE webhook_deliveries SET status = 'retrying', response_code = %s, last_error = %s,"
                " next_attempt_at = %s WHERE id = %s",
                (code, error, now + dt.timedelta(seconds=delay), delivery_id),
            )
            conn.execute("UPDATE webhook_subscriptions SET last_failure_at = %s WHERE id = %s", (now, subscription_id))
            status = "retrying"
    logger.info(
        "webhook delivery %s attempt %d: %s (%s)", delivery_id, attempts, status, code if code is not None else error
    )
    if status == "failed" and not gone:
        _to_dead_letter_queue(delivery_id, subscription_id, claimed["event"], attempts, error)
    if became_failing:
        _alert_admins(subscription_id, claimed["url"], claimed["event"], attempts, error)
    return status


def _to_dead_letter_queue(delivery_id: str, subscription_id: str, event: str, attempts: int, error: str | None) -> None:
    """Keep the spent delivery in the DLQ: redriving the message to the queue makes one more attempt."""
    dlq_url = get_settings().webhook_dlq_url
    if not dlq_url:
        logger.warning("no webhook DLQ configured; delivery %s stays failed in the table only", delivery_id)
        return
    body = {
        "kind": "attempt",
        "delivery_id": delivery_id,
        "attempt": attempts,
        "from_dlq": True,
        "subscription_id": subscription_id,
        "event": event,
        "last_error": error,
    }
    try:
        aws_client("sqs").send_message(QueueUrl=dlq_url, MessageBody=json.dumps(body))
    except Exception:
        logger.exception("could not copy failed webhook delivery %s to the DLQ", delivery_id)


def _alert_admins(subscription_id: str, url: str, event: str, attempts: int, error: str | None) -> None:
    """``system:webhook-failing`` to admins' dashboards and an email to admins subscribed to alerts; never raises."""
    from warroom.notifications import email_subscribers
    from warroom.realtime import broadcast

    data = {"subscription_id": subscription_id, "url": url, "event": event, "attempts": attempts, "last_error": error}
    try:
        broadcast(FAILING_EVENT, data)
    except Exception:
        logger.exception("could not broadcast %s for %s", FAILING_EVENT, subscription_id)
    try:
        email_subscribers(
            "alerts",
            f"Webhook failing: {url}"[:200],
            f"The webhook subscription {subscription_id} ({url}) could not be delivered {event} after {attempts} "
            f"attempts (last error: {error or 'none'}). It is marked failing; its deliveries are in "
            f"GET /api/v1/admin/webhooks/{subscription_id}/deliveries.",
            min_role="admin",
        )
    except Exception:
        logger.exception("could not email admins about failing webhook %s", subscription_id)


def enqueue_due(now: dt.datetime | None = None, *, limit: int = SWEEP_BATCH) -> int:
    """Queue an attempt for every delivery whose ``next_attempt_at`` has come (the 1-minute schedule); how many."""
    now = now or _utcnow()
    queue_url = get_settings().webhook_queue_url
    if not queue_url:
        return 0
    with connection() as conn:
        # A disabled subscription's deliveries are not attempted (disabling abandons them; this catches a race).
        conn.execute(
            "UPDATE webhook_deliveries d SET status = 'abandoned', next_attempt_at = NULL FROM webhook_subscriptions s"
            " WHERE s.id = d.subscription_id AND NOT s.enabled AND d.status IN ('pending', 'retrying')"
            " AND d.next_attempt_at <= %s",
            (now,),
        )
        rows = conn.execute(
            """
            UPDATE webhook_deliveries SET next_attempt_at = %s
            WHERE id IN (
                SELECT id FROM webhook_deliveries
                WHERE status IN ('pending', 'retrying') AND next_attempt_at <= %s
                ORDER BY next_attempt_at LIMIT %s FOR UPDATE SKIP LOCKED
            )
            RETURNING id, attempt_count
            """,
            (now + dt.timedelta(seconds=LEASE_S), now, limit),
        ).fetchall()
    _send_messages(
        queue_url, [{"kind": "attempt", "delivery_id": str(r["id"]), "attempt": r["attempt_count"]} for r in rows]
    )
    return len(rows)


def process_message(
    body: str, *, now: dt.datetime | None = None, resolver: Resolver = system_resolver
) -> dict[str, Any]:
    """One queue message (the consumer's record handler); raises :class:`PoisonMessage` for one it cannot read."""
    try:
        message = json.loads(body)
    except (ValueError, TypeError) as error:
        raise PoisonMessage("the message is not JSON") from error
    if not isinstance(message, dict):
        raise PoisonMessage("the message is not an object")
    kind = message.get("kind")
    if kind == "event":
        envelope = message.get("envelope")
        event_id = _uuid(message.get("id"))
        if not isinstance(envelope, dict) or not isinstance(envelope.get("event"), str) or event_id is None:
            raise PoisonMessage("an event message needs an id and an envelope with its event")
        return {"kind": "event", "deliveries": fan_out(event_id, envelope, now=now)}
    if kind == "attempt":
        delivery_id, expected = _uuid(message.get("delivery_id")), message.get("attempt")
        if delivery_id is None or not isinstance(expected, int) or isinstance(expected, bool) or expected < 0:
            raise PoisonMessage("an attempt message needs a delivery id and an attempt number")
        status = attempt(delivery_id, expected, now=now, resolver=resolver, from_dlq=message.get("from_dlq") is True)
        return {"kind": "attempt", "status": status}
    raise PoisonMessage("unknown message kind")


def _uuid(value: Any) -> str | None:
    try:
        return str(uuid.UUID(str(value))) if isinstance(value, str) else None
    except ValueError:
        return None


def send_test(subscription_id: str, actor: dict[str, Any], *, now: dt.datetime | None = None) -> TestDeliveryOut:
    """A signed ``webhook:test`` delivery through the same queue and consumer (audited); answers its ids."""
    now = now or _utcnow()
    subscription_id = uuid_or_not_found(subscription_id, "webhook subscription")
    event_id = str(uuid.uuid4())
    data = {"subscription_id": subscription_id, "message": "A test delivery from War Room.", "test": True}
    with connection() as conn:
        subscription = conn.execute(
            "SELECT enabled FROM webhook_subscriptions WHERE id = %s FOR SHARE", (subscription_id,)
        ).fetchone()
        if subscription is None:
            raise NotFound("No webhook subscription with this id.", details={"resource": "webhook subscription"})
        if not subscription["enabled"]:
            raise Conflict("The subscription is disabled; enable it before testing it.", details={"enabled": False})
        row = conn.execute(
            "INSERT INTO webhook_deliveries (subscription_id, event_id, event, payload, next_attempt_at)"
            " VALUES (%s, %s, %s, %s, %s) RETURNING id, status",
            (
                subscription_id,
                event_id,
                TEST_EVENT,
                payload_of(TEST_EVENT, data, now.isoformat()),
                now + dt.timedelta(seconds=LEASE_S),
            ),
        ).fetchone()
        record_audit(
            conn, "webhook.test", "webhook_subscription", subscription_id, {"delivery_id": str(row["id"])}, actor
        )
    delivery_id = str(row["id"])
    _send_messages(get_settings().webhook_queue_url, [{"kind": "attempt", "delivery_id": delivery_id, "attempt": 0}])
    return TestDeliveryOut(delivery_id=delivery_id, webhook_id=webhook_id(delivery_id), status=row["status"])


def _delivery_out(row: dict[str, Any]) -> DeliveryOut:
    waiting = row["status"] in ("pending", "retrying")
    return DeliveryOut(
        **{
            k: row[k]
            for k in (
                "event",
                "status",
                "attempt_count",
                "response_code",
                "last_error",
                "last_attempt_at",
                "delivered_at",
                "created_at",
            )
        },
        id=str(row["id"]),
        subscription_id=str(row["subscription_id"]),
        webhook_id=webhook_id(row["id"]),
        next_attempt_at=row["next_attempt_at"] if waiting else None,
    )


def list_deliveries(subscription_id: str, status: str | None, cursor: str | None, limit: int) -> Page[Any]:
    """A subscription's deliveries, newest first (404 for an unknown subscription)."""
    subscription_id = uuid_or_not_found(subscription_id, "webhook subscription")
    after = DELIVERIES_KEYSET.decode(cursor)
    where, params = ["subscription_id = %s"], [subscription_id]
    if status:
        where.append("status = %s")
        params.append(status)
    if after:
        where.append("(created_at, id) < (%s::timestamptz, %s::uuid)")
        params += [after.t, after.id]
    with connection() as conn:
        if conn.execute("SELECT 1 FROM webhook_subscriptions WHERE id = %s", (subscription_id,)).fetchone() is None:
            raise NotFound("No webhook subscription with this id.", details={"resource": "webhook subscription"})
        rows = conn.execute(
            f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries WHERE {' AND '.join(where)}"  # noqa: S608
            " ORDER BY created_at DESC, id DESC LIMIT %s",
            (*params, limit + 1),
        ).fetchall()
    page = DELIVERIES_KEYSET.page(rows, limit, lambda row: TimeIdPosition(t=row["created_at"], id=row["id"]))
    return page.map(_delivery_out)


def deliveries_of(ids: Iterable[str]) -> list[DeliveryOut]:
    """The deliveries with these ids (for tests and tools reading what happened)."""
    with connection() as conn:
        rows = conn.execute(
            f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = ANY(%s::uuid[])",  # noqa: S608
            (list(ids),),
        ).fetchall()
    return [_delivery_out(row) for row in rows]
