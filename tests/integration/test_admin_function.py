"""The admin function through its real handler: users and API keys, their 4xx answers, and what they audit."""

from __future__ import annotations

import hashlib
import json
import threading
import time

import psycopg
import pytest
import redis

from warroom.core.security import issue_access_token

ADMIN = "AdminFunction"
SYSTEM = "SystemFunction"
STRONG_PASSWORD = "sunlit-ferry-quartz-meadow-41"
AUDIT_CHAIN_LOCK = 0x41554454  # the advisory lock of the audit chain's trigger (0005_governance.sql)


@pytest.fixture
def admin(make_user):
    """An admin user and their access token."""
    user_id = make_user("admin")
    return user_id, issue_access_token(user_id, "admin")


def _count(db, table: str, where: str = "TRUE", params: tuple = ()) -> int:
    return db.execute(f"SELECT count(*) AS n FROM {table} WHERE {where}", params).fetchone()["n"]


def _audit(db, action: str) -> list[dict]:
    return db.execute("SELECT * FROM audit_logs WHERE action = %s ORDER BY seq", (action,)).fetchall()


def _snapshot(db) -> dict:
    """What an admin route could change."""
    return {
        "users": db.execute("SELECT id, email, role, status, full_name FROM users ORDER BY id").fetchall(),
        "api_keys": db.execute("SELECT id, role, revoked_at FROM api_keys ORDER BY id").fetchall(),
        "sessions": db.execute("SELECT id, revoked_at FROM user_sessions ORDER BY id").fetchall(),
        "audit": _count(db, "audit_logs"),
    }


def _open_session(db, user_id: str) -> str:
    row = db.execute(
        "INSERT INTO user_sessions (user_id, expires_at) VALUES (%s, now() + interval '7 days') RETURNING id",
        (user_id,),
    ).fetchone()
    return str(row["id"])


# ---------------------------------------------------------------- users


def test_list_users_filters_and_pages_without_secrets(invoke, db, admin, make_user):
    # GIVEN an admin, two managers (one deactivated, one named Ana) and a user
    _, token = admin
    ana = make_user("manager", email="ana.lopez@campaign.org")
    db.execute("UPDATE users SET full_name = 'Ana López' WHERE id = %s", (ana,))
    gone = make_user("manager")
    db.execute("UPDATE users SET status = 'deactivated' WHERE id = %s", (gone,))
    make_user("user")

    # WHEN the admin lists managers, active users, a name search, and everyone two at a time
    managers = invoke(ADMIN, "admin_list_users", token=token, query={"role": ["manager"]})
    active = invoke(ADMIN, "admin_list_users", token=token, query={"status": ["active"]})
    by_name = invoke(ADMIN, "admin_list_users", token=token, query={"q": ["lópez"]})
    pages, cursor = [], None
    while True:
        query = {"limit": ["2"], **({"cursor": [cursor]} if cursor else {})}
        page = invoke(ADMIN, "admin_list_users", token=token, query=query)
        assert page.status == 200
        pages.append([item["id"] for item in page.body["items"]])
        cursor = page.body["next_cursor"]
        if not cursor:
            break

    # THEN each filter holds, the pages cover everyone once, and no answer carries a password hash
    assert {item["id"] for item in managers.body["items"]} == {ana, gone}
    assert all(item["status"] == "active" for item in active.body["items"]) and len(active.body["items"]) == 3
    assert [item["id"] for item in by_name.body["items"]] == [ana]
    assert [len(p) for p in pages] == [2, 2]
    assert len({i for p in pages for i in p}) == 4
    for answer in (managers, active, by_name):
        assert "password" not in json.dumps(answer.body)
        assert "not-a-real-hash" not in json.dumps(answer.body)


def test_list_users_refuses_bad_filters_and_cursors(invoke, admin):
    _, token = admin
    assert invoke(ADMIN, "admin_list_users", token=token, query={"role": ["superuser"]}).status == 422
    assert invoke(ADMIN, "admin_list_users", token=token, query={"limit": ["500"]}).status == 422
    assert invoke(ADMIN, "admin_list_users", token=token, query={"cursor": ["garbage!!"]}).status == 422


