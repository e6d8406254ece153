"""A session has an absolute lifetime (ASVS 5.0 7.3.2): refreshing extends it, never past its maximum age."""

from __future__ import annotations

import datetime as dt

from tests.integration.auth_support import AUTH, create_account, open_session_for

MAX_AGE = dt.timedelta(days=30)  # the default WARROOM_SESSION_MAX_AGE_S


def _refresh(invoke, refresh_token: str):
    return invoke(AUTH, "auth_refresh", body={"refresh_token": refresh_token})


def _age_session(db, session_id: str, age: dt.timedelta) -> None:
    db.execute("UPDATE user_sessions SET created_at = now() - %s WHERE id = %s", (age, session_id))


def test_a_refresh_near_the_maximum_age_extends_the_session_only_to_that_age(invoke, db):
    # GIVEN a session opened 29 days and 23 hours ago, refreshed daily ever since
    session = open_session_for(create_account(db, role="user"))
    _age_session(db, session.session_id, MAX_AGE - dt.timedelta(hours=1))
    # WHEN it is refreshed once more
    answer = _refresh(invoke, session.refresh_token)
    # THEN it lives on for the hour it has left, not for another 7 days
    assert answer.status == 200, answer.body
    row = db.execute("SELECT expires_at, created_at FROM user_sessions WHERE id = %s", (session.session_id,)).fetchone()
    assert row["expires_at"] <= row["created_at"] + MAX_AGE
    token = db.execute(
        "SELECT expires_at FROM refresh_tokens WHERE session_id = %s AND rotated_at IS NULL", (session.session_id,)
    ).fetchone()
    assert token["expires_at"] == row["expires_at"]


def test_a_session_past_its_maximum_age_cannot_be_refreshed(invoke, db):
    # GIVEN a session that was kept alive by refreshes for 31 days (its sliding expiry still in the future)
    session = open_session_for(create_account(db, role="user"))
    refreshed = _refresh(invoke, session.refresh_token)
    assert refreshed.status == 200
    _age_session(db, session.session_id, MAX_AGE + dt.timedelta(days=1))
    # WHEN its latest refresh token is used
    answer = _refresh(invoke, refreshed.body["refresh_token"])
    # THEN the user must sign in again
    assert answer.status == 401, answer.body
