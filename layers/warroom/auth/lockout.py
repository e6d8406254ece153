"""Brute-force protection for everything that checks a password or an MFA code.

Example
-------
>>> attempt = start_attempt(conn, email, source_ip)   # 429 with Retry-After while locked
>>> if not verify_password(...):
...     attempt.failed()                               # the caller also audits auth.login_failed
>>> attempt.succeeded()                                # a full sign-in clears the account's count

Limits (``warroom.core.config``): 5 failures per account and 20 per source IP in a moving 15-minute
window. An account is keyed by an HMAC of its lower-cased email, so unknown emails are counted
exactly like real ones and no email is written to Redis.

- **Per account, counted before the check.** The attempt is counted (``hit``) before the password is
  verified, so parallel requests cannot squeeze in more than 5 guesses, and a full sign-in clears
  the count. A correct password while locked is refused as well (429): answering it differently
  would let the attacker keep guessing through the lock and read the answer.
- **Per IP, counted on failure.** Successful sign-ins must not count (a campaign office shares one
  NAT address), so the address is checked (``peek``) first and counted on failure only; parallel
  requests from one address can exceed the limit by the requests in flight. It is never cleared by a
  success: one valid account must not reset the count of an address spraying others.
- **MFA codes** count as failures of the same account, and a correct password of an MFA account does
  not clear the count (only the completed login does), so the code cannot be guessed 5 at a time.
- **Blocked attempts are not audited**: once locked, an attacker cannot grow the audit table.

**When Redis is unavailable** (down, or answering errors such as ``OOM``: :mod:`warroom.core.ratelimit`
answers None) the counts come from PostgreSQL: the failures audited as ``auth.login_failed`` /
``auth.password_check_failed`` in the window (partial indexes in migration 0004), for the account since
its last successful sign-in. Every failure is audited anyway,
so the protection stays on with the same limits and Retry-After, at the price of one indexed query;
failing closed would lock every user out whenever the cache blips (Redis is optional here), and
failing open would turn "make Redis unavailable" into an unlimited guessing window.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import psycopg

from warroom.auth.errors import TooManyAttempts
from warroom.auth.tokens import keyed_digest
from warroom.core import ratelimit
from warroom.core.config import get_settings

ACCOUNT_NAMESPACE = "auth_failures_account"
IP_NAMESPACE = "auth_failures_ip"
FAILED_ATTEMPT_ACTIONS = ["auth.login_failed", "auth.password_check_failed"]


def account_key(email: str) -> str:
    """The pseudonym an account is counted (and audited) under."""
    return keyed_digest("login-account", email.strip().lower())


@dataclass
class Attempt:
    """One password or code check that has been let through."""

    account: str
    source_ip: str | None

    def failed(self) -> None:
        """Count a failure against the source address (the account's was counted on entry)."""
        if self.source_ip:
            settings = get_settings()
            ratelimit.hit(
                IP_NAMESPACE,
                self.source_ip,
                limit=settings.login_max_failures_per_ip,
                window_s=settings.login_lockout_window_s,
            )

    def succeeded(self) -> None:
        """A full sign-in: forget the account's failures."""
        ratelimit.clear(ACCOUNT_NAMESPACE, self.account)


def start_attempt(conn: psycopg.Connection, email: str, source_ip: str | None) -> Attempt:
    """Let one check through or raise :class:`TooManyAttempts` (429, ``Retry-After``)."""
    settings = get_settings()
    account = account_key(email)
    window_s = settings.login_lockout_window_s
    if source_ip:
        ip_state = ratelimit.peek(IP_NAMESPACE, source_ip, limit=settings.login_max_failures_per_ip, window_s=window_s)
        if ip_state is None:
            _check_database(conn, email, account, source_ip)
        elif not ip_state.allowed:
            raise _locked(ip_state.retry_after_s, "ip")
    account_state = ratelimit.hit(
        ACCOUNT_NAMESPACE, account, limit=settings.login_max_failures_per_account, window_s=window_s
    )
    if account_state is None:
        _check_database(conn, email, account, None)
    elif not account_state.allowed:
        raise _locked(account_state.retry_after_s, "account")
    return Attempt(account, source_ip)


def _locked(retry_after_s: int, scope: str) -> TooManyAttempts:
    return TooManyAttempts(
        f"Too many failed attempts; try again in {math.ceil(retry_after_s / 60)} minute(s).",
        retry_after_s=retry_after_s,
        details={"scope": scope, "retry_after_s": retry_after_s},
    )


def _check_database(conn: psycopg.Connection, email: str, account: str, source_ip: str | None) -> None:
    """The Redis-down path: count the audited failures (per IP when ``source_ip`` is given, else per account)."""
    settings = get_settings()
    window_s = settings.login_lockout_window_s
    if source_ip:
        limit = settings.login_max_failures_per_ip
        rows = conn.execute(
            "SELECT timestamp FROM audit_logs WHERE action = ANY(%s) AND ip_address = %s"
            " AND timestamp > now() - make_interval(secs => %s) ORDER BY timestamp DESC LIMIT %s",
            (FAILED_ATTEMPT_ACTIONS, source_ip, window_s, limit),
        ).fetchall()
    else:
        limit = settings.login_max_failures_per_account
        rows = conn.execute(
            "SELECT timestamp FROM audit_logs WHERE action = ANY(%s) AND details ->> 'account' = %s"
            " AND timestamp > now() - make_interval(secs => %s)"
            " AND timestamp > coalesce((SELECT last_login_at FROM users WHERE lower(email) = lower(%s)), '-infinity')"
            " ORDER BY timestamp DESC LIMIT %s",
            (FAILED_ATTEMPT_ACTIONS, account, window_s, email, limit),
        ).fetchall()
    if len(rows) >= limit:
        # Moving window: open again when the oldest of the last `limit` failures leaves it.
        unlocks_at = rows[-1]["timestamp"] + dt.timedelta(seconds=window_s)
        retry_after_s = max(1, math.ceil((unlocks_at - dt.datetime.now(dt.UTC)).total_seconds()))
        raise _locked(retry_after_s, "ip" if source_ip else "account")