def test_admin_creates_a_user_who_can_sign_in(invoke, db, admin):
    # GIVEN an admin
    admin_id, token = admin

    # WHEN they create a manager
    answer = invoke(ADMIN, "admin_create_user", token=token)

    # THEN 201 with the user (no hash), stored with a bcrypt hash of the password
    assert answer.status == 201
    assert answer.body["email"] == "field.organiser@campaign.org"
    assert (answer.body["role"], answer.body["status"], answer.body["full_name"]) == (
        "user",
        "active",
        "Field Organiser",
    )
    assert "password" not in json.dumps(answer.body)
    from warroom.auth.passwords import verify_password

    stored = db.execute("SELECT password_hash FROM users WHERE id = %s", (answer.body["id"],)).fetchone()
    assert verify_password(STRONG_PASSWORD, stored["password_hash"])
    # AND it is audited with the actor, IP and user agent, and no audit row holds the hash
    [created] = _audit(db, "admin.user_create")
    assert str(created["user_id"]) == admin_id
    assert created["resource_id"] == answer.body["id"]
    assert str(created["ip_address"]) == "203.0.113.7"
    assert created["user_agent"] == "Mozilla/5.0 (war room dashboard)"
    assert created["details"]["role"] == "user"
    everything = json.dumps([row["details"] for row in db.execute("SELECT details FROM audit_logs").fetchall()])
    assert stored["password_hash"] not in everything and STRONG_PASSWORD not in everything


def test_duplicate_email_in_any_case_is_409_and_changes_nothing(invoke, db, admin, make_user):
    _, token = admin
    make_user("user", email="field.organiser@campaign.org")
    before = _snapshot(db)
    body = {"email": "Field.Organiser@Campaign.org", "password": STRONG_PASSWORD, "role": "user"}

    answer = invoke(ADMIN, "admin_create_user", token=token, body=body)

    assert answer.status == 409
    assert answer.error_code == "email_taken"
    assert _snapshot(db) == before


@pytest.mark.parametrize(
    ("password", "kind"),
    [
        ("short-1A!", "password_too_short"),
        ("password1234", "password_too_weak"),
        ("Field.Organiser1", "password_too_weak"),  # the user's own email, barely disguised
        ("é" * 40, "password_too_long"),  # 40 characters, 80 bytes: more than bcrypt reads
    ],
)
def test_weak_or_overlong_passwords_are_422_and_change_nothing(invoke, db, admin, password, kind):
    _, token = admin
    before = _snapshot(db)
    body = {"email": "field.organiser@campaign.org", "password": password, "role": "user"}

    answer = invoke(ADMIN, "admin_create_user", token=token, body=body)

    assert answer.status == 422
    assert [detail["type"] for detail in answer.body["error"]["details"]] == [kind]
    assert password not in json.dumps(answer.body)
    assert _snapshot(db) == before


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email", "password": STRONG_PASSWORD, "role": "user"},
        {"email": "a@campaign.org", "password": STRONG_PASSWORD, "role": "superuser"},
        {"email": "a@campaign.org", "password": STRONG_PASSWORD},
        {"email": "a@campaign.org", "password": STRONG_PASSWORD, "role": "user", "is_admin": True},
    ],
)
def test_invalid_user_bodies_are_422(invoke, db, admin, body):
    _, token = admin
    before = _snapshot(db)
    answer = invoke(ADMIN, "admin_create_user", token=token, body=body)
    assert answer.status == 422
    assert _snapshot(db) == before


def test_role_change_is_audited_and_ends_the_old_token(invoke, db, admin, make_user, services):
    # GIVEN a user with a valid token
    admin_id, token = admin
    user_id = make_user("user")
    old_token = issue_access_token(user_id, "user")
    assert invoke(SYSTEM, "system_list_settings", token=old_token).status == 200

    # WHEN the admin makes them a manager and renames them
    answer = invoke(
        ADMIN,
        "admin_update_user",
        token=token,
        body={"role": "manager", "full_name": "Deputy Lead"},
        path_parameters={"user_id": user_id},
    )

    # THEN the answer and the table say so, with old and new values in the audit
    assert answer.status == 200
    assert (answer.body["role"], answer.body["full_name"]) == ("manager", "Deputy Lead")
    assert db.execute("SELECT role FROM users WHERE id = %s", (user_id,)).fetchone()["role"] == "manager"
    [update] = _audit(db, "admin.user_update")
    assert str(update["user_id"]) == admin_id and update["resource_id"] == user_id
    assert update["details"]["changes"] == {
        "role": {"old": "user", "new": "manager"},
        "full_name": {"old": None, "new": "Deputy Lead"},
    }
    # AND the token that still says "user" is refused, so the old role does not live on
    assert invoke(SYSTEM, "system_list_settings", token=old_token).status == 401
    assert redis.Redis.from_url(services.redis_url).exists(f"auth:revoked_before:{user_id}")


