"""Notifications: who subscribed to what, and plain-text emails sent with SES.

Example
-------
>>> set_subscriptions(user_id, {"alerts": True, "daily_brief": False})
>>> [r.email for r in subscribers("alerts", min_role="manager")]
['press@campaign.org']
>>> send_email("press@campaign.org", "Crisis: reddit (severity 8)", "...")     # True when SES accepted it

Channels: ``alerts`` (crisis alerts at or above the ``alert_email_min_severity`` setting; managers and
admins only, because acting on a crisis is theirs) and ``daily_brief`` (the 06:00 intelligence brief; any
active user). Only active users with a verified address are mailed: an unverified address may not be
theirs. A message SES refuses is logged and reported as False; notifications never fail the caller.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any, Literal

from warroom.audit import record_audit, set_actor
from warroom.core.aws import aws_client
from warroom.core.config import get_settings
from warroom.core.db import connection

logger = logging.getLogger(__name__)

Channel = Literal["alerts", "daily_brief"]
CHANNELS: tuple[Channel, ...] = ("alerts", "daily_brief")
_ROLE_RANK = {"readonly": 0, "user": 1, "manager": 2, "admin": 3}


@dataclass(frozen=True)
class Subscriber:
    user_id: str
    email: str
    role: str


def subscriptions_of(user_id: str) -> dict[str, bool]:
    """``{"alerts": bool, "daily_brief": bool}`` for one user."""
    with connection() as conn:
        rows = conn.execute("SELECT channel FROM notification_subscriptions WHERE user_id = %s", (user_id,))
        chosen = {row["channel"] for row in rows}
    return {channel: channel in chosen for channel in CHANNELS}


def set_subscriptions(
    user_id: str, wanted: dict[str, bool | None], actor: dict[str, Any] | None = None
) -> dict[str, bool]:
    """Turn channels on or off (None or not named: unchanged); audited; answers the whole set."""
    wanted = {channel: on for channel, on in wanted.items() if on is not None}
    with connection() as conn:
        set_actor(conn, user_id)
        for channel, on in wanted.items():
            if channel not in CHANNELS:
                raise ValueError(f"unknown channel {channel!r}")
            if on:
                conn.execute(
                    "INSERT INTO notification_subscriptions (user_id, channel) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                    (user_id, channel),
                )
            else:
                conn.execute(
                    "DELETE FROM notification_subscriptions WHERE user_id = %s AND channel = %s", (user_id, channel)
                )
        if wanted:
            record_audit(conn, "auth.notifications_update", "user", user_id, wanted, actor or {"user_id": user_id})
    return subscriptions_of(user_id)


def subscribers(channel: Channel, min_role: str = "readonly") -> list[Subscriber]:
    """Active, verified users subscribed to ``channel`` whose role is at least ``min_role``."""
    roles = [role for role, rank in _ROLE_RANK.items() if rank >= _ROLE_RANK[min_role]]
    with connection() as conn:
        rows = conn.execute(
            """
            SELECT u.id::text AS user_id, u.email, u.role
            FROM notification_subscriptions s JOIN users u ON u.id = s.user_id
            WHERE s.channel = %s AND u.status = 'active' AND u.email_verified_at IS NOT NULL AND u.role = ANY(%s)
            ORDER BY u.email
            """,
            (channel, roles),
        ).fetchall()
    return [Subscriber(row["user_id"], row["email"], row["role"]) for row in rows]


def send_email(to: str, subject: str, text: str, *, log_locally: bool = True) -> bool:
    """One plain-text message through SES from ``WARROOM_EMAIL_SENDER``; False (logged) when it was not taken.

    Under ``warroom dev`` (never in AWS) each message is also logged, so a developer sees it without a mailbox.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    if log_locally and os.environ.get("AWS_SAM_LOCAL") == "true":
        logger.info("email to %s: %s", to, subject)
    try:
        aws_client("ses").send_email(
            Source=get_settings().email_sender,
            Destination={"ToAddresses": [to]},
            Message={
                "Subject": {"Data": subject[:200], "Charset": "UTF-8"},
                "Body": {"Text": {"Data": text, "Charset": "UTF-8"}},
            },
        )
    except (ClientError, BotoCoreError) as error:
        code = error.response["Error"]["Code"] if isinstance(error, ClientError) else type(error).__name__
        logger.warning("email not sent: %s (%s)", subject, code)
        return False
    return True


def email_subscribers(channel: Channel, subject: str, text: str, min_role: str = "readonly") -> int:
    """Mail every subscriber of ``channel``; answers how many messages SES took."""
    return sum(send_email(subscriber.email, subject, text) for subscriber in subscribers(channel, min_role))
