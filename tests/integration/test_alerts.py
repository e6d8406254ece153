"""The Alert Center and crisis detection against real PostgreSQL, Redis and SES (moto): routes, status
machine, RBAC, detection on ingest and on the schedule, no alert storms, auto-resolve, emails, simulator."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from tests.integration.auth_support import sent_emails, verify_sender
from warroom.core.data_mode import forget_local_copy
from warroom.crisis.detection import detect_crises
from warroom.mentions.ingest import ingest_mentions
from warroom.mentions.sources.mock import MockSource

ALERTS = "AlertsFunction"
NOW = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(seconds=30)
CRISIS_MIX = [("positive", 0.05), ("neutral", 0.15), ("negative", 0.45), ("strongly_negative", 0.35)]


def _history(hours: float = 30, per_minute: float = 2.0) -> None:
    """Ordinary mock traffic up to NOW, so every subject has a baseline."""
    source = MockSource(mean_per_minute=per_minute, page_size=10**6)
    ingest_mentions(source.fetch(NOW - dt.timedelta(hours=hours), NOW, None).mentions, stream=False)


def _burst(label: str, topic: str = "healthcare", count: int = 80, minutes: float = 6, end: dt.datetime = NOW):
    """A negative burst on one topic in the minutes before ``end``."""
    times = [end - dt.timedelta(minutes=minutes * (i + 0.5) / count) for i in range(count)]
    return MockSource().scripted(label, sorted(times), topic, CRISIS_MIX)


def _create(invoke, token: str, **body):
    return invoke(ALERTS, "alerts_create", token=token, body={"title": "Doctored clip", "severity": 7, **body})


def _alert_path(alert_id: str) -> dict[str, str]:
    return {"alert_id": alert_id}


# --- the Alert Center routes -------------------------------------------------------------------------------


def test_a_manager_creates_a_manual_alert_that_is_listed_with_its_timeline_and_audited(invoke, token_for, db):
    manager = token_for("manager")
    created = _create(invoke, manager, description="A fake quote is spreading")
    assert created.status == 201, created.body
    alert = created.body
    assert alert["kind"] == "manual" and alert["status"] == "active" and alert["severity"] == 7
    assert alert["created_by"] is not None and alert["subject"] is None

    listed = invoke(ALERTS, "alerts_list", token=token_for("readonly"), query={})
    assert [item["id"] for item in listed.body["items"]] == [alert["id"]]
    detail = invoke(ALERTS, "alerts_get", token=token_for("readonly"), path_parameters=_alert_path(alert["id"]))
    assert detail.status == 200
    assert [(t["change"], t["status"]) for t in detail.body["timeline"]] == [("created", "active")]
    assert detail.body["timeline"][0]["changed_by"] == alert["created_by"]
    audit = db.execute("SELECT action, user_id FROM audit_logs WHERE resource_id = %s", (alert["id"],)).fetchall()
    assert ("alert.create", uuid.UUID(alert["created_by"])) in {(a["action"], a["user_id"]) for a in audit}


@pytest.mark.parametrize("role", ["readonly", "user"])
def test_only_managers_create_alerts(invoke, token_for, db, role):
    answer = _create(invoke, token_for(role))
    assert answer.status == 403 and answer.error_code == "forbidden"
    assert db.execute("SELECT count(*) AS n FROM crisis_events").fetchone()["n"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"severity": 11}, "severity"),
        ({"severity": 0}, "severity"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"mention_ids": [str(uuid.uuid4()) for _ in range(101)]}, "mention_ids"),
        ({"mention_ids": ["not-a-uuid"]}, "mention_ids"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_alert_bodies_get_422_naming_the_field_and_create_nothing(invoke, token_for, db, body, field):
    answer = _create(invoke, token_for("manager"), **body)
    assert answer.status == 422, answer.body
    assert field in str(answer.body["error"]["details"])
    assert db.execute("SELECT count(*) AS n FROM crisis_events").fetchone()["n"] == 0


def test_a_manual_alert_links_its_mentions_and_unknown_mentions_are_a_404(invoke, token_for, db):
    ingest_mentions(_burst("manual-link", count=5), stream=False)
    ids = [str(r["id"]) for r in db.execute("SELECT id FROM mentions ORDER BY published_at")]
    missing = _create(invoke, token_for("manager"), mention_ids=[ids[0], str(uuid.uuid4())])
    assert missing.status == 404 and db.execute("SELECT count(*) AS n FROM crisis_events").fetchone()["n"] == 0

    created = _create(invoke, token_for("manager"), mention_ids=ids[:3])
    assert created.status == 201 and created.body["linked_mentions"] == 3
    detail = invoke(ALERTS, "alerts_get", token=token_for("readonly"), path_parameters=_alert_path(created.body["id"]))
    assert sorted(m["id"] for m in detail.body["sample_mentions"]) == sorted(ids[:3])


def test_status_moves_only_forward_and_every_move_records_who_and_when(invoke, token_for, make_user, db):
    from warroom.core.security import issue_access_token

    alert_id = _create(invoke, token_for("manager")).body["id"]
    staffer = make_user("user")
    manager = make_user("manager")
    path = _alert_path(alert_id)

    # readonly may look, not act
    assert invoke(ALERTS, "alerts_acknowledge", token=token_for("readonly"), path_parameters=path).status == 403
    acknowledged = invoke(
        ALERTS, "alerts_acknowledge", token=issue_access_token(staffer, "user"), path_parameters=path, body=None
    )
    assert acknowledged.status == 200, acknowledged.body
    assert acknowledged.body["status"] == "acknowledged" and acknowledged.body["acknowledged_by"] == staffer
    again = invoke(ALERTS, "alerts_acknowledge", token=issue_access_token(staffer, "user"), path_parameters=path)
    assert again.status == 409 and again.body["error"]["details"]["status"] == "acknowledged"
    # resolving is for managers
    staffer_token = issue_access_token(staffer, "user")
    assert invoke(ALERTS, "alerts_resolve", token=staffer_token, path_parameters=path).status == 403
    resolved = invoke(
        ALERTS,
        "alerts_resolve",
        token=issue_access_token(manager, "manager"),
        path_parameters=path,
        body={"note": "statement out"},
    )
    assert resolved.status == 200 and resolved.body["status"] == "resolved"
    assert resolved.body["resolved_by"] == manager and resolved.body["resolved_at"] is not None
    for event in ("alerts_acknowledge", "alerts_resolve"):
        late = invoke(ALERTS, event, token=issue_access_token(manager, "manager"), path_parameters=path)
        assert late.status == 409

    timeline = invoke(ALERTS, "alerts_get", token=token_for("readonly"), path_parameters=path).body["timeline"]
    assert [(t["change"], t["changed_by"]) for t in timeline] == [
        ("created", timeline[0]["changed_by"]),
        ("acknowledged", staffer),
        ("resolved", manager),
    ]
    assert timeline[-1]["note"] == "statement out"
    actions = [r["action"] for r in db.execute("SELECT action FROM audit_logs WHERE resource_id = %s", (alert_id,))]
    assert {"alert.create", "alert.acknowledge", "alert.resolve"} <= set(actions)


def test_an_active_alert_can_be_resolved_directly(invoke, token_for):
    alert_id = _create(invoke, token_for("manager")).body["id"]
    answer = invoke(ALERTS, "alerts_resolve", token=token_for("manager"), path_parameters=_alert_path(alert_id))
    assert answer.status == 200 and answer.body["acknowledged_at"] is None


@pytest.mark.parametrize("alert_id", ["5f0c2a1e-0000-4000-8000-00000000d404", "not-an-id"])
@pytest.mark.parametrize("event", ["alerts_get", "alerts_acknowledge", "alerts_resolve"])
def test_unknown_alerts_are_404(invoke, token_for, alert_id, event):
    answer = invoke(ALERTS, event, token=token_for("manager"), path_parameters=_alert_path(alert_id))
    assert answer.status == 404 and answer.error_code == "not_found"


def test_the_list_filters_by_status_severity_and_time_and_pages_without_gaps(invoke, token_for, db):
    manager = token_for("manager")
    ids = [_create(invoke, manager, severity=s, title=f"Alert {s}").body["id"] for s in (2, 4, 6, 8, 10)]
    invoke(ALERTS, "alerts_resolve", token=manager, path_parameters=_alert_path(ids[0]))
    reader = token_for("readonly")

    def listed(**query) -> list[str]:
        answer = invoke(ALERTS, "alerts_list", token=reader, query={k: [str(v)] for k, v in query.items()})
        assert answer.status == 200, answer.body
        return [item["id"] for item in answer.body["items"]]

    assert listed(status="resolved") == [ids[0]]
    assert listed(status="active") == ids[:0:-1]
    assert listed(severity_min=4, severity_max=8) == [ids[3], ids[2], ids[1]]
    assert listed(**{"from": "2000-01-01T00:00:00Z", "to": "2000-01-02T00:00:00Z"}) == []
    seen, cursor = [], None
    while True:
        query = {"limit": ["2"], **({"cursor": [cursor]} if cursor else {})}
        page = invoke(ALERTS, "alerts_list", token=reader, query=query).body
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids[::-1]


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ({"severity_min": ["0"]}, 422, "severity_min"),
        ({"severity_min": ["6"], "severity_max": ["3"]}, 422, "severity_max"),
        ({"from": ["2026-01-02T00:00:00Z"], "to": ["2026-01-01T00:00:00Z"]}, 422, "to"),
        ({"status": ["open"]}, 422, "status"),
        ({"limit": ["201"]}, 422, "limit"),
        ({"cursor": ["%%%"]}, 422, "cursor"),
    ],
)
def test_bad_list_filters_are_rejected(invoke, token_for, query, status, field):
    answer = invoke(ALERTS, "alerts_list", token=token_for("readonly"), query=query)
    assert answer.status == status, answer.body
    if field:
        assert field in str(answer.body["error"]["details"])


# --- subscriptions and emails --------------------------------------------------------------------------------


def _subscriber(make_user, db, role: str, email: str, channels: dict[str, bool]) -> None:
    from warroom.notifications import set_subscriptions

    user_id = make_user(role, email)
    db.execute("UPDATE users SET email_verified_at = now() WHERE id = %s", (user_id,))
    set_subscriptions(user_id, channels)


def test_severe_alerts_are_emailed_to_subscribed_managers_and_admins_only(invoke, token_for, make_user, db):
    verify_sender()
    _subscriber(make_user, db, "manager", "alert.manager@campaign.example.org", {"alerts": True})
    _subscriber(make_user, db, "admin", "alert.admin@campaign.example.org", {"alerts": True})
    _subscriber(make_user, db, "readonly", "alert.reader@campaign.example.org", {"alerts": True})
    _subscriber(make_user, db, "manager", "quiet.manager@campaign.example.org", {"alerts": False})
    manager = token_for("manager")

    _create(invoke, manager, severity=6, title="Below the email threshold")
    assert sent_emails("alert.manager@campaign.example.org") == []
    _create(invoke, manager, severity=9, title="Deepfake video of the candidate")

    [message] = sent_emails("alert.manager@campaign.example.org")
    assert "Deepfake video of the candidate" in message["subject"] and "Severity 9" in message["subject"]
    assert len(sent_emails("alert.admin@campaign.example.org")) == 1
    assert sent_emails("alert.reader@campaign.example.org") == []
    assert sent_emails("quiet.manager@campaign.example.org") == []


def test_people_choose_their_notification_emails(invoke, token_for, db):
    token = token_for("manager")
    before = invoke("AuthFunction", "auth_get_notifications", token=token)
    assert before.status == 200 and before.body == {"alerts": False, "daily_brief": False}
    changed = invoke("AuthFunction", "auth_put_notifications", token=token, body={"alerts": True})
    assert changed.status == 200 and changed.body == {"alerts": True, "daily_brief": False}
    bad = invoke("AuthFunction", "auth_put_notifications", token=token, body={"alerts": "loud"})
    assert bad.status == 422
    assert invoke("AuthFunction", "auth_get_notifications", token=token).body == {"alerts": True, "daily_brief": False}
    assert db.execute("SELECT count(*) AS n FROM audit_logs WHERE action = 'auth.notifications_update'").fetchone()["n"]


# --- detection -------------------------------------------------------------------------------------------------


def test_a_negative_burst_opens_one_alert_on_its_topic_with_its_mentions_linked(services, db):
    _history()
    burst = _burst("topic-crisis")
    result = ingest_mentions(burst, stream=False)

    outcome = detect_crises(NOW, window_start=result.window_start, trigger="ingest")

    assert len(outcome.opened) == 1, outcome
    alert = db.execute("SELECT * FROM crisis_events WHERE id = %s", (outcome.opened[0],)).fetchone()
    assert (alert["subject_dimension"], alert["subject_value"]) == ("topic", "healthcare")
    assert alert["status"] == "active" and 1 <= alert["severity"] <= 10
    trigger = alert["metadata"]
    assert trigger["observed"] > trigger["baseline"] and trigger["negative_share"] > trigger["baseline_negative_share"]
    assert len(trigger["sample_mention_ids"]) == 5
    linked = db.execute(
        "SELECT count(*) AS n FROM mentions WHERE crisis_event_id = %s AND metadata->>'simulated' IS NOT NULL",
        (alert["id"],),
    ).fetchone()["n"]
    assert linked >= len(burst) * 0.9
    # the same burst also lifted 'all', its source and keywords: folded in, not opened again
    assert db.execute("SELECT count(*) AS n FROM crisis_events").fetchone()["n"] == 1
    changes = db.execute("SELECT change FROM crisis_event_changes WHERE crisis_event_id = %s", (alert["id"],))
    assert [c["change"] for c in changes] == ["detected"]
    audited = db.execute(
        "SELECT count(*) AS n FROM audit_logs WHERE action = 'crisis.detected' AND resource_id = %s",
        (str(alert["id"]),),
    )
    assert audited.fetchone()["n"] == 1


def test_quiet_ordinary_traffic_opens_no_alert(services, db):
    _history()
    outcome = detect_crises(NOW, window_start=NOW - dt.timedelta(hours=6), trigger="ingest")
    assert outcome.subjects > 10 and outcome.opened == []
    assert db.execute("SELECT count(*) AS n FROM crisis_events").fetchone()["n"] == 0


def test_new_evidence_updates_the_open_alert_instead_of_opening_another(services, db):
    _history()
    first = ingest_mentions(_burst("storm-1", count=60, end=NOW - dt.timedelta(minutes=3)), stream=False)
    opened = detect_crises(NOW - dt.timedelta(minutes=3), window_start=first.window_start, trigger="ingest").opened
    second = ingest_mentions(_burst("storm-2", count=200, minutes=3), stream=False)
    again = detect_crises(NOW, window_start=second.window_start, trigger="ingest")

    assert len(opened) == 1 and again.opened == [] and opened[0] in again.updated
    rows = db.execute("SELECT id, severity FROM crisis_events").fetchall()
    assert len(rows) == 1


def test_a_quiet_crisis_resolves_itself_and_its_subject_cools_down(services, db):
    _history()
    result = ingest_mentions(_burst("fades"), stream=False)
    [crisis_id] = detect_crises(NOW, window_start=result.window_start, trigger="ingest").opened

    # an hour without new evidence (the default crisis_auto_resolve_minutes is 60)
    later = NOW + dt.timedelta(minutes=61)
    outcome = detect_crises(later, trigger="schedule")
    assert outcome.resolved == [crisis_id]
    row = db.execute("SELECT status, resolved_by, resolved_at FROM crisis_events WHERE id = %s", (crisis_id,))
    row = row.fetchone()
    assert row["status"] == "resolved" and row["resolved_by"] is None and row["resolved_at"] is not None
    notes = [r["note"] for r in db.execute("SELECT note FROM crisis_event_changes WHERE change = 'resolved'")]
    assert notes and notes[0].startswith("auto:")

    # a fresh burst on the same topic right after resolution is in cooldown: no second alert
    again = ingest_mentions(_burst("fades-again", count=120, end=later), stream=False)
    reopened = detect_crises(later, window_start=again.window_start, trigger="ingest").opened
    assert reopened == [], [
        (r["subject_dimension"], r["subject_value"], r["metadata"].get("related_subjects"))
        for r in db.execute("SELECT subject_dimension, subject_value, metadata FROM crisis_events")
    ]


def test_ingest_stores_and_the_listening_pipeline_detects_on_the_new_window(services, db):
    from warroom.pipelines.listening import detect_new_window, ingest_then_detect

    _history()
    # GIVEN a burst ingested on its own: stored, and no alert (ingest does not call into crisis)
    burst = _burst("through-ingest")
    stored = ingest_mentions(burst[:40], stream=False)
    assert stored.inserted == 40 and db.execute("SELECT count(*) AS n FROM crisis_events").fetchone()["n"] == 0
    # WHEN the pipeline ingests the rest and detects on the window of what was new
    result, outcome = ingest_then_detect(burst[40:], stream=False)
    assert result.inserted == 40 and outcome is not None and outcome.opened
    # THEN nothing new means no detection run at all
    assert detect_new_window(None) is None
    rows = db.execute("SELECT subject_value, metadata->>'detected_by' AS by FROM crisis_events").fetchall()
    assert [(r["subject_value"], r["by"]) for r in rows] == [("healthcare", "ingest")]


def test_the_crisis_scan_function_runs_detection_on_its_schedule(services, lambda_runtime, db):
    from tests.conftest import load_event

    _history()
    ingest_mentions(_burst("scheduled", end=dt.datetime.now(dt.UTC)), stream=False)
    result = lambda_runtime.invoke("CrisisScanFunction", load_event("scheduled_event"))
    assert result["trigger"] == "schedule" and len(result["opened"]) == 1


# --- the simulator ---------------------------------------------------------------------------------------------


def test_the_simulator_injects_a_crisis_through_the_pipeline_in_mock_mode(invoke, token_for, db):
    _history(hours=8)
    answer = invoke("AdminFunction", "admin_simulate", token=token_for("admin"), body={"scenario": "crisis"})
    assert answer.status == 200, answer.body
    assert answer.body["inserted"] >= 60 and len(answer.body["opened"]) == 1
    path = _alert_path(answer.body["opened"][0])
    alert = invoke(ALERTS, "alerts_get", token=token_for("readonly"), path_parameters=path)
    assert alert.body["subject"] == {"dimension": "topic", "value": "healthcare"}


def test_a_viral_positive_surge_is_streamed_but_opens_no_alert(invoke, token_for, db):
    _history(hours=8)
    body = {"scenario": "viral-positive", "topic": "rally"}
    answer = invoke("AdminFunction", "admin_simulate", token=token_for("admin"), body=body)
    assert answer.status == 200 and answer.body["inserted"] >= 60 and answer.body["opened"] == []


def test_the_simulator_is_admin_only_mock_only_and_validates(invoke, token_for, db):
    def simulate(role: str, **body):
        return invoke("AdminFunction", "admin_simulate", token=token_for(role), body=body)

    assert simulate("manager", scenario="crisis").status == 403
    assert simulate("admin", scenario="meteor").status == 422
    topic = simulate("admin", scenario="crisis", topic="x")
    assert topic.status == 422 and "topic" in str(topic.body["error"]["details"])
    switched = invoke("SystemFunction", "system_put_data_mode", token=token_for("admin"), body={"mode": "LIVE"})
    assert switched.status == 200
    forget_local_copy()
    live = simulate("admin", scenario="crisis")
    assert live.status == 409
    assert db.execute("SELECT count(*) AS n FROM mentions").fetchone()["n"] == 0
