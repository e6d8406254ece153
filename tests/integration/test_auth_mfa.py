"""Two-factor sign-in with TOTP through the real handler: setup, enabling, the login step, disabling."""

from __future__ import annotations

import datetime as dt
import time

import jwt
import pyotp
import pytest

from tests.conftest import TEST_JWT_SECRET
from tests.integration.auth_support import (
    AUTH,
    PASSWORD,
    Account,
    assert_no_secrets,
    audit_rows,
    count,
    create_account,
    open_session_for,
)


def _with_mfa(db, account: Account) -> str:
    """Turn MFA on for ``account`` as setup + verify would; returns the TOTP secret."""
    from warroom.auth.totp import encrypt_secret

    secret = pyotp.random_base32(32)
    db.execute(
        "UPDATE users SET mfa_secret = %s, mfa_enabled_at = now() WHERE id = %s", (encrypt_secret(secret), account.id)
    )
    return secret


def _wrong(code: str) -> str:
    return f"{(int(code) + 500_000) % 1_000_000:06d}"


def _login(invoke, account: Account):
    return invoke(AUTH, "auth_login", body={"email": account.email, "password": account.password})


def test_setup_needs_the_password_and_stores_the_secret_encrypted_and_pending(invoke, db):
    # GIVEN a signed-in user
    account = create_account(db)
    session = open_session_for(account)
    # WHEN they start MFA setup with a wrong password, then with theirs
    wrong = invoke(AUTH, "auth_mfa_setup", token=session.access_token, body={"password": "not the password at all"})
    right = invoke(AUTH, "auth_mfa_setup", token=session.access_token, body={"password": PASSWORD})
    # THEN the wrong one is refused and stores nothing
    assert wrong.status == 422 and wrong.error_code == "invalid_password"
    # AND the right one answers the secret and an otpauth URI from "War Room", once
    assert right.status == 200
    secret = right.body["secret"]
    uri = right.body["otpauth_uri"]
    assert uri.startswith("otpauth://totp/") and "issuer=War%20Room" in uri and secret in uri
    assert pyotp.parse_uri(uri).secret == secret
    # AND the stored secret is encrypted, and MFA is not on yet
    row = db.execute("SELECT mfa_secret, mfa_enabled_at FROM users WHERE id = %s", (account.id,)).fetchone()
    assert row["mfa_secret"] and secret not in row["mfa_secret"]
    assert row["mfa_enabled_at"] is None
    me = invoke(AUTH, "auth_get_me", token=session.access_token)
    assert me.body["mfa_enabled"] is False
    assert_no_secrets(me, secret)


def test_verify_with_a_valid_code_turns_mfa_on_and_a_wrong_one_changes_nothing(invoke, db):
    # GIVEN a pending setup
    account = create_account(db)
    session = open_session_for(account)
    secret = invoke(AUTH, "auth_mfa_setup", token=session.access_token, body={"password": PASSWORD}).body["secret"]
    code = pyotp.TOTP(secret).now()
    # WHEN a wrong code, then the right one, are sent
    wrong = invoke(AUTH, "auth_mfa_verify", token=session.access_token, body={"code": _wrong(code)})
    assert (
        db.execute("SELECT mfa_enabled_at FROM users WHERE id = %s", (account.id,)).fetchone()["mfa_enabled_at"] is None
    )
    right = invoke(AUTH, "auth_mfa_verify", token=session.access_token, body={"code": code})
    # THEN the wrong one is a 422, the right one turns MFA on, and neither shows the secret
    assert wrong.status == 422 and wrong.error_code == "invalid_mfa_code"
    assert right.status == 200 and right.body["mfa_enabled"] is True
    assert_no_secrets(right, secret)
    assert db.execute("SELECT mfa_enabled_at FROM users WHERE id = %s", (account.id,)).fetchone()["mfa_enabled_at"]
    assert len(audit_rows(db, "auth.mfa_enabled")) == 1
    # AND setting up again is refused while it is on
    again = invoke(AUTH, "auth_mfa_setup", token=session.access_token, body={"password": PASSWORD})
    assert again.status == 409


def test_verify_before_setup_and_without_a_token_are_refused(invoke, db):
    account = create_account(db)
    session = open_session_for(account)
    assert invoke(AUTH, "auth_mfa_verify", token=session.access_token, body={"code": "123456"}).status == 409
    assert invoke(AUTH, "auth_mfa_verify", body={"code": "123456"}).status == 401


