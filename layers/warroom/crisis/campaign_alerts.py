"""Campaign alerts in the Alert Center: findings about paid media opened, updated and resolved as alerts.

Example
-------
>>> outcome = evaluate_campaign_alerts()                   # after every campaign sync
>>> outcome.as_dict()
{'opened': ['6f1c...'], 'updated': [], 'resolved': []}

An alert of kind ``campaign`` has the subject ``('campaign', '<campaign id>:<reason>')``: at most one is open per
campaign and reason (a partial unique index), so a condition that lasts for days is one alert whose evidence is
refreshed by each sync, with ``campaign:alert`` broadcast again only when its severity rises. When a sync no
longer finds the condition the alert resolves itself (``crisis:resolved``); after a resolution, by a person or
by itself, the same campaign and reason stay quiet for ``campaign_alert_cooldown_hours``. New alerts go out as
``campaign:alert`` on the socket and by email to subscribed managers and admins from ``alert_email_min_severity``.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from psycopg.types.json import Jsonb

from warroom.audit import record_audit, set_actor
from warroom.campaigns.findings import CampaignFinding, campaign_findings
from warroom.campaigns.settings import CAMPAIGN_ALERT_COOLDOWN_HOURS
from warroom.core.db import connection
from warroom.core.settings import read_settings
from warroom.crisis import notify
from warroom.crisis.settings import ALERT_EMAIL_MIN_SEVERITY
from warroom.crisis.store import record_change

logger = logging.getLogger(__name__)

EVENT = "campaign:alert"
_LOCK_KEY = 0x57A2_CA3F  # one evaluation at a time (two syncs finishing together)


@dataclass
class CampaignAlertOutcome:
    opened: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    findings: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"findings": self.findings, "opened": self.opened, "updated": self.updated, "resolved": self.resolved}


def _trigger(finding: CampaignFinding, now: dt.datetime) -> dict[str, Any]:
    return {
        "rule": finding.reason,
        "campaign_id": finding.campaign_id,
        "evaluated_at": now.isoformat(),
        **finding.evidence,
    }


def evaluate_campaign_alerts(now: dt.datetime | None = None) -> CampaignAlertOutcome:
    """Find what is wrong now and bring the campaign alerts in line with it (then tell people)."""
    now = now or dt.datetime.now(dt.UTC)
    outcome = CampaignAlertOutcome()
    events: list[notify.Change] = []
    with connection() as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        set_actor(conn, None)
        settings = read_settings([CAMPAIGN_ALERT_COOLDOWN_HOURS, ALERT_EMAIL_MIN_SEVERITY], conn)
        findings = {f.subject_value: f for f in campaign_findings(conn, now)}
        outcome.findings = len(findings)
        open_rows = {
            r["subject_value"]: r
            for r in conn.execute(
                "SELECT id, subject_value, severity, status FROM crisis_events"
                " WHERE kind = 'campaign' AND status <> 'resolved' FOR UPDATE"
            )
        }
        cooling = {
            r["subject_value"]
            for r in conn.execute(
                "SELECT DISTINCT subject_value FROM crisis_events WHERE kind = 'campaign' AND resolved_at > %s",
                (now - dt.timedelta(hours=settings[CAMPAIGN_ALERT_COOLDOWN_HOURS.key]),),
            )
        }
        for value, finding in findings.items():
            trigger = _trigger(finding, now)
            current = open_rows.get(value)
            if current is not None:
                alert_id = str(current["id"])
                severity = max(current["severity"], finding.severity)
                conn.execute(
                    "UPDATE crisis_events SET severity = %s, metadata = %s, title = %s, last_evidence_at = %s,"
                    " updated_at = %s WHERE id = %s",
                    (severity, Jsonb(trigger), finding.title[:300], now, now, alert_id),
                )
                if severity > current["severity"]:
                    note = f"severity {current['severity']} -> {severity}"
                    record_change(conn, alert_id, "updated", current["status"], severity, note)
                    record_audit(conn, "campaign_alert.updated", "crisis_event", alert_id, {"severity": severity}, None)
                    events.append((EVENT, alert_id, current["severity"]))
                    outcome.updated.append(alert_id)
                continue
            if value in cooling:
                continue
            row = conn.execute(
                """
                INSERT INTO crisis_events (kind, subject_dimension, subject_value, title, severity, status,
                                           detected_at, updated_at, last_evidence_at, metadata)
                VALUES ('campaign', 'campaign', %s, %s, %s, 'active', %s, %s, %s, %s)
                ON CONFLICT (subject_dimension, subject_value) WHERE status <> 'resolved' AND kind = 'campaign'
                DO NOTHING RETURNING id
                """,
                (value, finding.title[:300], finding.severity, now, now, now, Jsonb(trigger)),
            ).fetchone()
            if row is None:
                continue
            alert_id = str(row["id"])
            record_change(conn, alert_id, "detected", "active", finding.severity, f"{finding.reason}: {finding.title}")
            record_audit(conn, "campaign_alert.opened", "crisis_event", alert_id, trigger, None)
            events.append((EVENT, alert_id, None))
            outcome.opened.append(alert_id)
        for value, current in open_rows.items():
            if value in findings:
                continue
            alert_id = str(current["id"])
            conn.execute(
                "UPDATE crisis_events SET status = 'resolved', resolved_at = %s, updated_at = %s WHERE id = %s",
                (now, now, alert_id),
            )
            record_change(conn, alert_id, "resolved", "resolved", current["severity"], "auto: the condition cleared")
            record_audit(conn, "campaign_alert.auto_resolved", "crisis_event", alert_id, {"subject": value}, None)
            events.append(("crisis:resolved", alert_id, None))
            outcome.resolved.append(alert_id)
    notify.after_changes(events, settings[ALERT_EMAIL_MIN_SEVERITY.key])
    if outcome.opened or outcome.updated or outcome.resolved:
        logger.info("campaign alerts", extra=outcome.as_dict())
    return outcome
