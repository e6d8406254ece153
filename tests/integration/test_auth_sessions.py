"""Own sessions (list, revoke one), permissions, token verification, and what every protected route asks."""

from __future__ import annotations

import datetime as dt
import uuid

import jwt
import pytest

from tests.conftest import TEST_JWT_SECRET
from tests.integration.auth_support import (
    AUTH,
    audit_rows,
    count,
    create_account,
    open_session_for,
)

PROTECTED_EVENTS = [
    "auth_logout",
    "auth_logout_all",
    "auth_get_me",
    "auth_patch_me",
    "auth_password_change",
    "auth_email_resend",
    "auth_list_sessions",
    "auth_revoke_session",
    "auth_mfa_setup",
    "auth_mfa_verify",
    "auth_mfa_disable",
    "auth_permissions",
    "auth_token_verify",
]


def test_sessions_list_flags_the_current_one_and_pages(invoke, db):
    # GIVEN a user signed in on three devices, one session revoked, and another user's session
    account = create_account(db)
    sessions = [open_session_for(account, user_agent=f"device {n}") for n in range(3)]
    revoked = open_session_for(account)
    db.execute("UPDATE user_sessions SET revoked_at = now() WHERE id = %s", (revoked.session_id,))
    open_session_for(create_account(db))
    # WHEN they list their sessions two at a time
    first = invoke(AUTH, "auth_list_sessions", token=sessions[1].access_token, query={"limit": ["2"]})
    second = invoke(
        AUTH,
        "auth_list_sessions",
        token=sessions[1].access_token,
        query={"limit": ["2"], "cursor": [first.body["next_cursor"]]},
    )
    # THEN they see their three live sessions, newest first, with this one flagged
    assert first.status == 200 and second.status == 200
    items = first.body["items"] + second.body["items"]
    assert [item["id"] for item in items] == [s.session_id for s in reversed(sessions)]
    assert [item["current"] for item in items] == [False, True, False]
    assert items[0]["user_agent"] == "device 2" and items[0]["ip_address"] == "198.51.100.9"
    assert second.body["next_cursor"] is None
    assert set(items[0]) == {"id", "user_agent", "ip_address", "created_at", "last_used_at", "expires_at", "current"}


def test_a_bad_cursor_is_a_422_naming_it(invoke, db):
    session = open_session_for(create_account(db))
    for cursor in ("not-a-cursor", "eyJ0IjogIm5vdC1hLXRpbWUiLCAiaWQiOiAieCJ9"):
        answer = invoke(AUTH, "auth_list_sessions", token=session.access_token, query={"cursor": [cursor]})
        assert answer.status == 422 and answer.body["error"]["details"][0]["loc"] == ["query", "cursor"]


def test_revoking_one_of_my_sessions_signs_that_device_out(invoke, db):
    # GIVEN a user on two devices
    account = create_account(db)
    this, other = open_session_for(account), open_session_for(account)
    # WHEN they revoke the other one
    answer = invoke(AUTH, "auth_revoke_session", token=this.access_token, path_parameters={"id": other.session_id})
    # THEN that device's tokens stop working at once, this one's do not
    assert answer.status == 204
    assert invoke(AUTH, "auth_get_me", token=other.access_token).status == 401
    assert invoke(AUTH, "auth_refresh", body={"refresh_token": other.refresh_token}).status == 401
    assert invoke(AUTH, "auth_get_me", token=this.access_token).status == 200
    [audit] = audit_rows(db, "auth.session_revoked")
    assert audit["resource_id"] == other.session_id and str(audit["user_id"]) == account.id
    # AND revoking it again is a 404
    again = invoke(AUTH, "auth_revoke_session", token=this.access_token, path_parameters={"id": other.session_id})
    assert again.status == 404