def test_login_with_mfa_needs_the_second_step(invoke, db):
    # GIVEN an account with MFA on
    account = create_account(db, role="user")
    secret = _with_mfa(db, account)
    # WHEN its owner logs in with the right password
    first = _login(invoke, account)
    # THEN no token comes back, only the challenge
    assert first.status == 200
    assert set(first.body) == {"mfa_required", "mfa_token", "expires_in"}
    assert first.body["mfa_required"] is True and first.body["expires_in"] == 300
    mfa_token = first.body["mfa_token"]
    assert count(db, "SELECT 1 FROM user_sessions") == 0
    # AND the MFA token is no access token
    assert invoke(AUTH, "auth_get_me", token=mfa_token).status == 401
    # WHEN a wrong code is sent, then the right one with the same MFA token
    code = pyotp.TOTP(secret).now()
    wrong = invoke(AUTH, "auth_mfa_login", body={"mfa_token": mfa_token, "code": _wrong(code)})
    sessions_after_wrong = count(db, "SELECT 1 FROM user_sessions")
    spent = invoke(AUTH, "auth_mfa_login", body={"mfa_token": mfa_token, "code": code})
    # THEN the wrong one is a 401 without a session, and it spent the token: one guess per password entry
    assert wrong.status == 401 and sessions_after_wrong == 0
    assert spent.status == 401 and spent.body["error"]["details"] == {"reason": "mfa_token_used"}
    # WHEN the password is given again and then the right code
    mfa_token = _login(invoke, account).body["mfa_token"]
    right = invoke(AUTH, "auth_mfa_login", body={"mfa_token": mfa_token, "code": code})
    # THEN it signs in like a login
    assert right.status == 200
    assert set(right.body) == {
        "access_token",
        "refresh_token",
        "token_type",
        "expires_in",
        "user",
        "mfa_enrolment_required",
    }
    assert right.body["user"]["mfa_enabled"] is True
    assert_no_secrets(right, secret)
    assert invoke(AUTH, "auth_get_me", token=right.body["access_token"]).status == 200
    [audit] = audit_rows(db, "auth.login")
    assert audit["details"]["mfa"] is True
    assert [row["details"]["reason"] for row in audit_rows(db, "auth.login_failed")] == ["wrong_mfa_code"]
    # AND the MFA token cannot be used a second time
    reused = invoke(AUTH, "auth_mfa_login", body={"mfa_token": mfa_token, "code": pyotp.TOTP(secret).now()})
    assert reused.status == 401
    assert reused.body["error"]["details"] == {"reason": "mfa_token_used"}


def test_a_code_works_once(invoke, db):
    # GIVEN a login completed with a code
    account = create_account(db)
    secret = _with_mfa(db, account)
    code = pyotp.TOTP(secret).now()
    first = invoke(AUTH, "auth_mfa_login", body={"mfa_token": _login(invoke, account).body["mfa_token"], "code": code})
    assert first.status == 200
    # WHEN the same code completes another login
    replay = invoke(AUTH, "auth_mfa_login", body={"mfa_token": _login(invoke, account).body["mfa_token"], "code": code})
    # THEN it is refused
    assert replay.status == 401
    assert count(db, "SELECT 1 FROM user_sessions") == 1


def test_wrong_codes_count_towards_the_lockout(invoke, db):
    # GIVEN an MFA account whose password is known to an attacker
    account = create_account(db)
    secret = _with_mfa(db, account)
    # WHEN wrong codes are tried, each after the password (a wrong code spends its MFA token)
    code = pyotp.TOTP(secret).now()
    answers = []
    for _ in range(6):
        login = _login(invoke, account)
        answers.append(login)
        if login.status != 200:
            break
        answers.append(
            invoke(AUTH, "auth_mfa_login", body={"mfa_token": login.body["mfa_token"], "code": _wrong(code)})
        )
    # THEN the account is locked (429) before a fifth guess: each password step of a pending MFA login counts
    # as an attempt too, so an attacker holding the password gets fewer guesses than before, not more
    statuses = [answer.status for answer in answers]
    assert 429 in statuses and statuses[: statuses.index(429)].count(401) <= 4, statuses
    locked = answers[-1]
    assert locked.status == 429
    assert int(locked.headers["retry-after"]) > 0
    assert count(db, "SELECT 1 FROM user_sessions") == 0


