"""Pure units of identity: the password policy, the dummy hash, the sid claim, MFA tokens, permissions."""

from __future__ import annotations

import bcrypt
import jwt
import pytest

from warroom.auth.errors import InvalidMfaToken, WeakPassword
from warroom.auth.models import LoginBody, RegisterBody
from warroom.auth.passwords import DUMMY_HASH, check_password_policy, verify_password
from warroom.auth.permissions import permissions_of
from warroom.core.config import reset_settings
from warroom.core.errors import ValidationFailed

KEY = "k" * 48


@pytest.fixture(autouse=True)
def signing_key(monkeypatch):
    monkeypatch.setenv("JWT_SECRET", KEY)
    monkeypatch.setenv("REDIS_URL", "")  # revocation checks answer "not revoked" without a Redis
    reset_settings()
    yield
    reset_settings()


@pytest.mark.parametrize(
    ("password", "kind"),
    [
        ("tiny-pw", "password_too_short"),
        ("password1234", "password_too_weak"),
        ("campaignexample", "password_too_weak"),
        ("é" * 40, "password_too_long"),
    ],
)
def test_policy_refuses_short_guessable_personal_and_overlong_passwords(password, kind):
    with pytest.raises(WeakPassword) as refused:
        check_password_policy(password, ["ana.lopez@campaign.example.org", "Ana López"])
    assert refused.value.status_code == 422
    assert refused.value.details[0]["type"] == kind
    assert password not in refused.value.message


def test_policy_accepts_a_long_uncommon_phrase():
    check_password_policy("quartz lantern meadow orbit", ["ana.lopez@campaign.example.org", "Ana López"])


def test_dummy_hash_is_a_real_12_round_hash_and_unknown_users_never_match():
    # The unknown-email path must cost a real bcrypt check, not fail fast on a malformed hash.
    assert DUMMY_HASH.startswith("$2b$12$")
    assert bcrypt.checkpw(b"anything", DUMMY_HASH.encode()) is False
    assert verify_password("anything", None) is False
    assert verify_password("x" * 100, DUMMY_HASH) is False


def test_weak_password_is_a_validation_failure():
    assert issubclass(WeakPassword, ValidationFailed)


def test_access_tokens_carry_the_session_as_sid_only_when_given():
    from warroom.core.security import decode_access_token, issue_access_token

    with_session = issue_access_token("user-1", "user", session_id="session-9")
    without = issue_access_token("user-1", "user")
    assert jwt.decode(with_session, KEY, algorithms=["HS256"], audience="warroom-api")["sid"] == "session-9"
    assert "sid" not in jwt.decode(without, KEY, algorithms=["HS256"], audience="warroom-api")
    assert decode_access_token(with_session).session_id == "session-9"
    assert decode_access_token(without).session_id is None


def test_mfa_tokens_and_access_tokens_are_not_interchangeable():
    from warroom.auth.tokens import decode_mfa_token, issue_mfa_token
    from warroom.core.errors import Unauthorized
    from warroom.core.security import decode_access_token, issue_access_token

    mfa_token = issue_mfa_token("user-1")
    assert decode_mfa_token(mfa_token)[0] == "user-1"
    with pytest.raises(Unauthorized):
        decode_access_token(mfa_token)
    with pytest.raises(InvalidMfaToken):
        decode_mfa_token(issue_access_token("user-1", "admin"))


def test_emails_accept_private_domains_and_lower_case_the_domain():
    assert LoginBody(email="admin@warroom.local", password="x").email == "admin@warroom.local"
    assert LoginBody(email=" Ana@Campaign.ORG ", password="x").email == "Ana@campaign.org"
    for bad in ("not an email", "a@@b.org", "<a>@b.org", "a@b..org"):
        with pytest.raises(ValueError):
            RegisterBody(email=bad, password="x")


def test_permissions_of_a_user():
    permissions = permissions_of("user")
    assert permissions.granted_roles == ["readonly", "user"]
    assert (permissions.can_write, permissions.can_manage) == (True, False)
