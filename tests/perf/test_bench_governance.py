"""Benchmarks of governance (``make bench``): ratios against baselines measured in the same run.

1. A warm protected request with an API key (cached lookup + Redis quota) vs. the same request with a
   bearer token and no quota: what authenticating by key and counting the request cost.
2. ``GET /audit/verify`` over 100,000 entries vs. one plain scan reading the same rows: what recomputing
   the hash chain costs on top of reading it.
3. One read through the handler, public vs. bearer token + user quota vs. API key + key quota: what the
   whole per-request authentication path (token check, revocation and quota in one Redis script) adds.
4. Logins per second vs. the bcrypt verification each pays for.
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


def test_protected_read_vs_public_read_through_the_handler(services, make_user, monkeypatch):
    """One warm read through the handler as public, with a bearer token and with an API key (each with its quota):
    what the whole per-request authentication path (token check, revocation, quota) adds to a GET."""
    from localcloud.gateway import build_proxy_event
    from localcloud.template import ApiRoute
    from warroom.admin.api_keys import create_api_key
    from warroom.auth.guard import authenticate_request
    from warroom.core.config import reset_settings
    from warroom.core.data_mode import get_data_mode
    from warroom.core.http import WarRoomApp
    from warroom.core.ratelimit import RedisScript
    from warroom.core.security import decode_access_token, issue_access_token

    # GIVEN the same view behind a public and a protected route, so only authentication and quotas differ
    probe = WarRoomApp("bench", authenticate=authenticate_request)
    probe.endpoint("GET", "/bench/public", role=None, response=dict[str, str])(lambda: {"mode": get_data_mode()})
    probe.endpoint("GET", "/bench/protected", role="readonly", response=dict[str, str])(
        lambda: {"mode": get_data_mode()}
    )
    monkeypatch.setenv("WARROOM_API_KEY_RATE_LIMIT_PER_HOUR", "1000000")
    monkeypatch.setenv("WARROOM_USER_RATE_LIMIT_PER_HOUR", "1000000")
    # Request timings are not flushed every 200 requests: the flusher's background write would land on
    # whichever block follows (it waits for the GIL while a block without I/O runs), not on authentication.
    monkeypatch.setenv("WARROOM_PERF_FLUSH_BATCH", "1000000")
    reset_settings()
    admin_id = make_user("admin")
    token = issue_access_token(admin_id, "admin", session_id="bench-session")
    key = create_api_key("bench", "readonly", None, decode_access_token(token), {"user_id": admin_id}).key

    def event(path: str, headers: list[tuple[str, str]]) -> dict:
        return build_proxy_event("GET", path, b"", headers, b"", ApiRoute("Bench", "GET", path), {}, "127.0.0.1", "x")

    cases = {
        "public": event("/bench/public", []),
        "bearer + user quota": event("/bench/protected", [("authorization", f"Bearer {token}")]),
        "API key + key quota": event("/bench/protected", [("x-api-key", key)]),
    }
    for request in cases.values():
        for _ in range(50):
            assert probe(request, None)["statusCode"] == 200

    # AND, as the floor of any Redis-backed check, one round trip of an empty script on the same connection
    empty_script = RedisScript("bench_round_trip", "return 1")
    assert empty_script.run([], []) == 1

    # WHEN each is timed in blocks of 100 requests, the cases interleaved block by block
    blocks: dict[str, list[float]] = {name: [] for name in [*cases, "round trip"]}
    for _ in range(REQUESTS // 10):
        for name, request in cases.items():
            started = time.perf_counter()
            for _ in range(100):
                probe(request, None)
            blocks[name].append((time.perf_counter() - started) / 100)
        started = time.perf_counter()
        for _ in range(100):
            empty_script.run([], [])
        blocks["round trip"].append((time.perf_counter() - started) / 100)

    # THEN the figures, and what authentication adds to the public read (target: 0.25 ms)
    per_request_ms = {name: statistics.median(samples) * 1000 for name, samples in blocks.items()}
    round_trip_ms = per_request_ms.pop("round trip")
    public_ms = per_request_ms["public"]
    print(f"\nwarm GET through the handler (called directly), median of {REQUESTS // 10} blocks of 100:")
    for name, ms in per_request_ms.items():
        print(
            f"  {name:<20} {ms:6.3f} ms  {1000 / ms:8,.0f}/s  ratio to public {ms / public_ms:5.2f}x"
            f"  auth adds {ms - public_ms:6.3f} ms"
        )
    print(f"  one Redis round trip (EVALSHA of 'return 1', same connection): {round_trip_ms:.3f} ms")
    assert all(ms > 0 for ms in per_request_ms.values())


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
