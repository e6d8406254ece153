"""The system function through its real handler: health, settings, the data mode and their 4xx answers."""

from __future__ import annotations

import datetime as dt
import json

import jwt
import pytest
import redis

from tests.conftest import TEST_JWT_SECRET

SYSTEM = "SystemFunction"


def test_health_reports_mode_and_every_dependency(invoke):
    # WHEN the dashboard asks for health
    answer = invoke(SYSTEM, "system_health")
    # THEN everything is up, in MOCK mode, with latencies
    assert answer.status == 200
    assert answer.body["status"] == "ok"
    assert answer.body["data_mode"] == "MOCK"
    assert {name: dep["status"] for name, dep in answer.body["dependencies"].items()} == {
        "postgres": "up",
        "redis": "up",
        "aws": "up",
        "rate_limiter": "up",
    }
    assert answer.body["dependencies"]["postgres"]["latency_ms"] >= 0
    assert answer.headers["x-request-id"] == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"


def test_healthy_answer_is_cached_for_30_seconds(invoke, services):
    # GIVEN one health check
    invoke(SYSTEM, "system_health")
    # THEN Redis holds it under the seed's key with the seed's TTL
    client = redis.Redis.from_url(services.redis_url)
    assert 0 < client.ttl("system:health") <= 30


def test_data_mode_defaults_to_mock(invoke, token_for):
    answer = invoke(SYSTEM, "system_get_data_mode", token=token_for("readonly"))
    assert answer.status == 200
    assert answer.body["mode"] == "MOCK"


def test_admin_switches_data_mode_with_audit_and_cache(invoke, make_user, db, services):
    # GIVEN an admin
    from warroom.core.security import issue_access_token

    admin_id = make_user("admin")
    token = issue_access_token(admin_id, "admin")
    # WHEN they switch to LIVE
    answer = invoke(SYSTEM, "system_put_data_mode", token=token, body={"mode": "LIVE"})
    # THEN the answer, the durable copy, the cache and the audit trail all say LIVE (the broadcast: e2e)
    assert answer.status == 200
    assert answer.body["mode"] == "LIVE"
    assert db.execute("SELECT value FROM settings WHERE key = 'data_mode'").fetchone()["value"] == "LIVE"
    client = redis.Redis.from_url(services.redis_url, decode_responses=True)
    assert client.get("system:data_mode") == "LIVE"
    audit = db.execute("SELECT * FROM audit_logs WHERE action = 'settings.update'").fetchone()
    assert str(audit["user_id"]) == admin_id
    assert audit["details"] == {"old": "MOCK", "new": "LIVE"}
    assert str(audit["ip_address"]) == "203.0.113.7"
    row_level = db.execute("SELECT user_id FROM audit_logs WHERE action = 'INSERT' AND resource_type = 'settings'")
    assert str(row_level.fetchone()["user_id"]) == admin_id
    # AND the next read sees it
    assert invoke(SYSTEM, "system_get_data_mode", token=token).body["mode"] == "LIVE"


def test_data_mode_survives_losing_redis(invoke, token_for, services):
    # GIVEN LIVE mode, then Redis loses everything
    invoke(SYSTEM, "system_put_data_mode", token=token_for("admin"), body={"mode": "LIVE"})
    redis.Redis.from_url(services.redis_url).flushdb()
    from warroom.core import data_mode

    data_mode.forget_local_copy()
    # THEN the mode is read back from PostgreSQL
    assert invoke(SYSTEM, "system_get_data_mode", token=token_for("readonly")).body["mode"] == "LIVE"


