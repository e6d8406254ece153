"""Registration, the profile, and the password and email flows, with real SES messages read back from moto."""

from __future__ import annotations

import pytest

from tests.integration.auth_support import (
    AUTH,
    NEW_PASSWORD,
    PASSWORD,
    assert_no_secrets,
    audit_rows,
    count,
    create_account,
    open_session_for,
    sent_emails,
    token_in,
    verify_sender,
)


@pytest.fixture
def sender(services):
    verify_sender()


@pytest.fixture(autouse=True)
def registration_open(db):
    """Sign-up is closed by default; these tests are about what happens once an admin opens it."""
    db.execute("INSERT INTO settings (key, value) VALUES ('registration_open', 'true')")


def _register(invoke, email: str, password: str = PASSWORD, **extra):
    return invoke(AUTH, "auth_register", body={"email": email, "password": password, **extra})


def test_registration_creates_a_readonly_account_and_emails_a_link_that_works_once(invoke, db, sender):
    # WHEN someone registers
    email = "new.volunteer@campaign.example.org"
    answer = _register(invoke, email, full_name="New Volunteer")
    # THEN a readonly, unverified account exists, answered without any secret
    assert answer.status == 201
    assert answer.body["email"] == email and answer.body["role"] == "readonly"
    assert answer.body["email_verified"] is False
    assert_no_secrets(answer, PASSWORD)
    user = db.execute("SELECT * FROM users WHERE email = %s", (email,)).fetchone()
    assert user["role"] == "readonly" and user["password_hash"].startswith("$2b$12$")
    [audit] = audit_rows(db, "auth.register")
    assert str(audit["user_id"]) == str(user["id"]) and str(audit["ip_address"]) == "203.0.113.7"
    # AND SES really sent a verification message, whose link's token is stored only hashed
    [message] = sent_emails(email)
    assert message["subject"] == "Confirm your War Room email address"
    assert "/verify-email?token=" in message["body"]
    token = token_in(message)
    assert count(db, "SELECT 1 FROM email_tokens WHERE token_hash = %s", token) == 0
    # WHEN the link's token is used, twice
    first = invoke(AUTH, "auth_email_verify", body={"token": token})
    second = invoke(AUTH, "auth_email_verify", body={"token": token})
    # THEN the first verifies the address, the second is refused
    assert first.status == 200 and first.body["email_verified"] is True
    assert second.status == 422 and second.error_code == "invalid_token"
    assert db.execute("SELECT email_verified_at FROM users WHERE email = %s", (email,)).fetchone()["email_verified_at"]


def test_a_registered_user_cannot_sign_in_until_verified_and_approved(invoke, db, sender, token_for):
    # GIVEN a new registration: pending
    email = "quick.start@campaign.example.org"
    registered = _register(invoke, email)
    assert registered.status == 201 and registered.body["status"] == "pending"
    login = {"email": email, "password": PASSWORD}
    # THEN the right password gets 403 account_pending: no token, so no data and no socket
    refused = invoke(AUTH, "auth_login", body=login)
    assert refused.status == 403 and refused.error_code == "account_pending"
    assert count(db, "SELECT 1 FROM user_sessions") == 0
    # AND an admin cannot approve it before the address is verified
    admin = token_for("admin")
    approve = {"path_parameters": {"user_id": registered.body["id"]}, "body": {"status": "active"}}
    early = invoke("AdminFunction", "admin_update_user", token=admin, **approve)
    assert early.status == 409 and early.error_code == "email_not_verified"
    # WHEN the owner verifies the address and an admin approves
    assert invoke(AUTH, "auth_email_verify", body={"token": token_in(sent_emails(email)[0])}).status == 200
    pending = invoke("AdminFunction", "admin_list_users", token=admin, query={"status": ["pending"]})
    assert [user["email"] for user in pending.body["items"]] == [email]
    assert invoke("AdminFunction", "admin_update_user", token=admin, **approve).status == 200
    # THEN they can sign in, as readonly
    answer = invoke(AUTH, "auth_login", body=login)
    assert answer.status == 200 and answer.body["user"]["role"] == "readonly"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"email": "not an email", "password": PASSWORD}, 422, "validation_error"),
        ({"email": "short.pw@campaign.example.org", "password": "tiny"}, 422, "weak_password"),
        ({"email": "guessable@campaign.example.org", "password": "password1234"}, 422, "weak_password"),
        ({"email": "campaign.fan@campaign.example.org", "password": "Campaign2024!"}, 422, "weak_password"),
        ({"email": "long.pw@campaign.example.org", "password": "é" * 40}, 422, "weak_password"),
        ({"email": "role.grab@campaign.example.org", "password": PASSWORD, "role": "admin"}, 422, "validation_error"),
        ({"email": "no.password@campaign.example.org"}, 422, "validation_error"),
    ],
)
def test_bad_registrations_get_422_with_a_helpful_message_and_create_nothing(invoke, db, body, status, code):
    answer = invoke(AUTH, "auth_register", body=body)
    assert answer.status == status
    assert answer.error_code == code
    assert_no_secrets(answer, body.get("password", "-"))
    assert count(db, "SELECT 1 FROM users") == 0
    assert count(db, "SELECT 1 FROM audit_logs WHERE action = 'auth.register'") == 0


