"""MFA is required of managers and admins (ASVS 5.0 6.3.3): on by default outside MOCK, one grace login to enrol."""

from __future__ import annotations

import pytest

from tests.integration.auth_support import AUTH, create_account
from tests.integration.test_auth_mfa import _with_mfa
from warroom.core.data_mode import forget_local_copy


def _login(invoke, account):
    return invoke(AUTH, "auth_login", body={"email": account.email, "password": account.password})


@pytest.fixture
def live_mode(db):
    db.execute("INSERT INTO settings (key, value) VALUES ('data_mode', '\"LIVE\"')")
    forget_local_copy()
    yield
    forget_local_copy()


def test_in_live_a_manager_without_mfa_gets_one_grace_login_then_must_enrol(invoke, db, live_mode):
    manager = create_account(db, role="manager")
    # WHEN they sign in without MFA: the one grace login, flagged
    first = _login(invoke, manager)
    assert first.status == 200 and first.body["mfa_enrolment_required"] is True
    # THEN the next password-only login is refused until they enrol
    second = _login(invoke, manager)
    assert second.status == 403 and second.error_code == "mfa_enrolment_required"
    # AND once enrolled, the password leads to the MFA step
    _with_mfa(db, manager)
    enrolled = _login(invoke, manager)
    assert enrolled.status == 200 and enrolled.body["mfa_required"] is True


def test_staff_below_manager_need_no_mfa_and_mock_mode_asks_none(invoke, db):
    # In MOCK (the default) the requirement is off: a manager signs in as often as they like
    manager = create_account(db, role="manager")
    assert [_login(invoke, manager).status for _ in range(2)] == [200, 200]
    assert _login(invoke, manager).body["mfa_enrolment_required"] is False


def test_the_requirement_is_a_setting_and_readonly_staff_are_not_concerned(invoke, db, live_mode, token_for):
    readonly = create_account(db, role="readonly")
    assert [_login(invoke, readonly).status for _ in range(2)] == [200, 200]
    # an admin may turn it off even in LIVE
    admin = token_for("admin")
    off = invoke(
        "SystemFunction",
        "system_put_setting",
        token=admin,
        path_parameters={"key": "mfa_required_for_privileged"},
        body={"value": False},
    )
    assert off.status == 200
    manager = create_account(db, role="manager")
    assert [_login(invoke, manager).status for _ in range(2)] == [200, 200]
