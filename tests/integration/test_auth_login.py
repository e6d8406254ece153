"""Logging in through the real handler: tokens, one answer for every wrong credential, lockout, deactivated accounts."""

from __future__ import annotations

import hashlib

import jwt
import pytest

from tests.conftest import TEST_JWT_SECRET
from tests.integration.auth_support import (
    AUTH,
    PASSWORD,
    assert_no_secrets,
    audit_rows,
    count,
    create_account,
)


def _login(invoke, email: str, password: str = PASSWORD):
    return invoke(AUTH, "auth_login", body={"email": email, "password": password})


def test_login_answers_a_token_pair_and_opens_a_session(invoke, db):
    # GIVEN an account
    account = create_account(db, role="manager")
    # WHEN its owner logs in (the email in another case)
    answer = _login(invoke, account.email.upper())
    # THEN the answer has both tokens, their type and life, and the user without any secret
    assert answer.status == 200
    body = answer.body
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in", "user", "mfa_enrolment_required"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert body["user"]["id"] == account.id and body["user"]["role"] == "manager"
    assert body["user"]["mfa_enabled"] is False
    assert_no_secrets(answer, PASSWORD)
    # AND the access token lives 15 minutes and names the new session
    claims = jwt.decode(body["access_token"], TEST_JWT_SECRET, algorithms=["HS256"], audience="warroom-api")
    assert claims["exp"] - claims["iat"] == pytest.approx(900, abs=1)
    session = db.execute("SELECT * FROM user_sessions WHERE user_id = %s", (account.id,)).fetchone()
    assert claims["sid"] == str(session["id"])
    assert session["user_agent"] == "Mozilla/5.0 (war room dashboard)"
    assert str(session["ip_address"]) == "203.0.113.7"
    assert (session["expires_at"] - session["created_at"]).days == 7
    # AND the refresh token (256 bits) is stored only as its SHA-256
    assert len(body["refresh_token"]) >= 43
    stored = db.execute("SELECT token_hash FROM refresh_tokens WHERE session_id = %s", (session["id"],)).fetchone()
    assert stored["token_hash"] == hashlib.sha256(body["refresh_token"].encode()).hexdigest()
    assert count(db, "SELECT 1 FROM refresh_tokens WHERE token_hash = %s", body["refresh_token"]) == 0
    # AND the login is audited with the user, IP and user agent, and stamped on the user
    [audit] = audit_rows(db, "auth.login")
    assert str(audit["user_id"]) == account.id
    assert str(audit["ip_address"]) == "203.0.113.7" and audit["user_agent"].startswith("Mozilla")
    assert db.execute("SELECT last_login_at FROM users WHERE id = %s", (account.id,)).fetchone()["last_login_at"]
    # AND the token works on a protected route
    assert invoke(AUTH, "auth_get_me", token=body["access_token"]).body["email"] == account.email


def test_wrong_password_and_unknown_email_get_the_same_401_and_change_nothing(invoke, db):
    # GIVEN an account
    account = create_account(db)
    # WHEN someone tries a wrong password, and an email nobody has
    wrong = _login(invoke, account.email, "not the password at all")
    unknown = _login(invoke, "nobody-here@campaign.example.org", PASSWORD)
    # THEN both get the same 401, saying nothing about which was wrong
    for answer in (wrong, unknown):
        assert answer.status == 401
        assert answer.error_code == "invalid_credentials"
        assert answer.body["error"]["message"] == "The email or password is incorrect."
    assert wrong.body == unknown.body
    # AND no session exists, and both failures are audited without the email or the password
    assert count(db, "SELECT 1 FROM user_sessions") == 0
    failures = audit_rows(db, "auth.login_failed")
    assert [str(row["user_id"]) if row["user_id"] else None for row in failures] == [account.id, None]
    assert [row["details"]["reason"] for row in failures] == ["wrong_password", "unknown_email"]
    for row in failures:
        assert "nobody-here" not in str(row["details"]) and account.email not in str(row["details"])
        assert "not the password" not in str(row["details"]) and PASSWORD not in str(row["details"])


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, 422),
        ({"email": "ana@campaign.example.org"}, 422),
        ({"email": "ana@campaign.example.org", "password": PASSWORD, "remember": True}, 422),
        ({"email": "ana@campaign.example.org", "password": "x" * 300}, 422),
        ("{not json", 400),
    ],
)
def test_malformed_login_bodies_get_4xx_and_never_echo_the_password(invoke, db, body, status):
    answer = invoke(AUTH, "auth_login", body=body)
    assert answer.status == status
    assert_no_secrets(answer, PASSWORD, "x" * 300)
    assert count(db, "SELECT 1 FROM user_sessions") == 0


