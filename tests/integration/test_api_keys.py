"""API keys and bearer tokens on protected routes with their quotas: headers counting down, 429, one Redis round
trip per request, Redis down or refusing writes."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import redis
from pydantic import BaseModel

from localcloud.gateway import build_proxy_event
from localcloud.template import ApiRoute
from warroom.auth.guard import authenticate_request
from warroom.core.config import reset_settings
from warroom.core.http import RequestContext, WarRoomApp
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
    # WHEN it tries a manager's write
    answer = invoke("AlertsFunction", "alerts_create", headers=headers, body={"title": "x", "severity": 3})
    # THEN 403 for its role, with the quota headers, and nothing changed
    assert answer.status == 403
    assert answer.body["error"]["details"] == {"required_role": "manager", "your_role": "readonly"}
    assert _rate(answer)[:2] == (1000, 999)
    assert db.execute("SELECT count(*) AS n FROM crisis_events").fetchone()["n"] == 0


def test_a_key_acts_as_its_creator_in_the_audit(invoke, create_key, db):
    created = create_key("manager")
    answer = invoke(
        "AlertsFunction",
        "alerts_create",
        headers={"x-api-key": created["key"]},
        body={"title": "From BI", "severity": 3},
    )
    assert answer.status == 201, answer.body
    audit = db.execute("SELECT user_id FROM audit_logs WHERE action = 'alert.create'").fetchone()
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
    created = create_key("manager")
    other_admin = issue_access_token(make_user("admin"), "admin")
    headers = {"x-api-key": created["key"]}
    assert invoke("AuditFunction", "audit_list", headers=headers).status == 200
    demoted = invoke(
        ADMIN,
        "admin_update_user",
        token=other_admin,
        body={"role": "user"},
        path_parameters={"user_id": created["admin_id"]},
    )
    assert demoted.status == 200
    answer = invoke("AuditFunction", "audit_list", headers=headers)
    assert answer.status == 403
    assert answer.body["error"]["details"]["your_role"] == "user"


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
    from warroom.auth.api_keys import forget_cached_keys

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


@pytest.fixture
def user_limit(monkeypatch: pytest.MonkeyPatch):
    """Set the per-user hourly limit of bearer tokens for this test."""

    def set_limit(limit: int) -> None:
        monkeypatch.setenv("WARROOM_USER_RATE_LIMIT_PER_HOUR", str(limit))
        reset_settings()

    yield set_limit
    monkeypatch.delenv("WARROOM_USER_RATE_LIMIT_PER_HOUR", raising=False)
    reset_settings()


def test_past_the_user_quota_a_bearer_token_gets_429_and_other_users_do_not(invoke, token_for, user_limit):
    # GIVEN a per-user limit of 2 requests an hour, and two users
    user_limit(2)
    token, other = token_for("readonly"), token_for("readonly")

    # WHEN the first user makes a third request
    answers = [invoke(SYSTEM, "system_list_settings", token=token) for _ in range(3)]

    # THEN 200, 200, then 429 with Retry-After and the headers; the other user still has the whole quota
    assert [a.status for a in answers] == [200, 200, 429]
    assert [_rate(a)[:2] for a in answers] == [(2, 1), (2, 0), (2, 0)]
    assert answers[-1].error_code == "rate_limited"
    assert 0 < int(answers[-1].headers["retry-after"]) <= 3600
    assert answers[-1].body["error"]["details"] == {"limit": 2, "window_s": 3600}
    assert _rate(invoke(SYSTEM, "system_list_settings", token=other))[:2] == (2, 1)


def test_a_revoked_key_is_refused_at_once_in_the_container_that_revoked_it(invoke, create_key):
    # GIVEN a key that has been used (so its record is in this container's cache)
    created = create_key()
    headers = {"x-api-key": created["key"]}
    assert invoke(SYSTEM, "system_list_settings", headers=headers).status == 200
    # WHEN the admin revokes it
    revoked = invoke(
        ADMIN, "admin_revoke_api_key", token=created["admin_token"], path_parameters={"key_id": created["id"]}
    )
    # THEN the next request is 401 api_key_revoked, not served from the cache
    assert revoked.status == 204
    answer = invoke(SYSTEM, "system_list_settings", headers=headers)
    assert answer.status == 401
    assert answer.body["error"]["details"] == {"reason": "api_key_revoked"}


# A route that touches nothing but authentication, so Redis sees only what authentication sends.
probe = WarRoomApp("auth-probe", authenticate=authenticate_request)


class WhoOut(BaseModel):
    user_id: str


@probe.endpoint("GET", "/probe/who", role="readonly", response=WhoOut)
def who(ctx: RequestContext) -> WhoOut:
    return WhoOut(user_id=ctx.principal.user_id)


def _probe(**headers: str) -> tuple[int, dict[str, str], dict]:
    event = build_proxy_event(
        "GET",
        "/probe/who",
        b"",
        list(headers.items()),
        b"",
        ApiRoute("Probe", "GET", "/probe/who"),
        {},
        "127.0.0.1",
        "x",
    )
    result = probe(event, None)
    return result["statusCode"], {k.lower(): v for k, v in result["headers"].items()}, json.loads(result["body"])


def _sent_to_redis(url: str, during) -> list[str]:
    """The commands clients sent to Redis while ``during()`` ran, seen by MONITOR (those run by scripts left out)."""
    sentinel = redis.Redis.from_url(url)
    sentinel.ping()  # connected before watching, so its own handshake is not seen
    with redis.Redis.from_url(url).monitor() as monitor:
        during()
        sentinel.echo("end-of-probe")
        sent = []
        for command in monitor.listen():
            if "end-of-probe" in command["command"]:
                return sent
            if command["client_type"] != "lua":
                sent.append(command["command"].split()[0].upper())
    return sent


def test_the_whole_bearer_check_is_one_redis_round_trip(own_redis, make_user, create_key):
    # GIVEN a Redis of this test's own, a user's token, a token of the same user's signed-out session and a key
    from warroom.auth.revocation import revoke_session_tokens

    user_id = make_user("readonly")
    token = issue_access_token(user_id, "readonly")
    signed_out = issue_access_token(user_id, "readonly", session_id="session-1")
    revoke_session_tokens(["session-1"])
    key = create_key()["key"]
    assert _probe(authorization=f"Bearer {token}")[0] == 200  # loads the script once per Redis
    assert _probe(**{"x-api-key": key})[0] == 200  # caches the key's record

    # WHEN each is used once
    answers, sent = {}, {}
    for name, headers in {
        "bearer": {"authorization": f"Bearer {token}"},
        "revoked": {"authorization": f"Bearer {signed_out}"},
        "api key": {"x-api-key": key},
    }.items():
        sent[name] = _sent_to_redis(
            own_redis.url, lambda headers=headers, name=name: answers.update({name: _probe(**headers)})
        )

    # THEN each sent exactly one command: revocation and the user's quota in one script, the key's quota in one
    assert sent == {"bearer": ["EVALSHA"], "revoked": ["EVALSHA"], "api key": ["EVALSHA"]}
    assert answers["bearer"][0] == 200 and answers["bearer"][1]["x-ratelimit-remaining"] == "9998"
    assert answers["revoked"][0] == 401 and answers["revoked"][2]["error"]["details"] == {"reason": "token_revoked"}
    assert answers["api key"][0] == 200 and answers["api key"][1]["x-ratelimit-remaining"] == "998"


@pytest.mark.parametrize("refusal", ["OOM", "READONLY"])
def test_when_redis_refuses_writes_bearer_fails_open_keys_fall_back_and_health_says_so(
    invoke, own_redis, token_for, key_limit, refusal
):
    # GIVEN a key with a limit of 2, a bearer token, a revoked token; then Redis refuses every write
    # (a real OOM with maxmemory 1 and noeviction, or a real READONLY as a replica) while still answering PING
    import time

    from warroom.auth.revocation import revoke_token
    from warroom.core.security import decode_access_token

    key_limit(2)
    token, revoked = token_for("readonly"), token_for("readonly")
    revoke_token(decode_access_token(revoked).token_id, time.time() + 900)
    admin_token = token_for("admin")
    created = invoke(ADMIN, "admin_create_api_key", token=admin_token, body={"name": "bi", "role": "readonly"}).body
    server = redis.Redis.from_url(own_redis.url)
    if refusal == "OOM":
        server.config_set("maxmemory-policy", "noeviction")
        server.config_set("maxmemory", 1)
    else:
        server.replicaof("127.0.0.1", 1)

    # WHEN the bearer token and the key are used, and health is asked
    bearer = [_probe(authorization=f"Bearer {token}") for _ in range(3)]
    keyed = [_probe(**{"x-api-key": created["key"]}) for _ in range(3)]
    refused = _probe(authorization=f"Bearer {revoked}")
    health = invoke(SYSTEM, "system_health")
    server.config_set("maxmemory", 0)
    server.replicaof("NO", "ONE")

    # THEN bearer requests are served without quota headers (fail open, as with Redis down)
    assert [status for status, _, _ in bearer] == [200, 200, 200]
    assert "x-ratelimit-limit" not in bearer[0][1]
    # AND a revoked token is still refused: the script reads the deny lists before its first write
    assert refused[0] == 401 and refused[2]["error"]["details"] == {"reason": "token_revoked"}
    # AND the key is limited by this container's own window
    assert [status for status, _, _ in keyed] == [200, 200, 429]
    assert [headers["x-ratelimit-remaining"] for _, headers, _ in keyed] == ["1", "0", "0"]
    # AND health: Redis answers, but the limiter is down in local mode, naming the refusal
    assert health.status == 200
    assert health.body["status"] == "degraded"
    assert health.body["dependencies"]["redis"]["status"] == "up"
    assert health.body["dependencies"]["rate_limiter"] == {
        "status": "down",
        "latency_ms": None,
        "error": refusal,
        "mode": "local",
    }
