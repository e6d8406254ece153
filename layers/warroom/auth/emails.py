"""Email-link tokens (verify an address, reset a password) and the messages that carry them, sent with SES.

Example
-------
>>> with connection() as conn:
...     token = issue_email_token(conn, user_id, "reset_password")
>>> send_password_reset(user["email"], token)      # True when SES accepted it
>>> with connection() as conn:
...     user_id = consume_email_token(conn, token, "verify_email")   # None: unknown, expired or used

Tokens are 256-bit random values stored only as SHA-256 in ``email_tokens``, single-use (``used_at``
is set by the same UPDATE that accepts them) and short-lived: 24 hours to verify an address, 1 hour
to reset a password. Issuing a new one deletes the user's unused ones of the same purpose, so only the
latest link works.

Messages go through Amazon SES (``ses.send_email``) from ``WARROOM_EMAIL_SENDER``, an identity the
operator verifies in SES (``warroom dev`` verifies it in the local emulator). Under ``warroom dev``
(``AWS_SAM_LOCAL=true``, never in AWS) each link is also logged at INFO, so a developer can follow it
without a mailbox. A message SES refuses or cannot take is logged and reported as False: the caller
decides whether that matters (a reset request still answers 202).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from typing import Literal
from urllib.parse import quote

import psycopg

from warroom.auth.tokens import new_opaque_token, token_hash
from warroom.core.config import get_settings

logger = logging.getLogger(__name__)

Purpose = Literal["verify_email", "reset_password"]
TOKEN_TTL_S: dict[str, int] = {"verify_email": 24 * 3600, "reset_password": 3600}
_LINK_PATHS = {"verify_email": "verify-email", "reset_password": "reset-password"}


def issue_email_token(conn: psycopg.Connection, user_id: str, purpose: Purpose) -> str:
    """A new single-use token for ``purpose``; earlier unused ones of that purpose stop working."""
    conn.execute("DELETE FROM email_tokens WHERE user_id = %s AND purpose = %s AND used_at IS NULL", (user_id, purpose))
    token = new_opaque_token()
    conn.execute(
        "INSERT INTO email_tokens (user_id, purpose, token_hash, expires_at)"
        " VALUES (%s, %s, %s, now() + make_interval(secs => %s))",
        (user_id, purpose, token_hash(token), TOKEN_TTL_S[purpose]),
    )
    return token


def find_usable_email_token(conn: psycopg.Connection, token: str, purpose: Purpose) -> str | None:
    """The user id of an unused, unexpired token, its row locked until the transaction ends; else None."""
    row = conn.execute(
        "SELECT user_id FROM email_tokens WHERE token_hash = %s AND purpose = %s AND used_at IS NULL"
        " AND expires_at > now() FOR UPDATE",
        (token_hash(token), purpose),
    ).fetchone()
    return str(row["user_id"]) if row else None


def consume_email_token(conn: psycopg.Connection, token: str, purpose: Purpose) -> str | None:
    """Use a token once: the user id, or None when it is unknown, expired or already used."""
    row = conn.execute(
        "UPDATE email_tokens SET used_at = now() WHERE token_hash = %s AND purpose = %s AND used_at IS NULL"
        " AND expires_at > now() RETURNING user_id",
        (token_hash(token), purpose),
    ).fetchone()
    return str(row["user_id"]) if row else None


def link_for(purpose: Purpose, token: str) -> str:
    """The dashboard page that takes the token and posts it to the API."""
    return f"{get_settings().app_url.rstrip('/')}/{_LINK_PATHS[purpose]}?token={quote(token)}"


def send_email_verification(to: str, token: str) -> bool:
    link = link_for("verify_email", token)
    text = (
        "Welcome to War Room.\n\n"
        f"Confirm your email address by opening this link (valid for 24 hours):\n\n{link}\n\n"
        "If you did not create an account, ignore this message."
    )
    return _send(to, "Confirm your War Room email address", text, link)


def send_password_reset(to: str, token: str) -> bool:
    link = link_for("reset_password", token)
    text = (
        "Someone asked to reset the password of your War Room account.\n\n"
        f"Choose a new password with this link (valid for 1 hour, once):\n\n{link}\n\n"
        "If it was not you, ignore this message: your password stays as it is."
    )
    return _send(to, "Reset your War Room password", text, link)


def _send(to: str, subject: str, text: str, link: str) -> bool:
    from warroom.notifications import send_email

    if os.environ.get("AWS_SAM_LOCAL") == "true":
        logger.info("email to %s: %s -- %s", to, subject, link)
    return send_email(to, subject, text, log_locally=False)


def prune_email_tokens(conn: psycopg.Connection, ended_before: dt.datetime) -> int:
    """Delete verification and reset tokens used or expired before ``ended_before``."""
    return conn.execute(
        "DELETE FROM email_tokens WHERE expires_at < %s OR used_at < %s", (ended_before, ended_before)
    ).rowcount