def test_a_change_to_the_same_values_writes_nothing(invoke, db, admin, make_user):
    _, token = admin
    user_id = make_user("user")
    before = _snapshot(db)
    answer = invoke(
        ADMIN, "admin_update_user", token=token, body={"role": "user"}, path_parameters={"user_id": user_id}
    )
    assert answer.status == 200
    assert _snapshot(db) == before


@pytest.mark.parametrize(
    ("user_id", "body", "status"),
    [
        ("5f0c2a1e-0000-4000-8000-00000000a404", {"role": "manager"}, 404),  # a fixed id: xdist workers agree
        ("not-a-uuid", {"role": "manager"}, 404),
        ("EXISTING", {}, 422),
        ("EXISTING", {"role": "owner"}, 422),
        ("EXISTING", {"status": "suspended"}, 422),
        ("EXISTING", {"password_hash": "x"}, 422),
    ],
)
def test_bad_updates_get_4xx_and_change_nothing(invoke, db, admin, make_user, user_id, body, status):
    _, token = admin
    existing = make_user("user")
    before = _snapshot(db)
    target = existing if user_id == "EXISTING" else user_id
    answer = invoke(ADMIN, "admin_update_user", token=token, body=body, path_parameters={"user_id": target})
    assert answer.status == status
    assert _snapshot(db) == before


def test_deactivation_revokes_sessions_and_tokens_and_keeps_history(invoke, db, admin, make_user):
    # GIVEN a manager with two sessions, a valid token and some history
    admin_id, token = admin
    user_id = make_user("manager")
    sessions = [_open_session(db, user_id), _open_session(db, user_id)]
    user_token = issue_access_token(user_id, "manager")
    history_before = _count(db, "audit_logs", "resource_id = %s", (user_id,))

    # WHEN the admin deactivates them
    answer = invoke(ADMIN, "admin_deactivate_user", token=token, path_parameters={"user_id": user_id})

    # THEN 204; the user is kept but deactivated, every session revoked, the token refused
    assert answer.status == 204
    assert answer.body == ""
    assert db.execute("SELECT status FROM users WHERE id = %s", (user_id,)).fetchone()["status"] == "deactivated"
    revoked = db.execute("SELECT revoked_reason FROM user_sessions WHERE id = ANY(%s)", (sessions,)).fetchall()
    assert [row["revoked_reason"] for row in revoked] == ["deactivated", "deactivated"]
    assert invoke(SYSTEM, "system_list_settings", token=user_token).status == 401
    # AND it is audited, and the user's earlier history is all still there
    [deactivation] = _audit(db, "admin.user_deactivate")
    assert str(deactivation["user_id"]) == admin_id
    assert deactivation["details"]["sessions_revoked"] == 2
    assert _count(db, "audit_logs", "resource_id = %s", (user_id,)) > history_before

    # WHEN it is sent again THEN it is still 204 and writes nothing more
    before = _snapshot(db)
    again = invoke(ADMIN, "admin_deactivate_user", token=token, path_parameters={"user_id": user_id})
    assert again.status == 204
    assert _snapshot(db) == before


@pytest.mark.parametrize("user_id", ["5f0c2a1e-0000-4000-8000-00000000b404", "42"])
def test_deactivating_an_unknown_user_is_404(invoke, db, admin, user_id):
    _, token = admin
    before = _snapshot(db)
    answer = invoke(ADMIN, "admin_deactivate_user", token=token, path_parameters={"user_id": user_id})
    assert answer.status == 404
    assert answer.error_code == "not_found"
    assert _snapshot(db) == before


def test_the_last_active_admin_can_be_neither_demoted_nor_deactivated(invoke, db, admin, make_user):
    # GIVEN the only active admin (another admin exists but is deactivated)
    admin_id, token = admin
    retired = make_user("admin")
    db.execute("UPDATE users SET status = 'deactivated' WHERE id = %s", (retired,))
    before = _snapshot(db)

    # WHEN they try to demote or deactivate themselves
    attempts = [
        invoke(
            ADMIN, "admin_update_user", token=token, body={"role": "manager"}, path_parameters={"user_id": admin_id}
        ),
        invoke(
            ADMIN,
            "admin_update_user",
            token=token,
            body={"status": "deactivated"},
            path_parameters={"user_id": admin_id},
        ),
        invoke(ADMIN, "admin_deactivate_user", token=token, path_parameters={"user_id": admin_id}),
    ]

    # THEN each is a 409 and nothing changed
    assert [(a.status, a.error_code) for a in attempts] == [(409, "last_admin")] * 3
    assert _snapshot(db) == before


