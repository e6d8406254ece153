"""Campaign alerts on hand-made days in real PostgreSQL: each reason fires on its own evidence, once per campaign
and reason, resolves itself when the condition clears, and stays quiet through its cooldown."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from warroom.campaigns.findings import campaign_findings
from warroom.core.db import connection
from warroom.crisis.campaign_alerts import evaluate_campaign_alerts

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
YESTERDAY = NOW.date() - dt.timedelta(days=1)


def add_campaign(db, name: str, *, status: str = "ACTIVE", effective: str = "ACTIVE", platform: str = "meta") -> str:
    return str(
        db.execute(
            "INSERT INTO campaigns (platform, external_id, account_id, name, status, effective_status, start_time)"
            " VALUES (%s, %s, 'a', %s, %s, %s, '2026-10-01T00:00:00Z') RETURNING id",
            (platform, name.lower().replace(" ", "-"), name, status, effective),
        ).fetchone()["id"]
    )


def add_days(db, campaign_id: str, days: dict[dt.date, tuple[int, int, str, str]]) -> None:
    for day, (impressions, clicks, spend, conversions) in days.items():
        db.execute(
            "INSERT INTO campaign_days (campaign_id, day, impressions, clicks, spend, conversions)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (campaign_id, day) DO UPDATE SET"
            " impressions = EXCLUDED.impressions, clicks = EXCLUDED.clicks, spend = EXCLUDED.spend",
            (campaign_id, day, impressions, clicks, Decimal(spend), Decimal(conversions)),
        )


def history(days: int = 14, *, clicks: int = 100, spend: str = "100.00") -> dict[dt.date, tuple[int, int, str, str]]:
    """A steady campaign: CPC 1.00 on each of the ``days`` before yesterday."""
    return {YESTERDAY - dt.timedelta(days=n): (10_000, clicks, spend, "0") for n in range(1, days + 1)}


def findings_now() -> dict[tuple[str, str], object]:
    with connection() as conn:
        return {(f.campaign_id, f.reason): f for f in campaign_findings(conn, NOW)}


def test_each_reason_fires_on_its_own_evidence(services, db):
    stopped = add_campaign(db, "Stopped")
    add_days(db, stopped, history())  # delivered all fortnight, nothing yesterday
    spiking = add_campaign(db, "Spiking")
    add_days(db, spiking, {**history(), YESTERDAY: (10_000, 50, "150.00", "0")})  # CPC 3.00 against 1.00
    steady = add_campaign(db, "Steady")
    add_days(db, steady, {**history(), YESTERDAY: (10_000, 100, "110.00", "0")})  # CPC 1.10: noise
    flagged = add_campaign(db, "Flagged", effective="WITH_ISSUES")
    add_days(db, flagged, {**history(), YESTERDAY: (10_000, 100, "100.00", "0")})
    paused = add_campaign(db, "Paused", status="PAUSED", effective="PAUSED")
    add_days(db, paused, history())  # no row yesterday, but it is paused

    found = findings_now()
    assert set(found) == {(stopped, "delivery_stopped"), (spiking, "cost_spike"), (flagged, "delivery_issue")}
    spike = found[(spiking, "cost_spike")]
    assert spike.evidence["metric"] == "cpc" and spike.evidence["ratio"] == "3.00"
    assert "Spiking (Meta) CPC 3.00" in spike.title
    assert found[(stopped, "delivery_stopped")].severity == 8


def test_a_google_campaign_is_running_when_enabled(services, db):
    enabled = add_campaign(db, "Search", status="ENABLED", effective="SERVING", platform="google_ads")
    add_days(db, enabled, history())
    assert set(findings_now()) == {(enabled, "delivery_stopped")}


def test_an_alert_opens_once_refreshes_resolves_itself_and_cools_down(services, db):
    campaign = add_campaign(db, "Stopped")
    add_days(db, campaign, history())

    first = evaluate_campaign_alerts(NOW)
    assert len(first.opened) == 1
    alert_id = first.opened[0]
    row = db.execute(
        "SELECT kind, subject_dimension, subject_value, status FROM crisis_events WHERE id = %s", (alert_id,)
    ).fetchone()
    assert (row["kind"], row["subject_dimension"], row["subject_value"], row["status"]) == (
        "campaign",
        "campaign",
        f"{campaign}:delivery_stopped",
        "active",
    )
    # the next sync still sees it: the same alert, nothing new
    again = evaluate_campaign_alerts(NOW + dt.timedelta(minutes=15))
    assert (again.opened, again.updated, again.resolved) == ([], [], [])
    # the campaign delivers again: the alert resolves itself
    add_days(db, campaign, {YESTERDAY: (9_000, 90, "90.00", "0")})
    cleared = evaluate_campaign_alerts(NOW + dt.timedelta(minutes=30))
    assert cleared.resolved == [alert_id]
    timeline = db.execute(
        "SELECT change, note FROM crisis_event_changes WHERE crisis_event_id = %s ORDER BY id", (alert_id,)
    ).fetchall()
    assert [t["change"] for t in timeline] == ["detected", "resolved"]
    assert timeline[-1]["note"] == "auto: the condition cleared"
    # it stops again within the cooldown (24 hours): no new alert
    db.execute("DELETE FROM campaign_days WHERE campaign_id = %s AND day = %s", (campaign, YESTERDAY))
    assert evaluate_campaign_alerts(NOW + dt.timedelta(hours=2)).opened == []
    assert evaluate_campaign_alerts(NOW + dt.timedelta(hours=25)).opened != []
    audited = {r["action"] for r in db.execute("SELECT action FROM audit_logs WHERE resource_id = %s", (alert_id,))}
    assert {"campaign_alert.opened", "campaign_alert.auto_resolved"} <= audited


def test_a_manager_can_acknowledge_and_resolve_a_campaign_alert_like_any_other(services, db, invoke, token_for):
    campaign = add_campaign(db, "Stopped")
    add_days(db, campaign, history())
    (alert_id,) = evaluate_campaign_alerts(NOW).opened
    manager = token_for("manager")
    acknowledged = invoke(
        "AlertsFunction",
        "alerts_acknowledge",
        token=manager,
        body={"note": "calling the rep"},
        path_parameters={"alert_id": alert_id},
    )
    assert acknowledged.status == 200 and acknowledged.body["kind"] == "campaign"
    resolved = invoke(
        "AlertsFunction", "alerts_resolve", token=manager, body={}, path_parameters={"alert_id": alert_id}
    )
    assert resolved.status == 200 and resolved.body["status"] == "resolved"
    # a person's resolution starts the cooldown too
    assert evaluate_campaign_alerts(NOW + dt.timedelta(minutes=15)).opened == []
