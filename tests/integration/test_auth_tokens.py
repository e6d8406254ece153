"""Refresh-token rotation with reuse detection, logout and logout-all, through the real handler."""

from __future__ import annotations

import pytest

from tests.integration.auth_support import (
    AUTH,
    assert_no_secrets,
    audit_rows,
    count,
    create_account,
    open_session_for,
)


def _refresh(invoke, refresh_token: str):
    return invoke(AUTH, "auth_refresh", body={"refresh_token": refresh_token})


def test_refresh_rotates_the_token_and_answers_like_login(invoke, db):
    # GIVEN a signed-in session
    account = create_account(db, role="user")
    session = open_session_for(account)
    # WHEN its refresh token is used
    answer = _refresh(invoke, session.refresh_token)
    # THEN a new pair comes back, for the same session
    assert answer.status == 200
    assert set(answer.body) == {
        "access_token",
        "refresh_token",
        "token_type",
        "expires_in",
        "user",
        "mfa_enrolment_required",
    }
    assert answer.body["refresh_token"] != session.refresh_token
    assert answer.body["user"]["id"] == account.id
    assert_no_secrets(answer, session.refresh_token)
    me = invoke(AUTH, "auth_get_me", token=answer.body["access_token"])
    assert me.status == 200
    # AND the old token is marked rotated and points at its successor, in the same session
    tokens = db.execute(
        "SELECT id, rotated_at, replaced_by, session_id FROM refresh_tokens ORDER BY created_at"
    ).fetchall()
    assert len(tokens) == 2
    assert tokens[0]["rotated_at"] is not None and tokens[0]["replaced_by"] == tokens[1]["id"]
    assert tokens[1]["rotated_at"] is None
    assert {str(t["session_id"]) for t in tokens} == {session.session_id}


def test_replaying_a_rotated_token_revokes_the_whole_family(invoke, db):
    # GIVEN a session refreshed twice
    account = create_account(db)
    session = open_session_for(account)
    first = session.refresh_token
    second = _refresh(invoke, first).body
    third = _refresh(invoke, second["refresh_token"]).body
    # WHEN the first (long rotated) token is presented again
    replay = _refresh(invoke, first)
    # THEN it is refused, and so is the latest token of the family, and the session's access tokens
    assert replay.status == 401
    assert replay.error_code == "invalid_refresh_token"
    assert replay.body["error"]["details"] == {"reason": "refresh_token_reused"}
    latest = _refresh(invoke, third["refresh_token"])
    assert latest.status == 401
    assert latest.body["error"]["details"] == {"reason": "refresh_token_revoked"}
    assert invoke(AUTH, "auth_get_me", token=third["access_token"]).status == 401
    # AND the session is revoked for token reuse, and the reuse is audited
    row = db.execute("SELECT revoked_at, revoked_reason FROM user_sessions WHERE id = %s", (session.session_id,))
    revoked = row.fetchone()
    assert revoked["revoked_at"] is not None and revoked["revoked_reason"] == "token_reuse"
    [audit] = audit_rows(db, "auth.token_reuse")
    assert str(audit["user_id"]) == account.id
    assert audit["resource_id"] == session.session_id
    assert str(audit["ip_address"]) == "203.0.113.7"


def test_another_session_of_the_same_user_survives_a_reuse(invoke, db):
    # GIVEN two sessions, one of which has its token replayed
    account = create_account(db)
    stolen, other = open_session_for(account), open_session_for(account)
    _refresh(invoke, stolen.refresh_token)
    _refresh(invoke, stolen.refresh_token)
    # WHEN the other session refreshes
    answer = _refresh(invoke, other.refresh_token)
    # THEN it still works
    assert answer.status == 200


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("UPDATE refresh_tokens SET expires_at = now() - interval '1 second'", "refresh_token_expired"),
        ("UPDATE user_sessions SET expires_at = now() - interval '1 second'", "refresh_token_expired"),
        ("UPDATE user_sessions SET revoked_at = now(), revoked_reason = 'logout'", "refresh_token_revoked"),
    ],
)
def test_expired_or_revoked_refresh_tokens_get_401_and_change_nothing(invoke, db, setup, reason):
    # GIVEN a session whose token or session has expired, or was revoked
    account = create_account(db)
    session = open_session_for(account)
    db.execute(setup)
    # WHEN the token is used
    answer = _refresh(invoke, session.refresh_token)
    # THEN 401, and no token was rotated or added
    assert answer.status == 401
    assert answer.body["error"]["details"] == {"reason": reason}
    assert count(db, "SELECT 1 FROM refresh_tokens") == 1
    assert count(db, "SELECT 1 FROM refresh_tokens WHERE rotated_at IS NOT NULL") == 0