def test_two_admins_demoting_each_other_at_once_leave_one_admin(invoke, db, make_user, services):
    # GIVEN two admins, and the audit chain's lock held by the test so that both demotions are in flight at once
    # (each waits either for that lock, after its own checks, or for the other's row locks)
    first, second = make_user("admin"), make_user("admin")
    tokens = {first: issue_access_token(first, "admin"), second: issue_access_token(second, "admin")}
    results: dict[str, int] = {}

    def demote(actor: str, target: str) -> None:
        answer = invoke(
            ADMIN, "admin_update_user", token=tokens[actor], body={"role": "user"}, path_parameters={"user_id": target}
        )
        results[actor] = answer.status

    with psycopg.connect(services.database_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (AUDIT_CHAIN_LOCK,))
        # WHEN both send their demotion concurrently
        threads = [threading.Thread(target=demote, args=pair) for pair in [(first, second), (second, first)]]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while _count(db, "pg_stat_activity", "datname = current_database() AND wait_event_type = 'Lock'") < 2:
            assert time.monotonic() < deadline, "the two demotions never got to wait"
            time.sleep(0.02)
        holder.execute("SELECT pg_advisory_unlock(%s)", (AUDIT_CHAIN_LOCK,))
        for thread in threads:
            thread.join()

    # THEN exactly one succeeded and one admin is left
    assert sorted(results.values()) == [200, 409]
    assert _count(db, "users", "role = 'admin' AND status = 'active'") == 1


@pytest.mark.parametrize("role", ["readonly", "user", "manager"])
@pytest.mark.parametrize(
    ("event", "kwargs"),
    [
        ("admin_list_users", {}),
        ("admin_create_user", {}),
        ("admin_update_user", {}),
        ("admin_deactivate_user", {}),
        ("admin_list_api_keys", {}),
        ("admin_create_api_key", {}),
        ("admin_revoke_api_key", {}),
    ],
)
def test_every_admin_route_needs_the_admin_role(invoke, db, token_for, role, event, kwargs):
    token = token_for(role)
    before = _snapshot(db)
    answer = invoke(ADMIN, event, token=token, **kwargs)
    assert answer.status == 403
    assert answer.body["error"]["details"] == {"required_role": "admin", "your_role": role}
    assert _snapshot(db) == before
    assert invoke(ADMIN, event, **kwargs).status == 401


# ---------------------------------------------------------------- API keys


def test_admin_creates_an_api_key_shown_once_and_stored_hashed(invoke, db, admin):
    # GIVEN an admin
    admin_id, token = admin

    # WHEN they create a readonly key
    answer = invoke(ADMIN, "admin_create_api_key", token=token)

    # THEN the key is answered once, in the documented format, with 256 bits of secret
    assert answer.status == 201
    key = answer.body["key"]
    prefix, secret = key.removeprefix("wr_").split("_", 1)
    assert prefix == answer.body["prefix"] and len(prefix) == 12
    assert len(secret) >= 43  # 32 random bytes, URL-safe base64
    assert (answer.body["role"], answer.body["status"], answer.body["created_by"]) == ("readonly", "active", admin_id)
    # AND only its SHA-256 is stored
    row = db.execute("SELECT * FROM api_keys WHERE id = %s", (answer.body["id"],)).fetchone()
    assert row["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert key not in json.dumps({k: str(v) for k, v in row.items()})
    # AND the list shows it by prefix, without the key or its hash
    listed = invoke(ADMIN, "admin_list_api_keys", token=token)
    assert [item["prefix"] for item in listed.body["items"]] == [prefix]
    assert "key" not in listed.body["items"][0] and row["key_hash"] not in json.dumps(listed.body)
    # AND the creation is audited without the key or its hash
    [created] = _audit(db, "admin.api_key_create")
    assert created["details"] == {"name": "BI nightly export", "role": "readonly", "prefix": prefix, "expires_at": None}
    everything = json.dumps([r["details"] for r in db.execute("SELECT details FROM audit_logs").fetchall()])
    assert key not in everything and row["key_hash"] not in everything and secret not in everything


def test_api_key_list_pages(invoke, admin):
    _, token = admin
    for name in ("one", "two", "three"):
        body = {"name": name, "role": "readonly"}
        assert invoke(ADMIN, "admin_create_api_key", token=token, body=body).status == 201
    first = invoke(ADMIN, "admin_list_api_keys", token=token, query={"limit": ["2"]})
    second = invoke(ADMIN, "admin_list_api_keys", token=token, query={"cursor": [first.body["next_cursor"]]})
    assert [item["name"] for item in first.body["items"] + second.body["items"]] == ["three", "two", "one"]
    assert second.body["next_cursor"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "role": "root"},
        {"name": "", "role": "readonly"},
        {"name": "x", "role": "readonly", "expires_at": "2020-01-01T00:00:00Z"},
        {"name": "x", "role": "readonly", "expires_at": "2099-01-01T00:00:00"},  # no offset: ambiguous
        {"name": "x", "role": "readonly", "key": "wr_chosen_by_me"},
    ],
)
def test_invalid_api_key_bodies_are_422(invoke, db, admin, body):
    _, token = admin
    before = _snapshot(db)
    answer = invoke(ADMIN, "admin_create_api_key", token=token, body=body)
    assert answer.status == 422
    assert _snapshot(db) == before


