"""The audit log: its hash chain in PostgreSQL, and the audit function through its real handler."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import shutil
import threading
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from warroom.core.config import reset_settings

AUDIT = "AuditFunction"
GENESIS = "0" * 64


def _write(database_url: str, action: str, n: int = 1, **actor) -> None:
    """Append ``n`` entries through record_audit, each in its own transaction (as the functions do)."""
    from warroom.audit import record_audit

    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        for i in range(n):
            with conn.transaction():
                record_audit(conn, action, "thing", f"{action}-{i}", {"i": i, "note": "ünïcode ✓"}, actor)


def _chain(db) -> list[dict]:
    return db.execute("SELECT id, seq, prev_hash, hash FROM audit_logs ORDER BY seq").fetchall()


def _assert_linked(rows: list[dict]) -> None:
    assert [row["seq"] for row in rows] == list(range(1, len(rows) + 1))
    assert rows[0]["prev_hash"] == GENESIS
    for before, after in itertools.pairwise(rows):
        assert after["prev_hash"] == before["hash"]
    assert len({row["hash"] for row in rows}) == len(rows)


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch):
    def set_env(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        reset_settings()

    yield set_env
    monkeypatch.undo()
    reset_settings()


# ---------------------------------------------------------------- the chain itself


def test_entries_get_consecutive_seq_and_linked_hashes(services, db):
    # GIVEN entries written one after another (plus the row-level ones a user insert makes)
    _write(services.database_url, "test.sequential", 3)
    db.execute("INSERT INTO users (email, password_hash) VALUES ('chain@example.org', 'x')")

    # THEN they form one chain: seq 1..n, each linked to the one before, each hash its own
    rows = _chain(db)
    assert len(rows) == 4
    _assert_linked(rows)
    # AND each hash is sha256(prev_hash || content) as the database's function recomputes it
    recomputed = db.execute(
        "SELECT bool_and(hash = audit_row_hash(prev_hash, id, seq, user_id, action, resource_type, resource_id,"
        " details, ip_address, user_agent, timestamp)) AS ok FROM audit_logs"
    ).fetchone()
    assert recomputed["ok"] is True


def test_concurrent_writers_are_serialised_into_one_chain(services, db):
    # GIVEN eight writers appending 15 entries each at the same time
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            start.wait()
            _write(services.database_url, f"test.writer{n}", 15)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # THEN all 120 entries are in one unbroken chain, in the order they committed
    assert errors == []
    rows = _chain(db)
    assert len(rows) == 120
    _assert_linked(rows)


def test_callers_cannot_choose_seq_or_hashes(services, db):
    db.execute(
        "INSERT INTO audit_logs (action, resource_type, seq, prev_hash, hash) VALUES ('x', 'y', 999, %s, %s)",
        ("f" * 64, "e" * 64),
    )
    [row] = _chain(db)
    assert row["seq"] == 1 and row["prev_hash"] == GENESIS and row["hash"] != "e" * 64


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_logs SET action = 'nothing.happened'", "DELETE FROM audit_logs"],
)
def test_update_and_delete_are_refused(services, db, statement):
    # GIVEN some entries
    _write(services.database_url, "test.keep", 2)
    before = db.execute("SELECT * FROM audit_logs ORDER BY seq").fetchall()
    # WHEN someone tries to change or remove them THEN the database refuses
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        db.execute(statement)
    assert db.execute("SELECT * FROM audit_logs ORDER BY seq").fetchall() == before


def test_the_migration_back_fills_the_chain_over_existing_entries(services, tmp_path: Path):
    # GIVEN a database migrated up to just before the governance migration, with audit entries in it
    from warroom.core.migrate import apply_migrations, default_migrations_dir

    database = f"backfill_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(services.database_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {database}")
    url = services.database_url.rsplit("/", 1)[0] + f"/{database}"
    earlier = tmp_path / "migrations"
    earlier.mkdir()
    for path in sorted(default_migrations_dir().glob("*.sql")):
        if path.name < "0005":
            shutil.copy(path, earlier)
    try:
        apply_migrations(url, earlier)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO audit_logs (action, resource_type, timestamp)"
                " SELECT 'old.entry', 'thing', now() - make_interval(mins => g) FROM generate_series(1, 5) g"
            )
        # WHEN the governance migration is applied
        shutil.copy(default_migrations_dir() / "0005_governance.sql", earlier)
        assert "0005_governance.sql" in apply_migrations(url, earlier)
        # THEN the old entries form a chain in time order, and new entries continue it
        with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
            conn.execute("INSERT INTO audit_logs (action, resource_type) VALUES ('new.entry', 'thing')")
            rows = conn.execute(
                "SELECT seq, prev_hash, hash, timestamp, action FROM audit_logs ORDER BY seq"
            ).fetchall()
        _assert_linked(rows)
        assert [row["action"] for row in rows] == ["old.entry"] * 5 + ["new.entry"]
        assert [row["timestamp"] for row in rows[:5]] == sorted(row["timestamp"] for row in rows[:5])
    finally:
        with psycopg.connect(services.database_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


# ---------------------------------------------------------------- verify


def test_verify_says_ok_with_the_count_and_head(invoke, services, token_for, db):
    token = token_for("manager")  # (creating its user writes a row-level entry too)
    _write(services.database_url, "test.entry", 5)
    answer = invoke(AUDIT, "audit_verify", token=token)
    assert answer.status == 200
    last = _chain(db)[-1]
    assert answer.body == {
        "ok": True,
        "rows": 6,
        "head": {"seq": 6, "hash": last["hash"]},
        "first_bad": None,
        "anchor": None,
    }


def test_verify_of_an_empty_log_is_ok(invoke, token_for, db):
    # (the token's user insert writes no audit row; only what the routes and triggers write does)
    db.execute("SET warroom.allow_audit_truncate = on")
    db.execute("TRUNCATE audit_logs")
    answer = invoke(AUDIT, "audit_verify", token=token_for("admin"))
    assert answer.body["ok"] is True


def _tamper(database_url: str, sql: str, params: tuple = ()) -> None:
    """Change audit_logs behind the triggers' back, as a superuser could."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")  # user triggers do not fire in this session
        conn.execute(sql, params)


