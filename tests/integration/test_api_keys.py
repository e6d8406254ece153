"""API keys on protected routes and the request quotas: headers counting down, 429, Redis down."""

from __future__ import annotations

import datetime as dt

import pytest

from warroom.core.config import reset_settings
from warroom.core.security import issue_access_token

ADMIN = "AdminFunction"
SYSTEM = "SystemFunction"


@pytest.fixture
def create_key(invoke, make_user):
    """Create an API key through the admin route; returns the creation answer's body (with ``key``)."""
    admin_id = make_user("admin")
    token = issue_access_token(admin_id, "admin")

    def create(role: str = "readonly", expires_at: str | None = None) -> dict:
        body = {"name": f"{role} integration", "role": role, **({"expires_at": expires_at} if expires_at else {})}
        answer = invoke(ADMIN, "admin_create_api_key", token=token, body=body)
        assert answer.status == 201, answer.body
        return {**answer.body, "admin_token": token, "admin_id": admin_id}

    return create


@pytest.fixture
def key_limit(monkeypatch: pytest.MonkeyPatch):
    """Set the per-key hourly limit for this test."""

    def set_limit(limit: int) -> None:
        monkeypatch.setenv("WARROOM_API_KEY_RATE_LIMIT_PER_HOUR", str(limit))
        reset_settings()

    yield set_limit
    monkeypatch.delenv("WARROOM_API_KEY_RATE_LIMIT_PER_HOUR", raising=False)
    reset_settings()


def _rate(answer) -> tuple[int, int, int]:
    headers = answer.headers
    return int(headers["x-ratelimit-limit"]), int(headers["x-ratelimit-remaining"]), int(headers["x-ratelimit-reset"])


def test_a_key_calls_a_protected_route_with_its_quota_counting_down(invoke, create_key, db):
    # GIVEN a readonly key
    created = create_key("readonly")
    headers = {"x-api-key": created["key"]}

    # WHEN it reads the settings three times
    answers = [invoke(SYSTEM, "system_list_settings", headers=headers) for _ in range(3)]

    # THEN each succeeds with the seed's 1000/hour and the remaining count going down
    assert [a.status for a in answers] == [200, 200, 200]
    assert [_rate(a)[:2] for a in answers] == [(1000, 999), (1000, 998), (1000, 997)]
    now = dt.datetime.now(dt.UTC).timestamp()
    assert now < _rate(answers[0])[2] <= now + 3601
    # AND the key's last use is recorded
    assert db.execute("SELECT last_used_at FROM api_keys WHERE id = %s", (created["id"],)).fetchone()["last_used_at"]


def test_past_the_limit_a_key_gets_429_with_retry_after(invoke, create_key, key_limit):
    # GIVEN a limit of 3 requests an hour
    key_limit(3)
    headers = {"x-api-key": create_key()["key"]}

    # WHEN the key makes a fourth request
    answers = [invoke(SYSTEM, "system_list_settings", headers=headers) for _ in range(4)]

    # THEN the first three pass counting down to 0 and the fourth is 429 with Retry-After and the headers
    assert [a.status for a in answers] == [200, 200, 200, 429]
    assert [_rate(a)[1] for a in answers] == [2, 1, 0, 0]
    refused = answers[-1]
    assert refused.error_code == "rate_limited"
    assert 0 < int(refused.headers["retry-after"]) <= 3600
    assert refused.body["error"]["details"] == {"limit": 3, "window_s": 3600}


def test_each_key_has_its_own_quota(invoke, create_key, key_limit):
    key_limit(1)
    first, second = create_key()["key"], create_key()["key"]
    assert invoke(SYSTEM, "system_list_settings", headers={"x-api-key": first}).status == 200
    assert invoke(SYSTEM, "system_list_settings", headers={"x-api-key": first}).status == 429
    assert invoke(SYSTEM, "system_list_settings", headers={"x-api-key": second}).status == 200


def test_a_key_has_its_role_and_errors_still_carry_the_quota(invoke, create_key, db):
    # GIVEN a readonly key
    headers = {"x-api-key": create_key("readonly")["key"]}
    # WHEN it tries an admin write
    answer = invoke(SYSTEM, "system_put_data_mode", headers=headers, body={"mode": "LIVE"})
    # THEN 403 for its role, with the quota headers, and nothing changed
    assert answer.status == 403
    assert answer.body["error"]["details"] == {"required_role": "admin", "your_role": "readonly"}
    assert _rate(answer)[:2] == (1000, 999)
    assert db.execute("SELECT count(*) AS n FROM settings").fetchone()["n"] == 0


def test_an_admin_key_acts_as_its_creator_in_the_audit(invoke, create_key, db):
    created = create_key("admin")
    answer = invoke(SYSTEM, "system_put_data_mode", headers={"x-api-key": created["key"]}, body={"mode": "LIVE"})
    assert answer.status == 200
    audit = db.execute("SELECT user_id FROM audit_logs WHERE action = 'settings.update'").fetchone()
    assert str(audit["user_id"]) == created["admin_id"]


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("wr_000000000000_" + "A" * 43, "api_key_invalid"),
        ("not-even-our-format", "api_key_invalid"),
        ("wr_" + "x" * 200, "api_key_invalid"),
    ],
)
def test_unknown_keys_get_401(invoke, db, key, reason):
    answer = invoke(SYSTEM, "system_list_settings", headers={"x-api-key": key})
    assert answer.status == 401
    assert answer.body["error"]["details"] == {"reason": reason}
    assert "x-ratelimit-limit" not in answer.headers


