"""Every pooled session is bounded: a stuck transaction elsewhere gets a 503 here, not a hang, and loses nothing."""

from __future__ import annotations

import psycopg

from tests.conftest import _reset_containers
from warroom.core.security import issue_access_token

AUDIT_CHAIN_LOCK = 0x41554454  # the audit chain's advisory lock (0005_governance.sql)
STRONG_PASSWORD = "sunlit-ferry-quartz-meadow-41"


def _create_user(invoke, token: str, email: str):
    return invoke(
        "AdminFunction",
        "admin_create_user",
        token=token,
        body={"email": email, "password": STRONG_PASSWORD, "role": "user"},
    )


def test_a_held_audit_lock_answers_503_after_the_lock_timeout_and_changes_nothing(
    invoke, db, make_user, services, monkeypatch
):
    # GIVEN short session timeouts and another transaction holding the audit chain's lock (a slow audited write)
    monkeypatch.setenv("WARROOM_DB_LOCK_TIMEOUT_MS", "200")
    _reset_containers()
    token = issue_access_token(make_user("admin"), "admin")
    holder = psycopg.connect(services.database_url)
    holder.execute("SELECT pg_advisory_xact_lock(%s)", (AUDIT_CHAIN_LOCK,))
    try:
        # WHEN an audited write comes in meanwhile
        answer = _create_user(invoke, token, "blocked@example.org")
        # THEN it gives up with a 503 in the error shape, and nothing of it was stored
        assert answer.status == 503, answer.body
        assert answer.error_code == "service_unavailable" and answer.headers.get("retry-after")
        assert db.execute("SELECT count(*) AS n FROM users WHERE email = 'blocked@example.org'").fetchone()["n"] == 0
    finally:
        holder.rollback()
        holder.close()
    # AND once the lock is released the same request goes through
    assert _create_user(invoke, token, "blocked@example.org").status == 201


def test_every_pooled_session_carries_the_timeouts(services, monkeypatch):
    monkeypatch.setenv("WARROOM_DB_STATEMENT_TIMEOUT_MS", "1234")
    monkeypatch.setenv("WARROOM_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", "4321")
    _reset_containers()
    from warroom.core.db import connection

    with connection() as conn:
        row = conn.execute(
            "SELECT current_setting('statement_timeout') AS statement, current_setting('lock_timeout') AS lock,"
            " current_setting('idle_in_transaction_session_timeout') AS idle"
        ).fetchone()
    assert row == {"statement": "1234ms", "lock": "5s", "idle": "4321ms"}


def test_a_statement_over_the_timeout_is_a_503(services, monkeypatch):
    monkeypatch.setenv("WARROOM_DB_STATEMENT_TIMEOUT_MS", "100")
    _reset_containers()
    import pytest

    from warroom.core.db import connection
    from warroom.core.errors import DependencyUnavailable

    with pytest.raises(DependencyUnavailable) as raised, connection() as conn:
        conn.execute("SELECT pg_sleep(2)")
    assert raised.value.status_code == 503