@pytest.mark.parametrize(
    ("token", "status"),
    [
        ("a-token-nobody-ever-issued-0123456789abcdefghijk", 401),
        ("short", 422),
        ("../../etc/passwd-but-long-enough", 422),
        ("é" * 30, 422),
    ],
)
def test_unknown_or_malformed_refresh_tokens_are_refused(invoke, db, token, status):
    account = create_account(db)
    open_session_for(account)
    answer = _refresh(invoke, token)
    assert answer.status == status
    assert count(db, "SELECT 1 FROM refresh_tokens") == 1


def test_a_refresh_token_is_not_an_access_token_and_vice_versa(invoke, db):
    # GIVEN a session
    account = create_account(db)
    session = open_session_for(account)
    # WHEN each token is used where the other belongs
    as_bearer = invoke(AUTH, "auth_get_me", token=session.refresh_token)
    as_refresh = _refresh(invoke, session.access_token)
    # THEN both are refused
    assert as_bearer.status == 401
    assert as_refresh.status == 401
    assert as_refresh.body["error"]["details"] == {"reason": "refresh_token_unknown"}


def test_refresh_of_a_deactivated_account_is_refused_and_its_session_ends(invoke, db):
    # GIVEN a session, then the account is deactivated
    account = create_account(db)
    session = open_session_for(account)
    db.execute("UPDATE users SET status = 'deactivated' WHERE id = %s", (account.id,))
    # WHEN the session refreshes
    answer = _refresh(invoke, session.refresh_token)
    # THEN it is refused as deactivated, and the session is over
    assert answer.status == 403
    assert answer.error_code == "account_deactivated"
    row = db.execute("SELECT revoked_reason FROM user_sessions WHERE id = %s", (session.session_id,)).fetchone()
    assert row["revoked_reason"] == "deactivated"


def test_logout_ends_the_session_and_its_tokens(invoke, db):
    # GIVEN a session that already refreshed once (so two of its access tokens are alive)
    account = create_account(db)
    session = open_session_for(account)
    refreshed = _refresh(invoke, session.refresh_token).body
    # WHEN the user logs out with the newest access token
    answer = invoke(AUTH, "auth_logout", token=refreshed["access_token"])
    # THEN 204, and neither access token nor the refresh token works any more
    assert answer.status == 204
    assert invoke(AUTH, "auth_get_me", token=refreshed["access_token"]).status == 401
    assert invoke(AUTH, "auth_get_me", token=session.access_token).status == 401
    assert _refresh(invoke, refreshed["refresh_token"]).status == 401
    # AND the session is revoked for logout, and the logout audited
    row = db.execute("SELECT revoked_reason FROM user_sessions WHERE id = %s", (session.session_id,)).fetchone()
    assert row["revoked_reason"] == "logout"
    [audit] = audit_rows(db, "auth.logout")
    assert str(audit["user_id"]) == account.id and audit["resource_id"] == session.session_id


def test_logout_leaves_the_users_other_sessions_alone(invoke, db):
    account = create_account(db)
    this, other = open_session_for(account), open_session_for(account)
    assert invoke(AUTH, "auth_logout", token=this.access_token).status == 204
    assert invoke(AUTH, "auth_get_me", token=other.access_token).status == 200
    assert _refresh(invoke, other.refresh_token).status == 200


def test_logout_all_ends_every_session_and_access_token(invoke, db):
    # GIVEN three sessions of one user and one of another
    account = create_account(db)
    sessions = [open_session_for(account) for _ in range(3)]
    bystander = open_session_for(create_account(db))
    # WHEN the user logs out everywhere
    answer = invoke(AUTH, "auth_logout_all", token=sessions[0].access_token)
    # THEN every session and token of theirs is dead, the other user's are not
    assert answer.status == 204
    for session in sessions:
        assert invoke(AUTH, "auth_get_me", token=session.access_token).status == 401
        assert _refresh(invoke, session.refresh_token).status == 401
    assert count(db, "SELECT 1 FROM user_sessions WHERE user_id = %s AND revoked_at IS NULL", account.id) == 0
    assert invoke(AUTH, "auth_get_me", token=bystander.access_token).status == 200
    [audit] = audit_rows(db, "auth.logout_all")
    assert audit["details"] == {"sessions_revoked": 3}


@pytest.mark.parametrize("event", ["auth_logout", "auth_logout_all"])
def test_logout_needs_a_token(invoke, db, event):
    answer = invoke(AUTH, event)
    assert answer.status == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
