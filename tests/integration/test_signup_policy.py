"""Sign-up is closed unless an admin opens it, and the emails it sends are limited per address and per domain."""

from __future__ import annotations

from tests.integration.auth_support import AUTH, PASSWORD, count, create_account, sent_emails, verify_sender


def test_sign_up_is_closed_by_default(invoke, db):
    answer = invoke(AUTH, "auth_register", body={"email": "walk.in@example.org", "password": PASSWORD})
    assert answer.status == 403 and answer.error_code == "registration_closed"
    assert count(db, "SELECT 1 FROM users") == 0


def test_registrations_from_one_address_are_limited(invoke, db, services, monkeypatch):
    # GIVEN sign-up opened by an admin, and a limit of 3 an hour per address
    verify_sender()
    db.execute("INSERT INTO settings (key, value) VALUES ('registration_open', 'true')")
    monkeypatch.setenv("WARROOM_OUTGOING_EMAIL_PER_IP_PER_HOUR", "3")
    from warroom.core.config import reset_settings

    reset_settings()
    # WHEN one address registers five accounts on five domains
    answers = [
        invoke(AUTH, "auth_register", body={"email": f"spray{n}@domain{n}.example.org", "password": PASSWORD})
        for n in range(5)
    ]
    # THEN the fourth and fifth are 429 with Retry-After, and only three emails went out
    assert [a.status for a in answers] == [201, 201, 201, 429, 429]
    assert int(answers[3].headers["retry-after"]) > 0 and answers[3].body["error"]["details"]["per"] == "ip"
    assert count(db, "SELECT 1 FROM users") == 3
    assert sum(len(sent_emails(f"spray{n}@domain{n}.example.org")) for n in range(5)) == 3


def test_reset_emails_to_one_domain_are_limited_whoever_asks(invoke, db, services, monkeypatch):
    # GIVEN a limit of 2 an hour per target domain, and three accounts there
    verify_sender()
    monkeypatch.setenv("WARROOM_OUTGOING_EMAIL_PER_DOMAIN_PER_HOUR", "2")
    from warroom.core.config import reset_settings

    reset_settings()
    accounts = [create_account(db, email=f"staff{n}@target.example.org") for n in range(3)]
    # WHEN resets are asked for all three (from any address)
    answers = [invoke(AUTH, "auth_password_forgot", body={"email": account.email}) for account in accounts]
    # THEN the third is refused and was not sent
    assert [a.status for a in answers] == [202, 202, 429]
    assert answers[2].body["error"]["details"]["per"] == "domain"
    assert [len(sent_emails(account.email)) for account in accounts] == [1, 1, 0]