def test_a_key_cannot_outrank_its_creator(invoke, db, make_user):
    # GIVEN a token that still says admin for someone who is only a user now
    user_id = make_user("user")
    stale_admin_token = issue_access_token(user_id, "admin")
    before = _snapshot(db)

    # WHEN they ask for a manager key THEN 403 and nothing is stored
    answer = invoke(ADMIN, "admin_create_api_key", token=stale_admin_token, body={"name": "x", "role": "manager"})
    assert answer.status == 403
    assert answer.body["error"]["details"] == {"requested_role": "manager", "your_role": "user"}
    assert _snapshot(db) == before
    # AND a key at their real role is fine
    ok = invoke(ADMIN, "admin_create_api_key", token=stale_admin_token, body={"name": "x", "role": "user"})
    assert ok.status == 201


def test_revoking_a_key_stops_it_at_once_and_is_idempotent(invoke, db, admin):
    # GIVEN a key in use
    _, token = admin
    created = invoke(ADMIN, "admin_create_api_key", token=token).body
    headers = {"x-api-key": created["key"]}
    assert invoke(SYSTEM, "system_list_settings", headers=headers).status == 200

    # WHEN the admin revokes it
    answer = invoke(ADMIN, "admin_revoke_api_key", token=token, path_parameters={"key_id": created["id"]})

    # THEN 204, the key is refused, kept as revoked, and the revocation is audited
    assert answer.status == 204
    refused = invoke(SYSTEM, "system_list_settings", headers=headers)
    assert refused.status == 401
    assert refused.body["error"]["details"] == {"reason": "api_key_revoked"}
    listed = invoke(ADMIN, "admin_list_api_keys", token=token).body["items"]
    assert [(item["status"], item["revoked_at"] is not None) for item in listed] == [("revoked", True)]
    assert [row["resource_id"] for row in _audit(db, "admin.api_key_revoke")] == [created["id"]]
    # AND revoking again changes nothing
    before = _snapshot(db)
    assert invoke(ADMIN, "admin_revoke_api_key", token=token, path_parameters={"key_id": created["id"]}).status == 204
    assert _snapshot(db) == before


@pytest.mark.parametrize("key_id", ["5f0c2a1e-0000-4000-8000-00000000c404", "wr_not_an_id"])
def test_revoking_an_unknown_key_is_404(invoke, db, admin, key_id):
    _, token = admin
    before = _snapshot(db)
    answer = invoke(ADMIN, "admin_revoke_api_key", token=token, path_parameters={"key_id": key_id})
    assert answer.status == 404
    assert _snapshot(db) == before


def test_an_api_key_cannot_create_api_keys(invoke, db, admin):
    # GIVEN a manager key (the strongest a key can be)
    _, token = admin
    key = invoke(ADMIN, "admin_create_api_key", token=token, body={"name": "ops", "role": "manager"}).body["key"]
    before = _snapshot(db)
    # WHEN it is used to mint another key THEN 403, nothing stored
    answer = invoke(ADMIN, "admin_create_api_key", headers={"x-api-key": key}, body={"name": "x", "role": "readonly"})
    assert answer.status == 403
    assert answer.error_code == "bearer_token_required"
    assert _snapshot(db) == before
    # AND it may still do the work its role allows
    assert invoke("AuditFunction", "audit_list", headers={"x-api-key": key}).status == 200