@pytest.mark.parametrize("role", ["readonly", "user", "manager"])
def test_data_mode_change_needs_admin(invoke, token_for, db, role):
    answer = invoke(SYSTEM, "system_put_data_mode", token=token_for(role), body={"mode": "LIVE"})
    assert answer.status == 403
    assert answer.error_code == "forbidden"
    assert answer.body["error"]["details"] == {"required_role": "admin", "your_role": role}
    assert db.execute("SELECT count(*) AS n FROM settings").fetchone()["n"] == 0


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        ('{"mode": "LIVE"', None, 400, "bad_request"),
        ("", None, 400, "bad_request"),
        ('{"mode": "TURBO"}', None, 422, "validation_error"),
        ('{"mode": "LIVE", "extra": 1}', None, 422, "validation_error"),
        ("[1, 2]", None, 422, "validation_error"),
        ('{"mode": "LIVE"}', {"content-type": "text/plain"}, 415, "unsupported_media_type"),
        ('{"mode": "LIVE", "pad": "' + "x" * 1_100_000 + '"}', None, 413, "payload_too_large"),
    ],
)
def test_bad_data_mode_bodies_get_4xx_and_change_nothing(invoke, token_for, db, body, headers, status, code):
    answer = invoke(SYSTEM, "system_put_data_mode", token=token_for("admin"), body=body, headers=headers)
    assert answer.status == status
    assert answer.error_code == code
    assert set(answer.body["error"]) == {"code", "message", "details"}
    assert db.execute("SELECT count(*) AS n FROM settings").fetchone()["n"] == 0
    assert db.execute("SELECT count(*) AS n FROM audit_logs WHERE action = 'settings.update'").fetchone()["n"] == 0


def test_validation_errors_list_fields_without_echoing_input(invoke, token_for):
    answer = invoke(SYSTEM, "system_put_data_mode", token=token_for("admin"), body={"mode": "secret-value"})
    assert answer.status == 422
    [detail] = answer.body["error"]["details"]
    assert detail["loc"] == ["body", "mode"]
    assert "secret-value" not in json.dumps(answer.body)


def _token(claims_override: dict, key: str = TEST_JWT_SECRET, algorithm: str = "HS256") -> str:
    now = dt.datetime.now(dt.UTC)
    claims = {
        "iss": "warroom",
        "aud": "warroom-api",
        "sub": "00000000-0000-0000-0000-000000000001",
        "role": "admin",
        "jti": "abc",
        "iat": now,
        "exp": now + dt.timedelta(minutes=15),
    }
    claims.update(claims_override)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm=algorithm)


def _alg_none_token() -> str:
    import base64

    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    now = int(dt.datetime.now(dt.UTC).timestamp())
    claims = {
        "iss": "warroom",
        "aud": "warroom-api",
        "sub": "x",
        "role": "admin",
        "jti": "j",
        "iat": now,
        "exp": now + 900,
    }
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        (None, None),
        ("Basic YWRtaW46YWRtaW4=", None),
        ("Bearer", None),
        ("Bearer not-a-jwt", "token_invalid"),
        ("Bearer " + _token({"exp": dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)}), "token_expired"),
        ("Bearer " + _token({}, key="another-key-that-is-long-enough-to-be-accepted-x"), "token_invalid"),
        ("Bearer " + _token({"aud": "someone-else"}), "token_invalid"),
        ("Bearer " + _token({"iss": "evil"}), "token_invalid"),
        ("Bearer " + _token({"jti": None}), "token_invalid"),
        ("Bearer " + _token({"role": "superuser"}), "token_invalid"),
        ("Bearer " + _token({}, algorithm="HS512"), "token_invalid"),
        ("Bearer " + _alg_none_token(), "token_invalid"),
    ],
)
def test_missing_or_bad_tokens_get_401(invoke, db, authorization, reason):
    answer = invoke(SYSTEM, "system_put_data_mode", body={"mode": "LIVE"}, headers={"authorization": authorization})
    assert answer.status == 401
    assert answer.error_code == "unauthorized"
    assert answer.headers["www-authenticate"].startswith("Bearer")
    if reason:
        assert answer.body["error"]["details"] == {"reason": reason}
    assert db.execute("SELECT count(*) AS n FROM settings").fetchone()["n"] == 0