def test_weak_password_message_says_what_would_help(invoke):
    short = _register(invoke, "ana@campaign.example.org", "tiny")
    guessable = _register(invoke, "ana@campaign.example.org", "password1234")
    assert "at least 12 characters" in short.body["error"]["message"]
    assert "too easy to guess" in guessable.body["error"]["message"]
    assert guessable.body["error"]["details"][0]["loc"] == ["body", "password"]


def test_duplicate_email_in_any_case_is_a_409_and_changes_nothing(invoke, db):
    # GIVEN an account
    account = create_account(db, role="manager", email="Taken.Address@campaign.example.org")
    # WHEN someone registers the same email in other case
    answer = _register(invoke, "taken.address@CAMPAIGN.example.org")
    # THEN 409, saying only that
    assert answer.status == 409
    assert answer.error_code == "email_taken"
    assert answer.body["error"]["details"] is None
    assert count(db, "SELECT 1 FROM users") == 1
    assert db.execute("SELECT role FROM users WHERE id = %s", (account.id,)).fetchone()["role"] == "manager"


def test_closed_registration_is_a_403(invoke, db, token_for):
    # GIVEN an admin closed registration
    assert (
        invoke(
            "SystemFunction",
            "system_put_setting",
            token=token_for("admin"),
            body={"value": False},
            path_parameters={"key": "registration_open"},
        ).status
        == 200
    )
    users_before = count(db, "SELECT 1 FROM users")
    # WHEN someone registers
    answer = _register(invoke, "too.late@campaign.example.org")
    # THEN it is refused and no account exists
    assert answer.status == 403
    assert answer.error_code == "registration_closed"
    assert count(db, "SELECT 1 FROM users") == users_before


def test_me_shows_the_account_and_patch_changes_only_the_name(invoke, db):
    # GIVEN a signed-in user
    account = create_account(db, role="user")
    session = open_session_for(account)
    # WHEN they read and rename themselves
    me = invoke(AUTH, "auth_get_me", token=session.access_token)
    renamed = invoke(AUTH, "auth_patch_me", token=session.access_token, body={"full_name": "  Ana L. García  "})
    # THEN they see themselves without secrets, and the new name
    assert me.status == 200 and me.body["id"] == account.id and me.body["role"] == "user"
    assert_no_secrets(me)
    assert renamed.status == 200 and renamed.body["full_name"] == "Ana L. García"
    assert db.execute("SELECT full_name FROM users WHERE id = %s", (account.id,)).fetchone()["full_name"] == (
        "Ana L. García"
    )


@pytest.mark.parametrize(
    "body",
    [{"email": "new@campaign.example.org"}, {"role": "admin"}, {"full_name": ""}, {"full_name": "x" * 201}, {}],
)
def test_patch_me_refuses_anything_but_a_valid_name(invoke, db, body):
    account = create_account(db)
    answer = invoke(AUTH, "auth_patch_me", token=open_session_for(account).access_token, body=body)
    assert answer.status == 422
    row = db.execute("SELECT email, role, full_name FROM users WHERE id = %s", (account.id,)).fetchone()
    assert (row["email"], row["role"], row["full_name"]) == (account.email, "readonly", "Ana López")


def test_password_change_keeps_this_session_and_ends_the_others(invoke, db):
    # GIVEN a user signed in on two devices
    account = create_account(db)
    this, other = open_session_for(account), open_session_for(account)
    # WHEN they change their password on this one
    answer = invoke(
        AUTH,
        "auth_password_change",
        token=this.access_token,
        body={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    # THEN this session goes on, the other is signed out, and only the new password logs in
    assert answer.status == 204
    assert invoke(AUTH, "auth_get_me", token=this.access_token).status == 200
    assert invoke(AUTH, "auth_get_me", token=other.access_token).status == 401
    assert invoke(AUTH, "auth_refresh", body={"refresh_token": other.refresh_token}).status == 401
    login_new = invoke(AUTH, "auth_login", body={"email": account.email, "password": NEW_PASSWORD})
    assert login_new.status == 200
    [audit] = audit_rows(db, "auth.password_change")
    assert str(audit["user_id"]) == account.id and audit["details"] == {"other_sessions_revoked": 1}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"current_password": "not my password at all", "new_password": NEW_PASSWORD}, "invalid_password"),
        ({"current_password": PASSWORD, "new_password": "password1234"}, "weak_password"),
        ({"current_password": PASSWORD, "new_password": "tiny-pw"}, "weak_password"),
        ({"current_password": PASSWORD}, "validation_error"),
    ],
)
def test_bad_password_changes_get_422_and_change_nothing(invoke, db, body, code):
    account = create_account(db)
    session = open_session_for(account)
    before = db.execute("SELECT password_hash FROM users WHERE id = %s", (account.id,)).fetchone()["password_hash"]
    answer = invoke(AUTH, "auth_password_change", token=session.access_token, body=body)
    assert answer.status == 422
    assert answer.error_code == code
    assert_no_secrets(answer, *body.values())
    after = db.execute("SELECT password_hash FROM users WHERE id = %s", (account.id,)).fetchone()["password_hash"]
    assert after == before
    assert invoke(AUTH, "auth_get_me", token=session.access_token).status == 200


