"""Limits on the routes that send email to an address the caller names: sign-up, password reset, resend.

Example
-------
>>> limit_outgoing_email("register", actor["ip_address"], body.email)   # 429 past either window

Each send counts in two moving windows of an hour: per source address (one client spraying addresses)
and per target email domain (many clients flooding one organisation's inboxes). Past either, 429 with
``Retry-After`` and nothing is sent. With Redis unavailable the windows are kept per container (the
same limits), as for API keys: never unbounded, never a reason to refuse everyone.
"""

from __future__ import annotations

from typing import Literal

from warroom.core import ratelimit
from warroom.core.config import get_settings
from warroom.core.errors import TooManyRequests

EmailPurpose = Literal["register", "password_forgot", "email_resend"]
WINDOW_S = 3600
_local = ratelimit.LocalMovingWindow()


def _domain(email: str) -> str:
    return email.rpartition("@")[2].strip().lower() or "-"


def limit_outgoing_email(purpose: EmailPurpose, source_ip: str | None, email: str) -> None:
    """Count one email of ``purpose`` from ``source_ip`` to ``email``'s domain; 429 past either window."""
    settings = get_settings()
    windows = [
        (f"email_{purpose}_ip", source_ip or "-", settings.outgoing_email_per_ip_per_hour),
        (f"email_{purpose}_domain", _domain(email), settings.outgoing_email_per_domain_per_hour),
    ]
    for namespace, identifier, limit in windows:
        state = ratelimit.hit(namespace, identifier, limit=limit, window_s=WINDOW_S)
        if state is None:
            state = _local.hit(ratelimit.window_key(namespace, identifier), limit=limit, window_s=WINDOW_S)
        if not state.allowed:
            raise TooManyRequests(
                f"Too many such emails from your address or to this domain; retry after {state.retry_after_s} s.",
                retry_after_s=state.retry_after_s,
                details={"limit": limit, "window_s": WINDOW_S, "per": namespace.rsplit("_", 1)[1]},
            )
