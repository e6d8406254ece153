"""Retention: the daily job that keeps the tables that only grow from growing without bound.

Example
-------
>>> run_retention()                              # RetentionFunction, rate(1 day)
{'performance_logs': 81234, 'user_sessions': 12, 'refresh_tokens': 340, 'email_tokens': 5, 'spent_mfa_tokens': 2}

Each table is pruned by its own domain's function; the ages are settings (``retention_*_days``). The
whole run is one transaction and one audit entry (``retention.prune``, the counts in its details): the
pruning is accounted for without one audit row per deleted row. ``audit_logs`` is never pruned.
"""

from __future__ import annotations

import datetime as dt
import logging

from warroom.audit import record_audit, set_actor
from warroom.auth import emails, sessions, tokens
from warroom.auth import settings as auth_settings
from warroom.core import perf
from warroom.core.db import connection
from warroom.core.settings import RETENTION_PERFORMANCE_LOGS_DAYS, read_settings
from warroom.documents import library as documents
from warroom.documents.settings import PENDING_UPLOAD_MAX_AGE_HOURS
from warroom.webhooks import incoming_receipts
from warroom.webhooks.incoming_settings import RETENTION_WEBHOOK_RECEIPTS_DAYS

logger = logging.getLogger(__name__)
_AGES = (
    RETENTION_PERFORMANCE_LOGS_DAYS,
    auth_settings.RETENTION_SESSIONS_DAYS,
    auth_settings.RETENTION_REFRESH_TOKENS_DAYS,
    auth_settings.RETENTION_EMAIL_TOKENS_DAYS,
    RETENTION_WEBHOOK_RECEIPTS_DAYS,
)


def run_retention(now: dt.datetime | None = None) -> dict[str, int]:
    """Prune every table past its age, audit the counts in one entry; answers the counts by table."""
    now = now or dt.datetime.now(dt.UTC)
    with connection() as conn:
        days = {key: int(value) for key, value in read_settings(_AGES, conn).items()}
        pending_hours = int(read_settings([PENDING_UPLOAD_MAX_AGE_HOURS], conn)[PENDING_UPLOAD_MAX_AGE_HOURS.key])

        def ago(key: str) -> dt.datetime:
            return now - dt.timedelta(days=days[key])

        set_actor(conn, None)
        counts = {
            "performance_logs": perf.prune_performance_logs(conn, ago(RETENTION_PERFORMANCE_LOGS_DAYS.key)),
            "user_sessions": sessions.prune_sessions(conn, ago(auth_settings.RETENTION_SESSIONS_DAYS.key)),
            "refresh_tokens": sessions.prune_refresh_tokens(conn, ago(auth_settings.RETENTION_REFRESH_TOKENS_DAYS.key)),
            "email_tokens": emails.prune_email_tokens(conn, ago(auth_settings.RETENTION_EMAIL_TOKENS_DAYS.key)),
            "spent_mfa_tokens": tokens.prune_spent_mfa_tokens(conn, now),
            "pending_documents": documents.prune_pending(conn, now - dt.timedelta(hours=pending_hours)),
            "webhook_receipts": incoming_receipts.prune_receipts(conn, ago(RETENTION_WEBHOOK_RECEIPTS_DAYS.key)),
        }
        record_audit(conn, "retention.prune", "retention", None, {"deleted": counts, "ages_days": days}, None)
    logger.info("retention pruned %s", counts)
    return counts