def test_forgot_password_answers_the_same_for_known_and_unknown_emails(invoke, db, sender):
    # GIVEN an account
    account = create_account(db)
    # WHEN a reset is asked for it and for an email nobody has
    known = invoke(AUTH, "auth_password_forgot", body={"email": account.email})
    unknown = invoke(AUTH, "auth_password_forgot", body={"email": "ghost@campaign.example.org"})
    # THEN both answers are the same 202
    assert known.status == unknown.status == 202
    assert known.body == unknown.body
    # AND only the real account got an email, and a token
    assert len(sent_emails(account.email)) == 1
    assert sent_emails("ghost@campaign.example.org") == []
    assert count(db, "SELECT 1 FROM email_tokens WHERE purpose = 'reset_password'") == 1


def test_reset_link_sets_the_password_once_and_signs_everything_out(invoke, db, sender):
    # GIVEN a user signed in somewhere, who asks for a reset link
    account = create_account(db)
    session = open_session_for(account)
    invoke(AUTH, "auth_password_forgot", body={"email": account.email})
    [message] = sent_emails(account.email)
    assert message["subject"] == "Reset your War Room password"
    token = token_in(message)
    # WHEN a weak password is tried with the link, then a good one, then the link again
    weak = invoke(AUTH, "auth_password_reset", body={"token": token, "new_password": "password1234"})
    good = invoke(AUTH, "auth_password_reset", body={"token": token, "new_password": NEW_PASSWORD})
    again = invoke(AUTH, "auth_password_reset", body={"token": token, "new_password": "yet another fine phrase"})
    # THEN the weak one did not spend the link, the good one worked, the third was refused
    assert weak.status == 422 and weak.error_code == "weak_password"
    assert good.status == 204
    assert again.status == 422 and again.error_code == "invalid_token"
    # AND the old session is over, the new password logs in, the old one does not
    assert invoke(AUTH, "auth_get_me", token=session.access_token).status == 401
    assert invoke(AUTH, "auth_refresh", body={"refresh_token": session.refresh_token}).status == 401
    assert invoke(AUTH, "auth_login", body={"email": account.email, "password": PASSWORD}).status == 401
    assert invoke(AUTH, "auth_login", body={"email": account.email, "password": NEW_PASSWORD}).status == 200
    [audit] = audit_rows(db, "auth.password_reset")
    assert str(audit["user_id"]) == account.id


def test_reset_and_verify_refuse_unknown_and_expired_tokens(invoke, db, sender):
    # GIVEN a reset link that has expired
    account = create_account(db)
    invoke(AUTH, "auth_password_forgot", body={"email": account.email})
    token = token_in(sent_emails(account.email)[0])
    db.execute("UPDATE email_tokens SET expires_at = now() - interval '1 second'")
    before = db.execute("SELECT password_hash FROM users WHERE id = %s", (account.id,)).fetchone()["password_hash"]
    # WHEN it, and tokens nobody issued, are used
    expired = invoke(AUTH, "auth_password_reset", body={"token": token, "new_password": NEW_PASSWORD})
    unknown = invoke(AUTH, "auth_password_reset", body={"token": "x" * 43, "new_password": NEW_PASSWORD})
    wrong_purpose = invoke(AUTH, "auth_email_verify", body={"token": token})
    # THEN all are refused and the password is unchanged
    for answer in (expired, unknown, wrong_purpose):
        assert answer.status == 422
        assert answer.error_code == "invalid_token"
    after = db.execute("SELECT password_hash FROM users WHERE id = %s", (account.id,)).fetchone()["password_hash"]
    assert after == before


def test_resend_sends_a_new_link_and_the_old_one_stops_working(invoke, db, sender):
    # GIVEN a registered, unverified user, signed in
    _register(invoke, "resend.me@campaign.example.org")
    old_token = token_in(sent_emails("resend.me@campaign.example.org")[0])
    user_id = str(db.execute("SELECT id FROM users").fetchone()["id"])
    from tests.integration.auth_support import Account

    session = open_session_for(Account(user_id, "resend.me@campaign.example.org", "readonly"))
    # WHEN they ask for a new link
    answer = invoke(AUTH, "auth_email_resend", token=session.access_token)
    # THEN a second email comes, its link works, the first one does not
    assert answer.status == 202
    messages = sent_emails("resend.me@campaign.example.org")
    assert len(messages) == 2
    assert invoke(AUTH, "auth_email_verify", body={"token": old_token}).status == 422
    assert invoke(AUTH, "auth_email_verify", body={"token": token_in(messages[1])}).status == 200


def test_forgot_password_emails_at_most_three_links_an_hour(invoke, db, sender):
    account = create_account(db)
    answers = [invoke(AUTH, "auth_password_forgot", body={"email": account.email}) for _ in range(5)]
    assert [answer.status for answer in answers] == [202] * 5
    assert len(sent_emails(account.email)) == 3