@pytest.mark.parametrize(
    ("tampering", "bad_seq", "reason", "written_as"),
    [
        ("UPDATE audit_logs SET details = '{\"i\": 99}' WHERE seq = 4", 4, "hash_mismatch", 4),
        ("UPDATE audit_logs SET user_agent = 'someone else' WHERE seq = 2", 2, "hash_mismatch", 2),
        ("UPDATE audit_logs SET timestamp = timestamp - interval '1 second' WHERE seq = 6", 6, "hash_mismatch", 6),
        ("DELETE FROM audit_logs WHERE seq = 3", 4, "sequence_gap", 4),
        ("DELETE FROM audit_logs WHERE seq = 1", 2, "sequence_gap", 2),
        # the edited row re-hashed to look consistent: the next row no longer links to it
        (
            "UPDATE audit_logs SET action = 'forged', hash = audit_row_hash(prev_hash, id, seq, user_id, 'forged',"
            " resource_type, resource_id, details, ip_address, user_agent, timestamp) WHERE seq = 5",
            6,
            "prev_hash_mismatch",
            6,
        ),
        # renumbered after a deletion to hide the gap: the links give it away (at the entry written as seq 4)
        (
            "DELETE FROM audit_logs WHERE seq = 3; UPDATE audit_logs SET seq = seq - 1 WHERE seq > 3",
            3,
            "prev_hash_mismatch",
            4,
        ),
    ],
)
def test_verify_finds_tampering_at_the_right_entry(
    invoke, services, token_for, db, tampering, bad_seq, reason, written_as
):
    # GIVEN a chain of eight entries written by the application
    _write(services.database_url, "test.entry", 8, ip_address="203.0.113.9", user_agent="curl/8")
    token = token_for("manager")
    assert invoke(AUDIT, "audit_verify", token=token).body["ok"] is True
    ids = {row["seq"]: str(row["id"]) for row in _chain(db)}

    # WHEN someone edits the table directly, with the append-only trigger out of the way
    for statement in tampering.split("; "):
        _tamper(services.database_url, statement)

    # THEN verify reports the first broken entry and why
    answer = invoke(AUDIT, "audit_verify", token=token)
    assert answer.status == 200
    assert answer.body["ok"] is False
    bad = answer.body["first_bad"]
    assert (bad["seq"], bad["reason"], bad["id"]) == (bad_seq, reason, ids[written_as])