def test_an_expired_key_gets_401(invoke, create_key, db):
    # GIVEN a key that expires in a moment
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)).isoformat()
    created = create_key(expires_at=soon)
    headers = {"x-api-key": created["key"]}
    assert invoke(SYSTEM, "system_list_settings", headers=headers).status == 200
    # WHEN its time has passed (checked on each request, even from the cache)
    db.execute("SELECT pg_sleep(1.1)")
    answer = invoke(SYSTEM, "system_list_settings", headers=headers)
    # THEN 401 and the admin list says expired
    assert answer.status == 401
    assert answer.body["error"]["details"] == {"reason": "api_key_expired"}
    listed = invoke(ADMIN, "admin_list_api_keys", token=created["admin_token"]).body["items"]
    assert [item["status"] for item in listed] == ["expired"]


def test_a_deactivated_creators_keys_stop_working(invoke, create_key, make_user, db):
    # GIVEN a key made by an admin, and a second admin
    created = create_key("readonly")
    other_admin = issue_access_token(make_user("admin"), "admin")
    headers = {"x-api-key": created["key"]}
    assert invoke(SYSTEM, "system_list_settings", headers=headers).status == 200
    # WHEN the second admin deactivates the key's creator
    answer = invoke(ADMIN, "admin_deactivate_user", token=other_admin, path_parameters={"user_id": created["admin_id"]})
    assert answer.status == 204
    # THEN the key is refused
    assert invoke(SYSTEM, "system_list_settings", headers=headers).status == 401


def test_a_demoted_creators_keys_are_demoted_too(invoke, create_key, make_user):
    created = create_key("admin")
    other_admin = issue_access_token(make_user("admin"), "admin")
    headers = {"x-api-key": created["key"]}
    assert invoke(ADMIN, "admin_list_users", headers=headers).status == 200
    demoted = invoke(
        ADMIN,
        "admin_update_user",
        token=other_admin,
        body={"role": "manager"},
        path_parameters={"user_id": created["admin_id"]},
    )
    assert demoted.status == 200
    answer = invoke(ADMIN, "admin_list_users", headers=headers)
    assert answer.status == 403
    assert answer.body["error"]["details"]["your_role"] == "manager"


def test_the_bearer_token_wins_when_both_are_sent(invoke, create_key, token_for):
    # GIVEN a readonly key and an admin token
    key = create_key("readonly")["key"]
    token = token_for("admin")
    # WHEN both are sent to an admin route THEN the token decides
    answer = invoke(ADMIN, "admin_list_users", token=token, headers={"x-api-key": key})
    assert answer.status == 200
    assert _rate(answer)[0] == 10_000  # the user's quota, not the key's
    # AND a bad token is refused, never replaced by the key
    assert (
        invoke(SYSTEM, "system_list_settings", headers={"authorization": "Bearer nope", "x-api-key": key}).status == 401
    )


def test_last_used_at_is_written_at_most_once_a_minute(invoke, create_key, db):
    # GIVEN a key used once
    from warroom.admin.api_keys import forget_cached_keys

    created = create_key()
    headers = {"x-api-key": created["key"]}
    invoke(SYSTEM, "system_list_settings", headers=headers)
    first = db.execute("SELECT last_used_at FROM api_keys WHERE id = %s", (created["id"],)).fetchone()["last_used_at"]
    # WHEN it is looked up afresh (as another container would) within the minute
    forget_cached_keys()
    invoke(SYSTEM, "system_list_settings", headers=headers)
    # THEN last_used_at was not written again
    again = db.execute("SELECT last_used_at FROM api_keys WHERE id = %s", (created["id"],)).fetchone()["last_used_at"]
    assert first is not None and again == first


def test_bearer_tokens_have_a_generous_per_user_quota(invoke, token_for):
    token = token_for("readonly")
    answers = [invoke(SYSTEM, "system_list_settings", token=token) for _ in range(2)]
    assert [_rate(a)[:2] for a in answers] == [(10_000, 9_999), (10_000, 9_998)]


def test_with_redis_down_bearer_fails_open_keys_fall_back_and_health_says_so(invoke, own_redis, token_for, key_limit):
    # GIVEN a key with a limit of 2, and a bearer token; then Redis stops
    key_limit(2)
    token = token_for("readonly")
    admin_token = token_for("admin")
    created = invoke(ADMIN, "admin_create_api_key", token=admin_token, body={"name": "bi", "role": "readonly"}).body
    own_redis.stop()
    headers = {"x-api-key": created["key"]}

    # WHEN the bearer token and the key are used
    bearer = [invoke(SYSTEM, "system_list_settings", token=token) for _ in range(3)]
    keyed = [invoke(SYSTEM, "system_list_settings", headers=headers) for _ in range(3)]
    health = invoke(SYSTEM, "system_health")

    # THEN bearer requests are served, unlimited and without quota headers (fail open)
    assert [a.status for a in bearer] == [200, 200, 200]
    assert "x-ratelimit-limit" not in bearer[0].headers
    # AND the key is limited by this container's own window, with the same limit and headers
    assert [a.status for a in keyed] == [200, 200, 429]
    assert [_rate(a)[:2] for a in keyed] == [(2, 1), (2, 0), (2, 0)]
    # AND health is degraded, naming the limiter's fallback
    assert health.status == 200
    assert health.body["status"] == "degraded"
    assert health.body["dependencies"]["rate_limiter"] == {
        "status": "down",
        "latency_ms": None,
        "error": health.body["dependencies"]["redis"]["error"],
        "mode": "local",
    }
