"""Outgoing webhook subscriptions: created, listed, changed and deleted by admins; their secrets kept encrypted.

Example
-------
>>> created = create_subscription("https://hooks.example.org/war-room", ["crisis:detected"], None, actor)
>>> created.secret                        # 'whsec_...': shown this once
>>> update_subscription(created.id, WebhookUpdate(enabled=False), actor)
>>> delete_subscription(created.id, actor)

The URL is checked when the subscription is made (:func:`warroom.webhooks.transport.check_destination`: a URL
that is not https, carries credentials, uses a well-known port or resolves to a non-public address is a 422)
and again, resolved anew, at every delivery attempt. The secret is 32 random bytes, ``whsec_<base64>`` as
Standard Webhooks spells it, stored with Fernet under a key derived (HKDF-SHA256) from the token signing key,
as the MFA secrets are (:mod:`warroom.auth.totp`): a database dump alone does not reveal it, and rotating
``JWT_SECRET`` makes the stored secrets unreadable (their deliveries then fail, and the subscription must be
made again). It never appears in an answer after creation, in a log or in the audit trail.

Every change refreshes the list of event names some enabled subscription wants, which broadcasts read from
Redis (``warroom.realtime.WEBHOOK_EVENTS_KEY``) to skip the queue when nobody wants an event.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from typing import Any

import psycopg

from warroom.audit import record_audit, set_actor
from warroom.core import cache
from warroom.core.config import get_settings
from warroom.core.db import connection
from warroom.core.errors import NotFound, ValidationFailed
from warroom.core.ids import uuid_or_not_found
from warroom.core.pagination import Keyset, Page, TimeIdPosition
from warroom.realtime import WEBHOOK_EVENTS_KEY
from warroom.webhooks.outgoing_models import WebhookCreated, WebhookOut, WebhookUpdate
from warroom.webhooks.transport import Resolver, UnsafeDestination, check_destination, system_resolver

logger = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"  # noqa: S105 (the Standard Webhooks prefix, not a secret)
SECRET_BYTES = 32
# Broadcasts trust the list this long; a change rewrites it at once, a lost write heals within this time.
SUBSCRIBED_EVENTS_TTL_S = 300
SUBSCRIPTIONS_KEYSET = Keyset("webhooks.subscriptions", TimeIdPosition)
COLUMNS = (
    "id, url, description, events, enabled, state, created_by, created_at, updated_at, last_success_at, last_failure_at"
)


def _fernet():
    from warroom.core.security import secret_box

    return secret_box("webhook")


def new_secret() -> str:
    """A fresh ``whsec_<base64>`` signing secret (256 bits)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(stored: str) -> str | None:
    """The secret, or None when it cannot be decrypted (the signing key changed since it was made)."""
    from cryptography.fernet import InvalidToken

    try:
        return _fernet().decrypt(stored.encode()).decode()
    except InvalidToken:
        return None


def is_local_development() -> bool:
    """``warroom dev`` and ``sam local`` (``AWS_SAM_LOCAL=true``): http and loopback receivers are accepted."""
    return get_settings().sam_local


def checked_url(url: str, resolver: Resolver = system_resolver) -> str:
    """``url`` if it may be subscribed; 422 naming ``body.url`` with the reason otherwise."""
    try:
        check_destination(url, local=is_local_development(), resolver=resolver)
    except UnsafeDestination as error:
        raise ValidationFailed(
            "The webhook URL is not accepted.",
            details=[{"loc": ["body", "url"], "msg": str(error), "type": error.reason}],
        ) from None
    return url


def _out(row: dict[str, Any]) -> WebhookOut:
    return WebhookOut(
        **{key: row[key] for key in ("url", "description", "enabled", "state", "created_at", "updated_at")},
        id=str(row["id"]),
        events=list(row["events"]),
        created_by=str(row["created_by"]) if row["created_by"] else None,
        last_success_at=row["last_success_at"],
        last_failure_at=row["last_failure_at"],
    )


def create_subscription(
    url: str,
    events: list[str],
    description: str | None,
    actor: dict[str, Any],
    *,
    resolver: Resolver = system_resolver,
) -> WebhookCreated:
    """A new subscription (audited, without the secret); the answer carries its secret this once."""
    checked_url(url, resolver)
    secret = new_secret()
    with connection() as conn:
        set_actor(conn, actor.get("user_id"))
        row = conn.execute(
            "INSERT INTO webhook_subscriptions (url, description, events, secret_ciphertext, created_by)"  # noqa: S608
            f" VALUES (%s, %s, %s, %s, %s) RETURNING {COLUMNS}",
            (url, description, events, encrypt_secret(secret), actor.get("user_id")),
        ).fetchone()
        record_audit(
            conn,
            "webhook.create",
            "webhook_subscription",
            str(row["id"]),
            {"url": url, "events": events, "description": description},
            actor,
        )
    refresh_subscribed_events()
    return WebhookCreated(**_out(row).model_dump(), secret=secret)


