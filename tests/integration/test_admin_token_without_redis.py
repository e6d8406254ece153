"""While Redis is down the deny-list cannot be read: an admin token is then held against PostgreSQL."""

from __future__ import annotations

from tests.integration.auth_support import AUTH, create_account, open_session_for

SYSTEM = "SystemFunction"


def test_a_logged_out_admin_token_is_refused_even_with_redis_down(invoke, db, own_redis):
    # GIVEN two signed-in admins, one of whom logs out while Redis is still up
    gone = open_session_for(create_account(db, role="admin"))
    stays = open_session_for(create_account(db, role="admin"))
    assert invoke(AUTH, "auth_logout", token=gone.access_token).status == 204
    # WHEN Redis goes down (the deny-list is out of reach) and both call an admin route
    own_redis.stop()
    refused = invoke(
        SYSTEM,
        "system_put_setting",
        token=gone.access_token,
        path_parameters={"key": "timezone"},
        body={"value": "UTC"},
    )
    served = invoke(
        SYSTEM,
        "system_put_setting",
        token=stays.access_token,
        path_parameters={"key": "timezone"},
        body={"value": "UTC"},
    )
    # THEN the logged-out token is refused from PostgreSQL's session row; the other still works
    assert refused.status == 401 and refused.body["error"]["details"] == {"reason": "token_revoked"}
    assert served.status == 200, served.body


def test_a_demoted_admins_token_is_refused_with_redis_down(invoke, db, own_redis):
    admin = create_account(db, role="admin")
    session = open_session_for(admin)
    own_redis.stop()
    db.execute("UPDATE users SET role = 'manager' WHERE id = %s", (admin.id,))
    answer = invoke(SYSTEM, "system_list_settings", token=session.access_token)
    assert answer.status == 401