def test_verify_walks_thousands_of_entries(invoke, services, token_for, db):
    # GIVEN 3000 entries (written in one statement: the trigger chains each row) after the manager's own
    token = token_for("manager")
    db.execute(
        "INSERT INTO audit_logs (action, resource_type, resource_id, details)"
        " SELECT 'bulk', 'thing', g::text, jsonb_build_object('g', g) FROM generate_series(1, 3000) g"
    )
    answer = invoke(AUDIT, "audit_verify", token=token)
    assert answer.body["ok"] is True
    assert answer.body["rows"] == 3001
    _tamper(services.database_url, "UPDATE audit_logs SET resource_id = 'x' WHERE seq = 2999")
    assert invoke(AUDIT, "audit_verify", token=token).body["first_bad"]["seq"] == 2999


# ---------------------------------------------------------------- list and get


def test_list_is_newest_first_filtered_and_paged(invoke, services, token_for, make_user, db):
    # GIVEN entries by two users at known times
    ana, ben = make_user("user"), make_user("user")
    _write(services.database_url, "doc.upload", 3, user_id=ana)
    _write(services.database_url, "doc.delete", 2, user_id=ben)
    token = token_for("manager")

    # WHEN a manager lists everything two at a time, and then by user, action and resource
    seen, cursor = [], None
    while True:
        query = {"limit": ["2"], **({"cursor": [cursor]} if cursor else {})}
        page = invoke(AUDIT, "audit_list", token=token, query=query)
        assert page.status == 200
        seen += [item["seq"] for item in page.body["items"]]
        cursor = page.body["next_cursor"]
        if not cursor:
            break
    by_user = invoke(AUDIT, "audit_list", token=token, query={"user_id": [ben]})
    by_action = invoke(AUDIT, "audit_list", token=token, query={"action": ["doc.upload"]})
    by_resource = invoke(
        AUDIT, "audit_list", token=token, query={"resource_type": ["thing"], "resource_id": ["doc.delete-1"]}
    )

    # THEN pages run newest first over every entry once, and each filter holds
    total = db.execute("SELECT count(*) AS n FROM audit_logs").fetchone()["n"]
    assert seen == list(range(total, 0, -1))
    assert {item["user_id"] for item in by_user.body["items"]} == {ben} and len(by_user.body["items"]) == 2
    assert [item["resource_id"] for item in by_action.body["items"]] == ["doc.upload-2", "doc.upload-1", "doc.upload-0"]
    [entry] = by_resource.body["items"]
    assert entry["details"] == {"i": 1, "note": "ünïcode ✓"}
    assert set(entry) == {
        "id",
        "seq",
        "timestamp",
        "user_id",
        "action",
        "resource_type",
        "resource_id",
        "details",
        "ip_address",
        "user_agent",
        "prev_hash",
        "hash",
    }


