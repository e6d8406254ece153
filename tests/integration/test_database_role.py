"""The functions act as a role that owns no table: rows yes, schema and audit history no."""

from __future__ import annotations

import psycopg
import pytest

from warroom.core.db import connection


@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE audit_logs",
        "UPDATE audit_logs SET action = 'x'",
        "DELETE FROM audit_logs",
        "ALTER TABLE audit_logs DISABLE TRIGGER audit_logs_append_only",
        "DROP TABLE mentions",
        "CREATE TABLE sneaky (id int)",
        "SELECT * FROM schema_migrations",
    ],
)
def test_the_application_role_cannot_rewrite_history_or_the_schema(services, statement):
    # GIVEN a pooled connection, as every function gets one
    with pytest.raises(psycopg.errors.InsufficientPrivilege), connection() as conn:
        # THEN it acts as warroom_app, and the statement is refused
        assert conn.execute("SELECT current_user AS u").fetchone()["u"] == "warroom_app"
        conn.execute(statement)


def test_the_application_role_reads_writes_rows_and_appends_audit(services, db):
    from warroom.audit import record_audit

    with connection() as conn:
        conn.execute("INSERT INTO settings (key, value) VALUES ('probe', '1')")
        conn.execute("DELETE FROM settings WHERE key = 'probe'")
        record_audit(conn, "test.probe", "test", None, {"n": 1}, None)
    assert db.execute("SELECT count(*) AS n FROM audit_logs WHERE action = 'test.probe'").fetchone()["n"] == 1


def test_even_the_owner_truncates_the_audit_log_only_on_purpose(services, db):
    # GIVEN an audit entry and the owner's connection (the migrations' role)
    with connection() as conn:
        from warroom.audit import record_audit

        record_audit(conn, "test.keep", "test", None, None, None)
    # WHEN the owner truncates without saying so, it is refused and the entry stays
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute("TRUNCATE audit_logs")
    assert db.execute("SELECT count(*) AS n FROM audit_logs").fetchone()["n"] == 1
    # AND saying so (the test harness, a DBA) is what it takes
    db.execute("SET warroom.allow_audit_truncate = on")
    db.execute("TRUNCATE audit_logs")
    assert db.execute("SELECT count(*) AS n FROM audit_logs").fetchone()["n"] == 0
