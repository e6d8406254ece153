"""Helpers of the auth tests: accounts stored directly, sessions opened without a login, emails read from moto.

bcrypt at 12 rounds costs ~0.25 s a hash or check, so accounts get a hash computed once per run, and tests
that are not about logging in get their session from the layer (:func:`open_session_for`) instead of the route.
"""

from __future__ import annotations

import functools
import json
import os
import re
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg

AUTH = "AuthFunction"
PASSWORD = "quartz lantern meadow orbit"
NEW_PASSWORD = "violet harbor engine cascade"
SENDER = "no-reply@warroom.local"
# What no answer may ever contain.
SECRET_MARKERS = ("password_hash", "token_hash", "mfa_secret", "$2b$")


@dataclass
class Account:
    id: str
    email: str
    role: str
    password: str = PASSWORD


@dataclass
class Session:
    session_id: str
    access_token: str
    refresh_token: str


@functools.cache
def password_hash(password: str = PASSWORD) -> str:
    from warroom.auth.passwords import hash_password

    return hash_password(password)


def create_account(
    db: psycopg.Connection,
    *,
    role: str = "readonly",
    email: str | None = None,
    password: str = PASSWORD,
    status: str = "active",
    full_name: str | None = "Ana López",
) -> Account:
    email = email or f"{role}-{uuid.uuid4().hex[:8]}@campaign.example.org"
    row = db.execute(
        "INSERT INTO users (email, password_hash, role, status, full_name) VALUES (%s, %s, %s, %s, %s) RETURNING id",
        (email, password_hash(password), role, status, full_name),
    ).fetchone()
    return Account(str(row["id"]), email, role, password)


def open_session_for(account: Account, *, user_agent: str = "pytest", ip: str = "198.51.100.9") -> Session:
    """A signed-in session as a login would leave it (session row, refresh token, access token with sid)."""
    from warroom.auth.sessions import open_session
    from warroom.core.db import connection
    from warroom.core.security import issue_access_token

    with connection() as conn:
        session_id, refresh_token = open_session(conn, account.id, user_agent=user_agent, ip_address=ip)
    return Session(session_id, issue_access_token(account.id, account.role, session_id=session_id), refresh_token)


def count(db: psycopg.Connection, sql: str, *params: Any) -> int:
    return db.execute(f"SELECT count(*) AS n FROM ({sql}) AS rows", params).fetchone()["n"]


def audit_rows(db: psycopg.Connection, action: str) -> list[dict[str, Any]]:
    return db.execute("SELECT * FROM audit_logs WHERE action = %s ORDER BY timestamp", (action,)).fetchall()


def assert_no_secrets(answer: Any, *values: str) -> None:
    """No hash, no secret column and none of ``values`` anywhere in the answer."""
    text = json.dumps(answer.body) if not isinstance(answer.body, str) else answer.body
    for marker in (*SECRET_MARKERS, *values):
        assert marker not in text, f"{marker!r} leaked in {text[:300]}"


def verify_sender() -> None:
    """Verify the sender identity in moto, as an operator verifies it in SES."""
    import boto3

    boto3.client("ses").verify_email_identity(EmailAddress=SENDER)


def sent_emails(to: str) -> list[dict[str, Any]]:
    """The messages moto's SES accepted for ``to``, oldest first (moto's model-data API)."""
    url = f"{os.environ['AWS_ENDPOINT_URL'].rstrip('/')}/moto-api/data.json"
    with urllib.request.urlopen(url, timeout=10) as response:  # a local moto server
        data = json.loads(response.read())
    messages = data.get("ses", {}).get("Message", [])
    return [m for m in messages if to in (m.get("destinations") or {}).get("ToAddresses", [])]


def token_in(message: dict[str, Any]) -> str:
    """The token of the link in an email's body."""
    match = re.search(r"[?&]token=([A-Za-z0-9_\-]+)", message["body"])
    assert match, message["body"]
    return match.group(1)
