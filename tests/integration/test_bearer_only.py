"""API keys serve integrations: they never administer, and never touch a person's sessions or profile."""

from __future__ import annotations

import hashlib
import secrets

import pytest

from tests.integration.auth_support import create_account, open_session_for


def _key_for(db, creator_id: str, role: str) -> str:
    """A key row as admin/api_keys writes it (also the pre-cap admin keys that may exist from before)."""
    prefix, secret = secrets.token_hex(4), secrets.token_urlsafe(32)
    key = f"wr_{prefix}_{secret}"
    db.execute(
        "INSERT INTO api_keys (name, prefix, key_hash, role, created_by) VALUES (%s, %s, %s, %s, %s)",
        (f"{role} key", prefix, hashlib.sha256(key.encode()).hexdigest(), role, creator_id),
    )
    return key


BEARER_ONLY = [
    (
        "AdminFunction",
        "admin_create_user",
        {"email": "made-by-key@example.org", "password": "sunlit-ferry-quartz-meadow-41", "role": "admin"},
    ),
    ("AdminFunction", "admin_list_api_keys", ...),
    ("AdminFunction", "admin_create_api_key", {"name": "k", "role": "readonly"}),
    ("AdminFunction", "admin_simulate", {"scenario": "crisis"}),
    ("SystemFunction", "system_put_data_mode", {"mode": "LIVE"}),
    ("SystemFunction", "system_put_setting", {"value": "Europe/Madrid"}),
    ("AuthFunction", "auth_list_sessions", ...),
    ("AuthFunction", "auth_patch_me", {"full_name": "Renamed By Key"}),
]


@pytest.mark.parametrize(("function", "event", "body"), BEARER_ONLY, ids=[case[1] for case in BEARER_ONLY])
def test_an_api_key_cannot_do_what_takes_a_signed_in_person(invoke, db, function, event, body):
    # GIVEN an admin, and an old admin-role key of theirs (made before keys were capped at manager)
    admin = create_account(db, role="admin")
    key = _key_for(db, admin.id, "admin")
    users_before = db.execute("SELECT count(*) AS n FROM users").fetchone()["n"]
    # WHEN the key is used for administration or the creator's own account
    answer = invoke(function, event, body=body, headers={"X-API-Key": key})
    # THEN it is refused and nothing changed
    assert answer.status == 403, answer.body
    assert answer.error_code in ("bearer_token_required", "forbidden")
    assert db.execute("SELECT count(*) AS n FROM users").fetchone()["n"] == users_before
    assert db.execute("SELECT full_name FROM users WHERE id = %s", (admin.id,)).fetchone()["full_name"] == "Ana López"


def test_an_old_admin_key_acts_as_a_manager_at_most(invoke, db):
    admin = create_account(db, role="admin")
    key = _key_for(db, admin.id, "admin")
    # a manager's read works, an admin's does not
    assert invoke("AuditFunction", "audit_list", headers={"X-API-Key": key}).status == 200
    listed = invoke("AdminFunction", "admin_list_users", headers={"X-API-Key": key})
    assert listed.status == 403 and listed.body["error"]["details"]["your_role"] == "manager"


def test_keys_cannot_be_made_admin_and_the_person_still_can(invoke, db):
    admin = create_account(db, role="admin")
    token = open_session_for(admin).access_token
    refused = invoke("AdminFunction", "admin_create_api_key", token=token, body={"name": "too strong", "role": "admin"})
    assert refused.status == 422
    made = invoke("AdminFunction", "admin_create_api_key", token=token, body={"name": "integration", "role": "manager"})
    assert made.status == 201
    assert invoke("AuthFunction", "auth_list_sessions", token=token).status == 200
