"""A failing dependency: PostgreSQL down answers 503 and loses nothing; Redis down keeps serving."""

from __future__ import annotations

import os

from localcloud import services as local_services

SYSTEM = "SystemFunction"


def test_postgres_down_health_is_503_and_says_why(invoke, own_postgres):
    # GIVEN a healthy system whose database then stops
    assert invoke(SYSTEM, "system_health").status == 200
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).delete("system:health")  # the 30 s cache of the ok answer
    own_postgres.stop()
    # WHEN health is asked
    answer = invoke(SYSTEM, "system_health")
    # THEN 503, status down, postgres down, the rest still reported
    assert answer.status == 503
    assert answer.body["status"] == "down"
    assert answer.body["dependencies"]["postgres"]["status"] == "down"
    assert answer.body["dependencies"]["redis"]["status"] == "up"
    assert answer.body["data_mode"] == "MOCK"


def test_postgres_down_routes_answer_503_with_a_clear_message(invoke, own_postgres, token_for):
    token = token_for("admin")  # the user lives in the shared database; the token is all the route needs
    own_postgres.stop()
    answer = invoke(SYSTEM, "system_put_setting", token=token, body={"value": "UTC"})
    assert answer.status == 503
    assert answer.error_code == "service_unavailable"
    assert answer.body["error"]["details"] == {"dependency": "database"}
    assert "unavailable" in answer.body["error"]["message"]
    assert int(answer.headers["retry-after"]) > 0
    assert "Traceback" not in str(answer.body)


def test_service_recovers_when_postgres_comes_back(invoke, own_postgres, token_for, tmp_path):
    token = token_for("admin")
    own_postgres.stop()
    assert invoke(SYSTEM, "system_list_settings", token=token).status == 503
    # WHEN the same server starts again on the same data
    restarted = local_services.start_postgres(tmp_path / "pgdata")
    os.environ["DATABASE_URL"] = restarted.url
    from tests.conftest import _reset_containers

    _reset_containers()
    try:
        # THEN requests succeed again
        assert invoke(SYSTEM, "system_list_settings", token=token).status == 200
    finally:
        restarted.stop()


def test_redis_down_still_serves_from_postgres_and_health_says_so(invoke, own_redis, token_for):
    # GIVEN LIVE mode stored, then Redis stops
    admin = token_for("admin")
    assert invoke(SYSTEM, "system_put_data_mode", token=admin, body={"mode": "LIVE"}).status == 200
    own_redis.stop()
    from warroom.core import data_mode

    data_mode.forget_local_copy()
    # WHEN the dashboard reads and an admin writes
    read = invoke(SYSTEM, "system_get_data_mode", token=admin)
    write = invoke(SYSTEM, "system_put_data_mode", token=admin, body={"mode": "MOCK"})
    health = invoke(SYSTEM, "system_health")
    # THEN both work from PostgreSQL, and health is degraded (200) naming redis
    assert read.status == 200 and read.body["mode"] == "LIVE"
    assert write.status == 200 and write.body["mode"] == "MOCK"
    assert health.status == 200
    assert health.body["status"] == "degraded"
    assert health.body["dependencies"]["redis"]["status"] == "down"
    assert health.body["dependencies"]["postgres"]["status"] == "up"
