"""Benchmarks of governance (``make bench``): ratios against baselines measured in the same run.

1. A warm protected request with an API key (cached lookup + Redis quota) vs. the same request with a
   bearer token and no quota: what authenticating by key and counting the request cost.
2. ``GET /audit/verify`` over 100,000 entries vs. one plain scan reading the same rows: what recomputing
   the hash chain costs on top of reading it.
"""

from __future__ import annotations

import json
import statistics
import time

import psycopg
import pytest

from localcloud.lambda_runtime import LambdaRuntime
from localcloud.template import load_template, read_functions
from tests.conftest import PROJECT_ROOT, load_event

REQUESTS = 300
AUDIT_ROWS = 100_000


def _with_headers(event: dict, **headers: str | None) -> dict:
    for name, value in headers.items():
        name = name.replace("_", "-")
        for key in ("headers", "multiValueHeaders"):
            event[key].pop(name, None)
            if value is not None:
                event[key][name] = value if key == "headers" else [value]
    return event


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


@pytest.fixture
def runtime(services):
    functions = read_functions(load_template(PROJECT_ROOT / "template.yaml"), PROJECT_ROOT)
    direct = LambdaRuntime(functions, {name: {} for name in functions})
    yield direct
    direct.close()


def test_api_key_request_vs_bearer_request(runtime, make_user, monkeypatch):
    from warroom.core.config import reset_settings
    from warroom.core.security import issue_access_token

    # GIVEN an admin's bearer token with the per-user quota off, and a readonly API key
    monkeypatch.setenv("WARROOM_USER_RATE_LIMIT_PER_HOUR", "0")
    monkeypatch.setenv("WARROOM_API_KEY_RATE_LIMIT_PER_HOUR", "1000000")
    reset_settings()
    token = issue_access_token(make_user("admin"), "admin")
    create = _with_headers(load_event("admin_create_api_key"), authorization=f"Bearer {token}")
    key = json.loads(runtime.invoke("AdminFunction", create)["body"])["key"]
    bearer = _with_headers(load_event("system_get_data_mode"), authorization=f"Bearer {token}")
    keyed = _with_headers(load_event("system_get_data_mode"), authorization=None, x_api_key=key)
    for _ in range(30):
        assert runtime.invoke("SystemFunction", bearer)["statusCode"] == 200
        assert runtime.invoke("SystemFunction", keyed)["statusCode"] == 200

    # WHEN both are timed, interleaved; then the bearer request again with its per-user quota on
    bearer_s, keyed_s, bearer_quota_s = [], [], []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        runtime.invoke("SystemFunction", bearer)
        bearer_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        runtime.invoke("SystemFunction", keyed)
        keyed_s.append(time.perf_counter() - started)
    monkeypatch.setenv("WARROOM_USER_RATE_LIMIT_PER_HOUR", "1000000")
    reset_settings()
    for _ in range(30):
        runtime.invoke("SystemFunction", bearer)
    for _ in range(REQUESTS):
        started = time.perf_counter()
        runtime.invoke("SystemFunction", bearer)
        bearer_quota_s.append(time.perf_counter() - started)

    baseline = statistics.median(bearer_s)
    print(f"\nwarm GET /api/v1/settings/data-mode, median of {REQUESTS}:")
    print(f"  bearer token, no quota:        {_median_ms(bearer_s):.3f} ms")
    print(f"  bearer token + user quota:     {_median_ms(bearer_quota_s):.3f} ms")
    print(f"  API key (cached) + key quota:  {_median_ms(keyed_s):.3f} ms")
    print(
        f"  ratios to the first:           {statistics.median(bearer_quota_s) / baseline:.2f}x, "
        f"{statistics.median(keyed_s) / baseline:.2f}x"
    )
    assert baseline > 0