@pytest.mark.parametrize("kind", ["expired", "access_token", "other_audience", "garbage"])
def test_bad_mfa_tokens_are_refused(invoke, db, token_for, kind):
    account = create_account(db)
    secret = _with_mfa(db, account)
    now = dt.datetime.now(dt.UTC)
    claims = {"iss": "warroom", "aud": "warroom-api:mfa", "sub": account.id, "typ": "mfa", "jti": "j" * 16}
    tokens = {
        "expired": jwt.encode(
            {**claims, "iat": now - dt.timedelta(minutes=10), "exp": now - dt.timedelta(minutes=5)}, TEST_JWT_SECRET
        ),
        "access_token": token_for("readonly"),
        "other_audience": jwt.encode(
            {**claims, "aud": "warroom-api", "iat": now, "exp": now + dt.timedelta(minutes=5)}, TEST_JWT_SECRET
        ),
        "garbage": "g" * 40,
    }
    answer = invoke(AUTH, "auth_mfa_login", body={"mfa_token": tokens[kind], "code": pyotp.TOTP(secret).now()})
    assert answer.status == 401
    assert answer.error_code == "invalid_mfa_token"
    assert count(db, "SELECT 1 FROM user_sessions") == 0


def test_disable_needs_the_password_and_a_code(invoke, db):
    # GIVEN a signed-in user with MFA on
    account = create_account(db)
    secret = _with_mfa(db, account)
    session = open_session_for(account)
    code = pyotp.TOTP(secret).now()
    # WHEN they try with a wrong password, with a wrong code, then with both right
    wrong_password = invoke(
        AUTH, "auth_mfa_disable", token=session.access_token, body={"password": "not the password", "code": code}
    )
    wrong_code = invoke(
        AUTH, "auth_mfa_disable", token=session.access_token, body={"password": PASSWORD, "code": _wrong(code)}
    )
    still_on = db.execute("SELECT mfa_enabled_at FROM users WHERE id = %s", (account.id,)).fetchone()["mfa_enabled_at"]
    right = invoke(AUTH, "auth_mfa_disable", token=session.access_token, body={"password": PASSWORD, "code": code})
    # THEN only the last one turns MFA off, and clears the secret
    assert wrong_password.status == 422 and wrong_password.error_code == "invalid_password"
    assert wrong_code.status == 422 and wrong_code.error_code == "invalid_mfa_code"
    assert still_on is not None
    assert right.status == 200 and right.body == {"mfa_enabled": False, "mfa_enabled_at": None}
    row = db.execute("SELECT mfa_secret, mfa_enabled_at FROM users WHERE id = %s", (account.id,)).fetchone()
    assert row["mfa_secret"] is None and row["mfa_enabled_at"] is None
    assert len(audit_rows(db, "auth.mfa_disabled")) == 1
    # AND the next login gives tokens directly
    assert "access_token" in _login(invoke, account).body


def test_mfa_routes_validate_their_bodies(invoke, db):
    account = create_account(db)
    session = open_session_for(account)
    for body in ({"code": "12345"}, {"code": "abcdef"}, {"code": "123456", "extra": 1}, {}):
        assert invoke(AUTH, "auth_mfa_verify", token=session.access_token, body=body).status == 422
    assert invoke(AUTH, "auth_mfa_disable", token=session.access_token, body={"password": PASSWORD}).status == 422
    assert invoke(AUTH, "auth_mfa_setup", token=session.access_token, body={}).status == 422
    assert db.execute("SELECT mfa_secret FROM users WHERE id = %s", (account.id,)).fetchone()["mfa_secret"] is None


def test_codes_from_one_step_either_side_are_accepted(services):
    # GIVEN a stored secret
    from warroom.auth.totp import code_is_valid, encrypt_secret

    secret = pyotp.random_base32(32)
    stored = encrypt_secret(secret)
    totp = pyotp.TOTP(secret)
    now = time.time()
    # THEN codes 30 s old or ahead are valid, 90 s old are not
    assert code_is_valid("u-1", stored, totp.at(now - 30), now=now)
    assert code_is_valid("u-2", stored, totp.at(now + 30), now=now)
    assert not code_is_valid("u-3", stored, totp.at(now - 90), now=now)


def test_one_mfa_token_opens_one_session_even_when_spent_concurrently(invoke, db):
    import threading

    # GIVEN one MFA token and its right code, sent by two clients at the same moment
    account = create_account(db)
    secret = _with_mfa(db, account)
    mfa_token = _login(invoke, account).body["mfa_token"]
    code = pyotp.TOTP(secret).now()
    start, answers = threading.Barrier(2), []

    def verify() -> None:
        start.wait()
        answers.append(invoke(AUTH, "auth_mfa_login", body={"mfa_token": mfa_token, "code": code}).status)

    workers = [threading.Thread(target=verify) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    # THEN exactly one of them signed in
    assert sorted(answers) == [200, 401]
    assert count(db, "SELECT 1 FROM user_sessions") == 1
