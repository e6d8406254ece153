"""The daily retention job through its real handler: old rows go, live ones stay, the run is audited as counts."""

from __future__ import annotations

from tests.conftest import load_event
from tests.integration.auth_support import create_account, open_session_for

RETENTION = "RetentionFunction"


def test_retention_prunes_what_is_past_its_age_and_audits_the_counts(services, db, lambda_runtime):
    # GIVEN a live session, one that ended 100 days ago and one that ended 10 days ago
    account = create_account(db, role="user")
    live = open_session_for(account)
    old = open_session_for(account)
    recent = open_session_for(account)
    db.execute("UPDATE user_sessions SET revoked_at = now() - interval '100 days' WHERE id = %s", (old.session_id,))
    db.execute("UPDATE user_sessions SET revoked_at = now() - interval '10 days' WHERE id = %s", (recent.session_id,))
    # AND a rotated refresh token of the live session that expired 40 days ago, and one expiring later
    db.execute(
        "INSERT INTO refresh_tokens (session_id, token_hash, expires_at, rotated_at)"
        " VALUES (%s, repeat('a', 64), now() - interval '40 days', now() - interval '47 days'),"
        "        (%s, repeat('b', 64), now() + interval '1 day', now())",
        (live.session_id, live.session_id),
    )
    # AND request timings from 31 days ago and from now, email tokens used long ago and fresh, a spent MFA token
    db.execute(
        "INSERT INTO performance_logs (service_name, endpoint, timestamp) VALUES"
        " ('auth', 'GET /x', now() - interval '31 days'), ('auth', 'GET /x', now())"
    )
    db.execute(
        "INSERT INTO email_tokens (user_id, purpose, token_hash, expires_at, used_at) VALUES"
        " (%s, 'verify_email', repeat('c', 64), now() - interval '40 days', now() - interval '41 days'),"
        " (%s, 'reset_password', repeat('d', 64), now() + interval '1 hour', NULL)",
        (account.id, account.id),
    )
    db.execute(
        "INSERT INTO spent_mfa_tokens (jti, user_id, expires_at) VALUES ('old', %s, now() - interval '1 minute'),"
        " ('fresh', %s, now() + interval '4 minutes')",
        (account.id, account.id),
    )
    # AND an upload announced two days ago whose file never came, and one announced an hour ago
    db.execute(
        "INSERT INTO documents (filename, file_path, status, created_at) VALUES"
        " ('never.pdf', 's3://b/documents/x/never.pdf', 'pending', now() - interval '2 days'),"
        " ('soon.pdf', 's3://b/documents/y/soon.pdf', 'pending', now() - interval '1 hour')"
    )
    # AND incoming webhook receipts: one processed 31 days ago, one as old but never processed, one of today
    db.execute(
        "INSERT INTO webhook_receipts (service, event_id, event_type, payload, status, received_at) VALUES"
        " ('meta', 'old', 'ad_account', '{}', 'processed', now() - interval '31 days'),"
        " ('meta', 'stuck', 'ad_account', '{}', 'received', now() - interval '31 days'),"
        " ('meta', 'new', 'ad_account', '{}', 'processed', now())"
    )
    audit_before = db.execute("SELECT count(*) AS n FROM audit_logs").fetchone()["n"]
    # WHEN the daily job runs
    counts = lambda_runtime.invoke(RETENTION, load_event("retention_schedule"))
    # THEN exactly the rows past their age are gone
    assert counts == {
        "performance_logs": 1,
        "user_sessions": 1,
        "refresh_tokens": 1,
        "email_tokens": 1,
        "spent_mfa_tokens": 1,
        "pending_documents": 1,
        "webhook_receipts": 1,
    }
    sessions = {str(r["id"]) for r in db.execute("SELECT id FROM user_sessions")}
    assert sessions == {live.session_id, recent.session_id}
    assert db.execute("SELECT count(*) AS n FROM performance_logs").fetchone()["n"] == 1
    assert [r["jti"] for r in db.execute("SELECT jti FROM spent_mfa_tokens")] == ["fresh"]
    assert {r["event_id"] for r in db.execute("SELECT event_id FROM webhook_receipts")} == {"stuck", "new"}
    # AND the run is one audit entry with the counts (no audit row per pruned row)
    entries = db.execute("SELECT action, details FROM audit_logs ORDER BY seq").fetchall()[audit_before:]
    # (documents keep their row-level audit trigger: the abandoned upload's row is recorded as it goes)
    assert [e["action"] for e in entries] == ["DELETE", "retention.prune"]
    assert entries[-1]["details"]["deleted"] == counts
    assert entries[-1]["details"]["ages_days"]["retention_sessions_days"] == 90


def test_retention_ages_are_settings(services, db, lambda_runtime, invoke, token_for):
    # GIVEN request timings 10 days old and the retention of timings set to 7 days by an admin
    db.execute(
        "INSERT INTO performance_logs (service_name, endpoint, timestamp) VALUES ('a', 'b', now() - interval '10 days')"
    )
    admin = token_for("admin")
    changed = invoke(
        "SystemFunction",
        "system_put_setting",
        token=admin,
        path_parameters={"key": "retention_performance_logs_days"},
        body={"value": 7},
    )
    assert changed.status == 200, changed.body
    bad = invoke(
        "SystemFunction",
        "system_put_setting",
        token=admin,
        path_parameters={"key": "retention_performance_logs_days"},
        body={"value": 0},
    )
    assert bad.status == 422
    # WHEN the job runs
    counts = lambda_runtime.invoke(RETENTION, load_event("retention_schedule"))
    # THEN the 10-day-old timings went
    assert counts["performance_logs"] == 1