@pytest.mark.parametrize("which", ["foreign", "unknown", "not-a-uuid"])
def test_revoking_a_session_that_is_not_mine_is_a_404_and_changes_nothing(invoke, db, which):
    # GIVEN a user and someone else's session
    mine = open_session_for(create_account(db))
    theirs = open_session_for(create_account(db))
    session_id = {"foreign": theirs.session_id, "unknown": str(uuid.uuid4()), "not-a-uuid": "drop table"}[which]
    # WHEN the user tries to revoke it
    answer = invoke(AUTH, "auth_revoke_session", token=mine.access_token, path_parameters={"id": session_id})
    # THEN 404, and every session is still live
    assert answer.status == 404
    assert answer.error_code == "not_found"
    assert count(db, "SELECT 1 FROM user_sessions WHERE revoked_at IS NULL") == 2
    assert invoke(AUTH, "auth_get_me", token=theirs.access_token).status == 200


@pytest.mark.parametrize(
    ("role", "flags"),
    [
        ("readonly", (True, False, False, False)),
        ("user", (True, True, False, False)),
        ("manager", (True, True, True, False)),
        ("admin", (True, True, True, True)),
    ],
)
def test_permissions_follow_the_role_ladder(invoke, token_for, role, flags):
    answer = invoke(AUTH, "auth_permissions", token=token_for(role))
    assert answer.status == 200
    assert answer.body["role"] == role
    assert answer.body["roles"] == ["readonly", "user", "manager", "admin"]
    assert answer.body["granted_roles"] == answer.body["roles"][: answer.body["roles"].index(role) + 1]
    body = answer.body
    assert (body["can_read"], body["can_write"], body["can_manage"], body["can_administer"]) == flags
    assert body["can_change_data_mode"] is flags[3]


def test_token_verify_tells_valid_expired_revoked_and_garbage_apart(invoke, db):
    # GIVEN a caller, a valid token, an expired one and a logged-out one
    account = create_account(db, role="manager")
    caller = open_session_for(create_account(db))
    valid = open_session_for(account)
    now = dt.datetime.now(dt.UTC)
    expired = jwt.encode(
        {
            "iss": "warroom",
            "aud": "warroom-api",
            "sub": account.id,
            "role": "manager",
            "jti": "expired-one",
            "iat": now - dt.timedelta(hours=1),
            "exp": now - dt.timedelta(minutes=30),
        },
        TEST_JWT_SECRET,
    )
    logged_out = open_session_for(account)
    invoke(AUTH, "auth_logout", token=logged_out.access_token)

    def check(token: str):
        return invoke(AUTH, "auth_token_verify", token=caller.access_token, body={"token": token}).body

    # THEN each is described as it is
    ok = check(valid.access_token)
    assert ok["valid"] is True and ok["sub"] == account.id and ok["role"] == "manager" and ok["exp"]
    assert check(expired) == {"valid": False, "sub": None, "role": None, "exp": None, "reason": "token_expired"}
    assert check(logged_out.access_token)["reason"] == "token_revoked"
    assert check("garbage")["reason"] == "token_invalid"


@pytest.mark.parametrize("event", PROTECTED_EVENTS)
def test_every_protected_route_needs_a_token_and_changes_nothing_without_one(invoke, db, event):
    # GIVEN a user with a live session
    account = create_account(db)
    open_session_for(account)
    # WHEN the route is called without a token
    answer = invoke(AUTH, event)
    # THEN 401 with WWW-Authenticate, and the session and user are as they were
    assert answer.status == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert count(db, "SELECT 1 FROM user_sessions WHERE revoked_at IS NULL") == 1
    assert count(db, "SELECT 1 FROM users WHERE mfa_secret IS NOT NULL OR full_name <> 'Ana López'") == 0


def test_openapi_documents_every_auth_route(invoke):
    answer = invoke("SystemFunction", "system_openapi")
    paths = answer.body["paths"]
    auth_operations = {
        (method.upper(), path) for path, item in paths.items() if path.startswith("/api/v1/auth/") for method in item
    }
    assert len(auth_operations) == 21  # 19 of identity + the two notification preferences
    assert {("GET", "/api/v1/auth/me/notifications"), ("PUT", "/api/v1/auth/me/notifications")} <= auth_operations
    assert "x-required-role" not in paths["/api/v1/auth/login"]["post"]
    assert paths["/api/v1/auth/me"]["get"]["x-required-role"] == "readonly"