def list_subscriptions(cursor: str | None, limit: int) -> Page[Any]:
    """Every subscription, newest first; never a secret."""
    after = SUBSCRIPTIONS_KEYSET.decode(cursor)
    where, params = "", []
    if after:
        where, params = " WHERE (created_at, id) < (%s::timestamptz, %s::uuid)", [after.t, after.id]
    with connection() as conn:
        rows = conn.execute(
            f"SELECT {COLUMNS} FROM webhook_subscriptions{where} ORDER BY created_at DESC, id DESC LIMIT %s",  # noqa: S608
            (*params, limit + 1),
        ).fetchall()
    page = SUBSCRIPTIONS_KEYSET.page(rows, limit, lambda row: TimeIdPosition(t=row["created_at"], id=row["id"]))
    return page.map(_out)


def _locked(conn: psycopg.Connection, subscription_id: str) -> dict[str, Any]:
    row = conn.execute(
        f"SELECT {COLUMNS} FROM webhook_subscriptions WHERE id = %s FOR UPDATE",  # noqa: S608
        (subscription_id,),
    ).fetchone()
    if row is None:
        raise NotFound("No webhook subscription with this id.", details={"resource": "webhook subscription"})
    return row


def get_subscription(subscription_id: str) -> WebhookOut:
    subscription_id = uuid_or_not_found(subscription_id, "webhook subscription")
    with connection() as conn:
        row = conn.execute(
            f"SELECT {COLUMNS} FROM webhook_subscriptions WHERE id = %s",  # noqa: S608
            (subscription_id,),
        ).fetchone()
    if row is None:
        raise NotFound("No webhook subscription with this id.", details={"resource": "webhook subscription"})
    return _out(row)


def update_subscription(subscription_id: str, change: WebhookUpdate, actor: dict[str, Any]) -> WebhookOut:
    """Change events, enabled or description (audited with old and new values).

    Re-enabling clears ``failing`` and ``gone``; disabling abandons the deliveries still waiting for an attempt.
    """
    subscription_id = uuid_or_not_found(subscription_id, "webhook subscription")
    with connection() as conn:
        set_actor(conn, actor.get("user_id"))
        before = _locked(conn, subscription_id)
        sets: dict[str, Any] = {}
        if change.events is not None and list(before["events"]) != change.events:
            sets["events"] = change.events
        if change.description is not None and before["description"] != change.description:
            sets["description"] = change.description
        if change.enabled is not None and before["enabled"] != change.enabled:
            sets["enabled"] = change.enabled
            if change.enabled:
                sets["state"] = "ok"
        if not sets:
            return _out(before)
        assignments = ", ".join(f"{column} = %s" for column in sets)  # column names from this function only
        row = conn.execute(
            f"UPDATE webhook_subscriptions SET {assignments} WHERE id = %s RETURNING {COLUMNS}",  # noqa: S608
            (*sets.values(), subscription_id),
        ).fetchone()
        if sets.get("enabled") is False:
            abandon_waiting_deliveries(conn, subscription_id)
        record_audit(
            conn,
            "webhook.update",
            "webhook_subscription",
            subscription_id,
            {"old": {k: _jsonable(before[k]) for k in sets}, "new": {k: _jsonable(v) for k, v in sets.items()}},
            actor,
        )
    refresh_subscribed_events()
    return _out(row)


def delete_subscription(subscription_id: str, actor: dict[str, Any]) -> None:
    """Delete a subscription and its delivery log (audited); messages still queued for it are dropped."""
    subscription_id = uuid_or_not_found(subscription_id, "webhook subscription")
    with connection() as conn:
        set_actor(conn, actor.get("user_id"))
        row = _locked(conn, subscription_id)
        conn.execute("DELETE FROM webhook_subscriptions WHERE id = %s", (subscription_id,))
        record_audit(
            conn,
            "webhook.delete",
            "webhook_subscription",
            subscription_id,
            {"url": row["url"], "events": list(row["events"])},
            actor,
        )
    refresh_subscribed_events()


def abandon_waiting_deliveries(conn: psycopg.Connection, subscription_id: str) -> int:
    """Deliveries of a subscription that was disabled will not be attempted: marked abandoned."""
    return conn.execute(
        "UPDATE webhook_deliveries SET status = 'abandoned', next_attempt_at = NULL"
        " WHERE subscription_id = %s AND status IN ('pending', 'retrying')",
        (subscription_id,),
    ).rowcount


def subscribed_events(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT DISTINCT unnest(events) AS event FROM webhook_subscriptions WHERE enabled ORDER BY 1"
    ).fetchall()
    return [row["event"] for row in rows]


def refresh_subscribed_events(conn: psycopg.Connection | None = None) -> list[str]:
    """Write the event names some enabled subscription wants to Redis (for broadcasts); answers them."""
    if conn is None:
        with connection() as own:
            return refresh_subscribed_events(own)
    events = subscribed_events(conn)
    stored = cache.run(
        "set", lambda r: r.set(WEBHOOK_EVENTS_KEY, json.dumps(events), ex=SUBSCRIBED_EVENTS_TTL_S), default=False
    )
    if not stored:
        # Broadcasts then find the key missing (or stale for at most the TTL) and send anyway.
        logger.warning("could not store the subscribed webhook events in Redis")
    return events


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, list | tuple) else value