def test_list_filters_by_time(invoke, services, token_for, db):
    db.execute(
        "INSERT INTO audit_logs (action, resource_type, timestamp) VALUES"
        " ('t.old', 'x', '2026-01-01T10:00:00Z'), ('t.mid', 'x', '2026-01-02T10:00:00Z'),"
        " ('t.new', 'x', '2026-01-03T10:00:00Z')"
    )
    answer = invoke(
        AUDIT, "audit_list", token=token_for("manager"), query={"from": ["2026-01-02T00:00:00Z"], "to": ["2026-01-03"]}
    )
    assert [item["action"] for item in answer.body["items"]] == ["t.mid"]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"user_id": ["not-a-uuid"]}, 422),
        ({"from": ["yesterday"]}, 422),
        ({"limit": ["0"]}, 422),
        ({"cursor": ["%%%"]}, 422),
        ({"cursor": ["eyJ0IjoxfQ"]}, 422),  # a well-formed cursor of another list ({"t": 1})
    ],
)
def test_bad_list_queries_are_refused(invoke, token_for, query, status):
    assert invoke(AUDIT, "audit_list", token=token_for("manager"), query=query).status == status


def test_get_one_entry_and_unknown_ids(invoke, services, token_for, db):
    _write(services.database_url, "test.one")
    entry_id = str(_chain(db)[0]["id"])
    token = token_for("admin")
    answer = invoke(AUDIT, "audit_get_entry", token=token, path_parameters={"entry_id": entry_id})
    assert answer.status == 200
    assert (answer.body["id"], answer.body["seq"], answer.body["action"]) == (entry_id, 1, "test.one")
    for unknown in (str(uuid.uuid4()), "1; DROP TABLE audit_logs"):
        missing = invoke(AUDIT, "audit_get_entry", token=token, path_parameters={"entry_id": unknown})
        assert (missing.status, missing.error_code) == (404, "not_found")


@pytest.mark.parametrize("role", ["readonly", "user"])
@pytest.mark.parametrize("event", ["audit_list", "audit_get_entry", "audit_verify", "audit_export"])
def test_audit_routes_need_a_manager(invoke, token_for, db, role, event):
    token = token_for(role)
    before = db.execute("SELECT count(*) AS n FROM audit_logs").fetchone()["n"]
    answer = invoke(AUDIT, event, token=token)
    assert answer.status == 403
    assert answer.body["error"]["details"] == {"required_role": "manager", "your_role": role}
    assert invoke(AUDIT, event).status == 401
    assert db.execute("SELECT count(*) AS n FROM audit_logs").fetchone()["n"] == before


# ---------------------------------------------------------------- export


def test_export_csv_has_a_header_row_and_every_entry_oldest_first(invoke, services, token_for, make_user, db):
    # GIVEN a manager and some entries, one with a user agent that a spreadsheet would run as a formula
    manager = make_user("manager")
    from warroom.core.security import issue_access_token

    token = issue_access_token(manager, "manager")
    _write(services.database_url, "doc.upload", 3, user_agent='=HYPERLINK("http://evil")')
    expected = _chain(db)

    # WHEN they export as CSV
    answer = invoke(AUDIT, "audit_export", token=token, query={"format": ["csv"]})

    # THEN a CSV attachment with a header row and one row per entry, oldest first
    assert answer.status == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"].startswith('attachment; filename="audit-')
    rows = list(csv.DictReader(io.StringIO(answer.body)))
    assert list(rows[0]) == [
        "seq",
        "id",
        "timestamp",
        "user_id",
        "action",
        "resource_type",
        "resource_id",
        "ip_address",
        "user_agent",
        "details",
        "prev_hash",
        "hash",
    ]
    assert [(int(r["seq"]), r["id"], r["hash"]) for r in rows] == [
        (e["seq"], str(e["id"]), e["hash"]) for e in expected
    ]
    uploads = [r for r in rows if r["action"] == "doc.upload"]
    assert json.loads(uploads[0]["details"]) == {"i": 0, "note": "ünïcode ✓"}
    assert uploads[0]["user_agent"] == '\'=HYPERLINK("http://evil")'
    # AND the export itself is audited, by whom, with what
    exported = db.execute("SELECT * FROM audit_logs WHERE action = 'audit.export'").fetchone()
    assert str(exported["user_id"]) == manager
    assert exported["details"] == {
        "format": "csv",
        "filters": {},
        "rows": len(expected),
        "delivery": "inline",
        "bytes": len(answer.body.encode()),
    }


