"""Telling people about crisis changes: realtime events for every dashboard, emails for subscribed managers.

Called after the change is committed, so a dashboard never hears of an alert it cannot open yet, and a
failing broadcast or SES call never undoes a detection. Events carry the alert in the API's shape
(``AlertOut``: its ``id`` is what ``/alerts/{id}`` takes):

* ``crisis:detected`` -- a new alert (detected or manual);
* ``crisis:updated`` -- new evidence raised an open alert's severity, or it was acknowledged;
* ``crisis:resolved`` -- resolved by someone or by itself;
* ``campaign:alert`` -- a campaign alert opened, or its severity rose (:mod:`.campaign_alerts`).
"""

from __future__ import annotations

import logging

from warroom.core.config import get_settings
from warroom.crisis.models import AlertOut
from warroom.crisis.store import load_alert
from warroom.notifications import email_subscribers
from warroom.realtime import broadcast

logger = logging.getLogger(__name__)

# (event, alert id, severity before the change or None)
Change = tuple[str, str, int | None]


def _email_text(alert: dict) -> str:
    trigger = alert.get("trigger") or {}
    lines = [
        f"{alert['title']}",
        f"Severity {alert['severity']} of 10, status {alert['status']}, detected {alert['detected_at']}.",
    ]
    if trigger.get("observed") is not None:
        lines.append(
            f"{trigger['observed']} mentions against about {trigger.get('baseline')} expected; "
            f"negative share {trigger.get('negative_share')} (usually {trigger.get('baseline_negative_share')})."
        )
    if trigger.get("description"):
        lines.append(str(trigger["description"]))
    lines.append(f"Open the Alert Center: {get_settings().app_url.rstrip('/')}/alerts/{alert['id']}")
    return "\n\n".join(lines)


def after_changes(changes: list[Change], email_min_severity: int) -> list[AlertOut]:
    """Broadcast each change; email new (or newly severe enough) alerts to subscribed managers and admins.

    Answers the alerts as they were broadcast (after the change), so callers need not read them again.
    """
    alerts = []
    for event, alert_id, severity_before in changes:
        alert = load_alert(alert_id)
        if alert is None:
            continue
        alerts.append(alert)
        data = alert.model_dump(mode="json")
        try:
            broadcast(event, data)
        except Exception:
            logger.exception("could not broadcast %s for alert %s", event, alert_id)
        crossed = severity_before is None or severity_before < email_min_severity
        emailed = event in ("crisis:detected", "crisis:updated", "campaign:alert")
        if emailed and alert.severity >= email_min_severity and crossed:
            subject = f"[War Room] Severity {alert.severity}: {alert.title}"
            sent = email_subscribers("alerts", subject, _email_text(data), min_role="manager")
            logger.info("alert %s emailed to %d subscribers", alert_id, sent)
    return alerts