def test_password_over_72_bytes_is_a_401_not_a_500(invoke, db):
    # GIVEN an account, and a password of 80 bytes (40 two-byte characters)
    account = create_account(db)
    # WHEN it is tried
    answer = _login(invoke, account.email, "é" * 40)
    # THEN it is simply wrong
    assert answer.status == 401
    assert answer.error_code == "invalid_credentials"


def test_five_failures_lock_the_account_with_retry_after_even_for_the_right_password(invoke, db):
    # GIVEN an account that gets five wrong passwords
    account = create_account(db)
    failures = [_login(invoke, account.email, f"wrong guess number {n}") for n in range(5)]
    assert [answer.status for answer in failures] == [401] * 5
    # WHEN a sixth wrong password, then the right one, are tried
    sixth = _login(invoke, account.email, "wrong guess number 6")
    right = _login(invoke, account.email, PASSWORD)
    # THEN both are refused with 429 and a Retry-After of up to 15 minutes
    for answer in (sixth, right):
        assert answer.status == 429
        assert answer.error_code == "too_many_attempts"
        assert 0 < int(answer.headers["retry-after"]) <= 900
        assert answer.body["error"]["details"]["scope"] == "account"
    # AND no session was opened, and the blocked attempts were not audited
    assert count(db, "SELECT 1 FROM user_sessions") == 0
    assert len(audit_rows(db, "auth.login_failed")) == 5


def test_a_successful_login_clears_the_accounts_failures(invoke, db):
    # GIVEN four failures, then a successful login (the fifth attempt of the window)
    account = create_account(db)
    for n in range(4):
        _login(invoke, account.email, f"wrong guess number {n}")
    assert _login(invoke, account.email).status == 200
    # WHEN another wrong password comes (the sixth attempt)
    again = _login(invoke, account.email, "wrong again")
    # THEN it is an ordinary failure, not a lock: the success started the count again
    assert again.status == 401


def test_five_failures_from_one_address_lock_that_address_for_every_account(invoke, db, monkeypatch):
    # GIVEN a per-address limit of 5 (20 by default: an office shares one NAT address)
    from warroom.core.config import reset_settings

    monkeypatch.setenv("WARROOM_LOGIN_MAX_FAILURES_PER_IP", "5")
    reset_settings()
    # AND five failures from 203.0.113.7, each on a different email (no account reaches its own limit)
    statuses = [_login(invoke, f"sprayed-{n}@campaign.example.org").status for n in range(5)]
    assert statuses == [401] * 5
    # WHEN that address tries a real account with its right password
    account = create_account(db)
    answer = _login(invoke, account.email)
    # THEN the address is locked out
    assert answer.status == 429
    assert answer.body["error"]["details"]["scope"] == "ip"
    assert int(answer.headers["retry-after"]) > 0
    assert count(db, "SELECT 1 FROM user_sessions") == 0


def test_with_redis_down_the_lockout_counts_failures_from_postgresql(invoke, db, monkeypatch):
    # GIVEN an account, and Redis unreachable
    from tests.conftest import _reset_containers

    account = create_account(db)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    _reset_containers()
    # WHEN five wrong passwords and then the right one are tried
    failures = [_login(invoke, account.email, f"wrong guess number {n}").status for n in range(5)]
    right = _login(invoke, account.email)
    # THEN the failures were counted from the audit trail: locked, with a Retry-After
    assert failures == [401] * 5
    assert right.status == 429
    assert 0 < int(right.headers["retry-after"]) <= 900
    assert count(db, "SELECT 1 FROM user_sessions") == 0


def test_a_deactivated_account_cannot_log_in(invoke, db):
    # GIVEN a deactivated account
    account = create_account(db, status="deactivated")
    # WHEN its owner logs in with the right password, and someone with a wrong one
    right = _login(invoke, account.email)
    wrong = _login(invoke, account.email, "not the password at all")
    # THEN the right password learns the account is deactivated; the wrong one learns nothing
    assert right.status == 403
    assert right.error_code == "account_deactivated"
    assert wrong.status == 401
    assert wrong.error_code == "invalid_credentials"
    assert count(db, "SELECT 1 FROM user_sessions") == 0