def test_verify_vs_plain_scan(runtime, services, make_user):
    from warroom.core.security import issue_access_token

    # GIVEN 100,000 audit entries
    token = issue_access_token(make_user("manager"), "manager")
    with psycopg.connect(services.database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO audit_logs (action, resource_type, resource_id, details, ip_address, user_agent)"
            " SELECT 'bench.action', 'thing', g::text, jsonb_build_object('n', g, 'note', 'some text'),"
            " '203.0.113.7', 'bench' FROM generate_series(1, %s) g",
            (AUDIT_ROWS,),
        )
        conn.execute("VACUUM ANALYZE audit_logs")
        verify = _with_headers(load_event("audit_verify"), authorization=f"Bearer {token}")

        # WHEN verify and a plain scan of the same columns are timed
        verify_s, scan_s = [], []
        for _ in range(3):
            started = time.perf_counter()
            answer = runtime.invoke("AuditFunction", verify)
            verify_s.append(time.perf_counter() - started)
            assert '"ok":true' in answer["body"]
            started = time.perf_counter()
            conn.execute(
                "SELECT count(*), max(length(details::text || coalesce(user_agent, '') || hash)) FROM audit_logs"
            ).fetchone()
            scan_s.append(time.perf_counter() - started)

    ratio = min(verify_s) / min(scan_s)
    print(f"\nGET /api/v1/audit/verify over {AUDIT_ROWS + 1} entries, best of 3:")
    print(f"  verify (walk + recompute every hash): {min(verify_s) * 1000:.0f} ms")
    print(f"  plain scan of the same rows:          {min(scan_s) * 1000:.0f} ms")
    print(f"  ratio verify / scan:                  {ratio:.1f}x")
    assert ratio > 0


def test_protected_read_throughput_vs_unauthenticated(services, make_user, monkeypatch):
    """Requests per second on one read, as public, with a bearer token and with an API key (each with its quota)."""
    from localcloud.gateway import build_proxy_event
    from localcloud.template import ApiRoute
    from warroom.admin.api_keys import create_api_key
    from warroom.core.http import WarRoomApp
    from warroom.core.security import decode_access_token, issue_access_token
    from warroom.system.data_mode import get_data_mode

    # The same view behind the two kinds of route, so only authentication and quotas differ.
    probe = WarRoomApp("bench")
    probe.endpoint("GET", "/bench/public", role=None)(lambda: {"mode": get_data_mode()})
    probe.endpoint("GET", "/bench/protected", role="readonly")(lambda: {"mode": get_data_mode()})
    monkeypatch.setenv("WARROOM_API_KEY_RATE_LIMIT_PER_HOUR", "1000000")
    from warroom.core.config import reset_settings

    reset_settings()
    admin_id = make_user("admin")
    token = issue_access_token(admin_id, "admin")
    key = create_api_key("bench", "readonly", None, decode_access_token(token), {"user_id": admin_id}).key

    def event(path: str, headers: list[tuple[str, str]]) -> dict:
        return build_proxy_event("GET", path, b"", headers, b"", ApiRoute("Bench", "GET", path), {}, "127.0.0.1", "x")

    cases = {
        "public": event("/bench/public", []),
        "bearer": event("/bench/protected", [("authorization", f"Bearer {token}")]),
        "api key": event("/bench/protected", [("x-api-key", key)]),
    }
    rates = {}
    for name, request in cases.items():
        for _ in range(50):
            assert probe(request, None)["statusCode"] == 200
        started = time.perf_counter()
        for _ in range(REQUESTS * 3):
            probe(request, None)
        rates[name] = REQUESTS * 3 / (time.perf_counter() - started)
    print(f"\nrequests/s on one read (handler called directly, {REQUESTS * 3} each):")
    for name, rate in rates.items():
        print(f"  {name:<8} {rate:8,.0f}/s  ratio to public {rate / rates['public']:.2f}")
    assert all(rate > 0 for rate in rates.values())


def test_login_throughput_vs_bcrypt(runtime, make_user, db):
    """Logins per second through the auth function vs. the bcrypt verification each of them pays for."""
    from warroom.auth.passwords import hash_password, verify_password

    password = "correct horse battery staple 2026"
    hashed = hash_password(password)
    user_id = make_user("user", email="bench-login@example.org")
    db.execute("UPDATE users SET password_hash = %s WHERE id = %s", (hashed, user_id))
    login = _with_headers(load_event("auth_login"), authorization=None)
    login["body"] = json.dumps({"email": "bench-login@example.org", "password": password})
    rounds = 12
    assert runtime.invoke("AuthFunction", login)["statusCode"] == 200
    started = time.perf_counter()
    for _ in range(rounds):
        runtime.invoke("AuthFunction", login)
    login_rate = rounds / (time.perf_counter() - started)
    started = time.perf_counter()
    for _ in range(rounds):
        verify_password(password, hashed)
    bcrypt_rate = rounds / (time.perf_counter() - started)
    print(
        f"\nlogin throughput (one thread): {login_rate:.2f}/s; bcrypt verify alone {bcrypt_rate:.2f}/s; "
        f"ratio {login_rate / bcrypt_rate:.2f}"
    )
    assert login_rate > 0