def test_tampered_token_gets_401(invoke, token_for):
    header, payload, signature = token_for("readonly").split(".")
    import base64

    claims = json.loads(base64.urlsafe_b64decode(payload + "==="))
    claims["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    answer = invoke(
        SYSTEM,
        "system_put_data_mode",
        body={"mode": "LIVE"},
        headers={"authorization": f"Bearer {header}.{forged}.{signature}"},
    )
    assert answer.status == 401


def test_settings_list_shows_every_known_setting(invoke, token_for):
    answer = invoke(SYSTEM, "system_list_settings", token=token_for("readonly"))
    assert answer.status == 200
    by_key = {item["key"]: item for item in answer.body["items"]}
    assert {"data_mode", "registration_open", "timezone"} <= set(by_key)
    assert by_key["timezone"]["value"] == "UTC"
    assert by_key["data_mode"]["value"] == "MOCK"


def test_settings_list_needs_a_token(invoke):
    assert invoke(SYSTEM, "system_list_settings").status == 401


def test_admin_updates_a_setting(invoke, token_for, db):
    answer = invoke(SYSTEM, "system_put_setting", token=token_for("admin"), body={"value": "Europe/Madrid"})
    assert answer.status == 200
    assert answer.body["value"] == "Europe/Madrid"
    assert db.execute("SELECT value FROM settings WHERE key = 'timezone'").fetchone()["value"] == "Europe/Madrid"


@pytest.mark.parametrize(
    ("key", "value", "status"),
    [
        ("timezone", "Mars/Olympus_Mons", 422),
        ("timezone", 42, 422),
        ("registration_open", "perhaps", 422),
        ("colour", "blue", 404),
        ("data_mode", "TURBO", 422),
    ],
)
def test_bad_setting_updates_are_refused(invoke, token_for, db, key, value, status):
    answer = invoke(
        SYSTEM, "system_put_setting", token=token_for("admin"), body={"value": value}, path_parameters={"key": key}
    )
    assert answer.status == status
    assert db.execute("SELECT count(*) AS n FROM settings").fetchone()["n"] == 0


def test_generic_setting_route_changes_data_mode_the_same_way(invoke, token_for, services):
    answer = invoke(
        SYSTEM,
        "system_put_setting",
        token=token_for("admin"),
        body={"value": "LIVE"},
        path_parameters={"key": "data_mode"},
    )
    assert answer.status == 200
    client = redis.Redis.from_url(services.redis_url, decode_responses=True)
    assert client.get("system:data_mode") == "LIVE"


def test_setting_update_needs_admin(invoke, token_for):
    answer = invoke(SYSTEM, "system_put_setting", token=token_for("manager"), body={"value": "UTC"})
    assert answer.status == 403


def test_openapi_document_is_valid_and_lists_every_route(invoke):
    from openapi_spec_validator import validate

    answer = invoke(SYSTEM, "system_openapi")
    assert answer.status == 200
    validate(answer.body)
    operations = {(method.upper(), path) for path, item in answer.body["paths"].items() for method in item}
    assert ("PUT", "/api/v1/settings/data-mode") in operations
    put_mode = answer.body["paths"]["/api/v1/settings/data-mode"]["put"]
    assert put_mode["x-required-role"] == "admin"
    assert {"401", "403", "422", "400", "413"} <= set(put_mode["responses"])


def test_docs_page_and_its_assets(invoke):
    page = invoke(SYSTEM, "system_docs")
    assert page.status == 200
    assert "swagger-ui-bundle.js" in page.body and "docs-init.js" in page.body
    asset = invoke(SYSTEM, "system_docs_asset")
    assert asset.status == 200
    assert asset.headers["content-type"].startswith("text/css")
    missing = invoke(SYSTEM, "system_docs_asset", path_parameters={"name": "..%2F..%2Fsecrets"})
    assert missing.status == 404
    assert missing.error_code == "not_found"