def test_export_json_with_filters(invoke, services, token_for, make_user, db):
    # GIVEN entries by two users
    ana = make_user("user")
    _write(services.database_url, "doc.upload", 2, user_id=ana)
    _write(services.database_url, "doc.delete", 2)

    # WHEN a manager exports Ana's entries as JSON
    answer = invoke(AUDIT, "audit_export", token=token_for("manager"), query={"format": ["json"], "user_id": [ana]})

    # THEN a JSON array of exactly those entries, oldest first, as the list shows them
    assert answer.status == 200
    assert answer.headers["content-type"] == "application/json"
    entries = answer.body
    assert [e["resource_id"] for e in entries] == ["doc.upload-0", "doc.upload-1"]
    assert entries[0]["details"] == {"i": 0, "note": "ünïcode ✓"}
    assert entries[0]["timestamp"].endswith("Z")
    assert answer.headers["x-export-rows"] == "2"
    exported = db.execute("SELECT details FROM audit_logs WHERE action = 'audit.export'").fetchone()["details"]
    assert exported["filters"] == {"user_id": ana} and exported["rows"] == 2


def test_a_large_export_is_handed_out_from_s3(invoke, services, token_for, settings_env, db):
    # GIVEN exports over 1 kB go through S3, and a few kB of entries
    settings_env(WARROOM_AUDIT_EXPORT_INLINE_MAX_BYTES="1000")
    token = token_for("manager")
    _write(services.database_url, "doc.upload", 20)

    # WHEN a manager exports them
    answer = invoke(AUDIT, "audit_export", token=token, query={"format": ["csv"]})

    # THEN 303 to a presigned URL (also in the body) that serves the whole CSV
    assert answer.status == 303
    assert answer.headers["location"] == answer.body["download_url"]
    assert (answer.body["rows"], answer.body["format"], answer.body["expires_in_s"]) == (21, "csv", 900)
    download = httpx.get(answer.body["download_url"])
    assert download.status_code == 200
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert [int(row["seq"]) for row in rows] == list(range(1, 22))
    exported = db.execute("SELECT details FROM audit_logs WHERE action = 'audit.export'").fetchone()["details"]
    assert exported["delivery"] == "s3" and exported["s3_key"].startswith("exports/audit/")


def test_an_export_over_the_row_cap_is_422(invoke, services, token_for, settings_env, db):
    settings_env(WARROOM_AUDIT_EXPORT_MAX_ROWS="3")
    token = token_for("manager")
    _write(services.database_url, "doc.upload", 4)
    before = db.execute("SELECT count(*) AS n FROM audit_logs").fetchone()["n"]
    answer = invoke(AUDIT, "audit_export", token=token, query={"format": ["json"]})
    assert answer.status == 422
    assert answer.error_code == "export_too_large"
    assert db.execute("SELECT count(*) AS n FROM audit_logs").fetchone()["n"] == before
    narrowed = invoke(AUDIT, "audit_export", token=token, query={"format": ["json"], "resource_id": ["doc.upload-1"]})
    assert narrowed.status == 200 and len(narrowed.body) == 1


def test_export_refuses_an_unknown_format(invoke, token_for):
    assert invoke(AUDIT, "audit_export", token=token_for("manager"), query={"format": ["xlsx"]}).status == 422


def test_timestamps_are_hashed_in_utc_whatever_the_session_time_zone(services, db):
    # GIVEN an entry written from a session in another time zone
    with psycopg.connect(services.database_url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'America/Bogota'")
        conn.execute(
            "INSERT INTO audit_logs (action, resource_type, timestamp) VALUES ('tz', 'x', %s)",
            (dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC),),
        )
    # THEN recomputing it from a UTC session gives the same hash
    ok = db.execute(
        "SELECT hash = audit_row_hash(prev_hash, id, seq, user_id, action, resource_type, resource_id, details,"
        " ip_address, user_agent, timestamp) AS ok FROM audit_logs"
    ).fetchone()["ok"]
    assert ok is True
