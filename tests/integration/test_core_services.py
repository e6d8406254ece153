"""The layer core against real PostgreSQL, Redis and moto: migrations, secrets, cache, timings, HTTP glue."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import boto3
import psycopg
import pytest
import redis
from pydantic import BaseModel, Field

from localcloud.gateway import build_proxy_event
from localcloud.template import ApiRoute
from warroom.auth.guard import authenticate_request
from warroom.core import cache as cache_module
from warroom.core.cache import CACHE_TTLS_S, cache
from warroom.core.config import get_settings, reset_settings
from warroom.core.http import RequestContext, WarRoomApp
from warroom.core.migrate import apply_migrations, list_migrations
from warroom.core.pagination import PageQuery


@pytest.fixture
def empty_database(services):
    """A fresh database on the test server, dropped afterwards."""
    name = "migrate_probe"
    admin_url = services.database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    yield services.database_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_migrations_apply_once_in_order(empty_database):
    # WHEN migrations run twice
    first = apply_migrations(empty_database)
    second = apply_migrations(empty_database)
    # THEN every file applied exactly once, recorded with its checksum
    assert first == [p.name for p in list_migrations(Path("infra/migrations"))]
    assert second == []
    with psycopg.connect(empty_database) as conn:
        recorded = [row[0] for row in conn.execute("SELECT name FROM schema_migrations ORDER BY name")]
        assert recorded == first
        assert conn.execute("SELECT extname FROM pg_extension WHERE extname = 'vector'").fetchone()


def test_concurrent_runners_serialise_on_the_advisory_lock(empty_database):
    results: list[list[str]] = []
    runners = [threading.Thread(target=lambda: results.append(apply_migrations(empty_database))) for _ in range(4)]
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join()
    assert sorted(len(r) for r in results) == [0, 0, 0, len(list_migrations(Path("infra/migrations")))]


def test_a_failing_migration_leaves_nothing_half_applied(empty_database, tmp_path):
    (tmp_path / "0001_good.sql").write_text("CREATE TABLE good (id int);")
    (tmp_path / "0002_bad.sql").write_text("CREATE TABLE half (id int); SELECT no_such_function();")
    with pytest.raises(psycopg.errors.UndefinedFunction):
        apply_migrations(empty_database, tmp_path)
    with psycopg.connect(empty_database) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM schema_migrations")] == ["0001_good.sql"]
        assert conn.execute("SELECT to_regclass('half')").fetchone() == (None,)


def test_migration_names_must_sort_unambiguously(tmp_path):
    (tmp_path / "1_core.sql").write_text("")
    with pytest.raises(ValueError, match="NNNN_lower_snake"):
        list_migrations(tmp_path)


def test_audit_trigger_never_copies_secrets(db, make_user):
    make_user("user")
    details = db.execute("SELECT details FROM audit_logs WHERE resource_type = 'users'").fetchone()["details"]
    assert "password_hash" not in details["new"]
    assert details["new"]["role"] == "user"


def test_secrets_come_from_secrets_manager_when_configured(services, monkeypatch):
    # GIVEN the signing key only in a Secrets Manager secret
    arn = boto3.client("secretsmanager").create_secret(
        Name="warroom-test/secrets", SecretString=json.dumps({"JWT_SECRET": "s" * 40, "UNRELATED": "x"})
    )["ARN"]
    monkeypatch.delenv("JWT_SECRET")
    monkeypatch.setenv("WARROOM_SECRETS_ARN", arn)
    reset_settings()
    # WHEN the settings are read
    settings = get_settings()
    # THEN the secret's value is used, and secrets never show in the settings' repr
    assert settings.jwt_secret.get_secret_value() == "s" * 40
    assert "s" * 40 not in repr(settings)


def test_secrets_come_from_ssm_parameters_when_configured(services, monkeypatch):
    # GIVEN the signing key as an SSM SecureString under a prefix, and an unrelated parameter beside it
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name="/warroom-test/JWT_SECRET", Value="p" * 40, Type="SecureString")
    ssm.put_parameter(Name="/warroom-test/SOMETHING_ELSE", Value="x", Type="String")
    monkeypatch.delenv("JWT_SECRET")
    monkeypatch.setenv("WARROOM_SSM_PREFIX", "/warroom-test")
    reset_settings()
    # THEN the parameter is read and decrypted
    assert get_settings().jwt_secret.get_secret_value() == "p" * 40


def test_cache_owns_the_seed_ttls(services):
    assert CACHE_TTLS_S["mentionlytics"] == 300
    assert CACHE_TTLS_S["meta_insights"] == 3600
    assert CACHE_TTLS_S["dashboard_kpis"] == 60
    assert cache.set_json("dashboard_kpis", {"mentions_24h": 12})
    client = redis.Redis.from_url(services.redis_url)
    assert 0 < client.ttl("dashboard:kpi") <= 60
    assert cache.get_json("dashboard_kpis") == {"mentions_24h": 12}
    with pytest.raises(KeyError):
        cache.set_json("something_new", 1)


def test_cache_degrades_to_a_miss_when_redis_is_unreachable(services, monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    reset_settings()
    cache_module.reset_redis()
    assert cache.set_json("health", {"status": "ok"}) is False
    assert cache.get_json("health") is None
    assert cache_module.redis_status()["status"] == "down"


def test_request_timings_reach_performance_logs_in_batches(invoke, db):
    from warroom.core import perf

    for _ in range(3):
        invoke("SystemFunction", "system_health")
    # The requests themselves wrote nothing; the flush writes them in one statement.
    perf.flush()
    rows = db.execute("SELECT service_name, endpoint, status_code, response_time_ms FROM performance_logs").fetchall()
    assert len(rows) >= 3
    assert {(r["service_name"], r["endpoint"], r["status_code"]) for r in rows} == {
        ("system", "GET /api/v1/health", 200)
    }


class Filters(BaseModel):
    source: list[str] = Field(default_factory=list)
    min_score: float = Field(-1, ge=-1, le=1)


class NoteBody(BaseModel):
    text: str = Field(min_length=1, max_length=10)


class LimitOut(BaseModel):
    limit: int


class NoteOut(BaseModel):
    item_id: str
    text: str
    by: str


probe = WarRoomApp("probe", authenticate=authenticate_request)


@probe.endpoint("GET", "/api/v1/probe", role=None, query=Filters, response=Filters)
def list_probe(query: Filters) -> dict:
    return {"source": query.source, "min_score": query.min_score}


@probe.endpoint("GET", "/api/v1/probe/page", role=None, query=PageQuery, response=LimitOut)
def page_probe(query: PageQuery) -> dict:
    return {"limit": query.limit}


@probe.endpoint("POST", "/api/v1/probe/{item_id}", role="user", body=NoteBody, response=NoteOut, status_code=201)
def create_probe(item_id: str, body: NoteBody, ctx: RequestContext) -> dict:
    return {"item_id": item_id, "text": body.text, "by": ctx.principal.user_id}


@probe.endpoint("GET", "/api/v1/probe/boom", role=None, response=LimitOut)
def boom() -> dict:
    raise RuntimeError("password=hunter2 at db.internal:5432")


def _call(method: str, path: str, route: str, *, query: bytes = b"", body: bytes = b"", headers=None, params=None):
    event = build_proxy_event(
        method,
        path,
        query,
        [("content-type", "application/json"), *(headers or [])],
        body,
        ApiRoute("Probe", method, route),
        params or {},
        "198.51.100.1",
        "localhost",
    )
    result = probe(event, None)
    return result["statusCode"], json.loads(result["body"]) if result["body"] else None


def test_query_lists_take_every_value_and_scalars_the_last(services):
    status, body = _call("GET", "/api/v1/probe", "/api/v1/probe", query=b"source=x&source=news&min_score=0.5")
    assert status == 200
    assert body == {"source": ["x", "news"], "min_score": 0.5}


def test_invalid_query_gets_422_with_field_details(services):
    status, body = _call("GET", "/api/v1/probe", "/api/v1/probe", query=b"min_score=7")
    assert status == 422
    assert body["error"]["details"][0]["loc"] == ["query", "min_score"]
    status, body = _call("GET", "/api/v1/probe/page", "/api/v1/probe/page", query=b"limit=5000")
    assert status == 422


def test_body_path_params_principal_and_status(services, token_for):
    token = token_for("user")
    status, body = _call(
        "POST",
        "/api/v1/probe/42",
        "/api/v1/probe/{item_id}",
        body=b'{"text": "hi"}',
        headers=[("authorization", f"Bearer {token}")],
        params={"item_id": "42"},
    )
    assert status == 201
    assert body["item_id"] == "42" and body["text"] == "hi"


def test_unexpected_errors_are_500_without_internals(services):
    status, body = _call("GET", "/api/v1/probe/boom", "/api/v1/probe/boom")
    assert status == 500
    assert body == {"error": {"code": "internal_error", "message": "An internal error occurred.", "details": None}}


def test_revoked_tokens_are_refused_and_later_logins_are_not(services):
    # GIVEN two tokens of one user and one of another
    import time as clock

    from warroom.auth.guard import authenticate_request, verify_access_token
    from warroom.auth.revocation import revoke_session_tokens, revoke_token, revoke_user_tokens
    from warroom.core.errors import Unauthorized
    from warroom.core.security import decode_access_token, issue_access_token

    def caller(token: str) -> str:
        return authenticate_request({"authorization": f"Bearer {token}"}).principal.user_id

    first, second, other = (issue_access_token(u, "user") for u in ("u1", "u1", "u2"))
    in_session = issue_access_token("u3", "user", session_id="s-9")
    # WHEN one token is denied, then one session's, then every token of u1
    revoke_token(decode_access_token(first).token_id, clock.time() + 900)
    with pytest.raises(Unauthorized) as refused:
        caller(first)
    assert refused.value.details == {"reason": "token_revoked"}
    with pytest.raises(Unauthorized):
        verify_access_token(first)  # token/verify says the same, without counting a request
    assert caller(second) == "u1"
    assert caller(in_session) == "u3"
    revoke_session_tokens(["s-9"])
    with pytest.raises(Unauthorized):
        caller(in_session)
    revoke_user_tokens("u1")
    # THEN u1's old tokens are refused, u2's and a token issued afterwards are accepted
    with pytest.raises(Unauthorized):
        caller(second)
    assert caller(other) == "u2"
    clock.sleep(0.002)
    assert caller(issue_access_token("u1", "user")) == "u1"


def test_rate_limit_counts_atomically_and_reports_headers(services):
    from warroom.core.ratelimit import clear, hit, peek

    # GIVEN a limit of 3 per minute
    states = [hit("probe", "key-1", limit=3, window_s=60) for _ in range(4)]
    # THEN three pass with a falling remainder, the fourth is refused with a retry time
    assert [s.allowed for s in states] == [True, True, True, False]
    assert [s.remaining for s in states[:3]] == [2, 1, 0]
    assert states[3].headers()["X-RateLimit-Limit"] == "3"
    assert 1 <= states[3].retry_after_s <= 60
    assert hit("probe", "key-2", limit=3, window_s=60).allowed  # another identifier has its own window
    assert peek("probe", "key-1", limit=3, window_s=60).remaining == 0
    assert clear("probe", "key-1")
    assert peek("probe", "key-1", limit=3, window_s=60).remaining == 3


@pytest.mark.parametrize("where", ["redis", "in-process"])
def test_the_window_moves_event_by_event_in_redis_and_in_process(services, where):
    from warroom.core.ratelimit import LocalMovingWindow, hit

    # GIVEN a limit of 3 per 60 s and events at t = 0, 10 and 20 s (time is a parameter)
    local = LocalMovingWindow()

    def count(at: float):
        if where == "redis":
            return hit("probe", "moving", limit=3, window_s=60, now=1_000_000 + at)
        return local.hit("moving", limit=3, window_s=60, now=1_000_000 + at)

    first = [count(at) for at in (0, 10, 20)]
    # WHEN more come at 30 s (full), 60.5 s (the first has left) and 61 s (full again)
    at_30, at_60, at_61 = count(30), count(60.5), count(61)
    # THEN each slot frees exactly when its event leaves the window, and refused events are not counted
    assert [s.remaining for s in first] == [2, 1, 0]
    assert (at_30.allowed, at_30.remaining, at_30.reset_epoch) == (False, 0, 1_000_060)
    assert (at_60.allowed, at_60.remaining, at_60.reset_epoch) == (True, 0, 1_000_070)
    assert (at_61.allowed, at_61.reset_epoch) == (False, 1_000_070)
    assert [s.reset_epoch for s in first] == [1_000_060] * 3


def test_rate_limit_reports_unknown_when_redis_is_down(services, monkeypatch):
    from warroom.core.ratelimit import hit

    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    reset_settings()
    assert hit("probe", "key-1", limit=3, window_s=60) is None


@pytest.mark.parametrize("refusal", ["out of memory", "read-only replica"])
def test_rate_limit_reports_unknown_when_redis_refuses_writes(own_redis, refusal):
    from warroom.core.ratelimit import clear, hit, peek, shared_window_status

    # GIVEN a Redis that answers PING but refuses every write (a real OOM or READONLY error)
    server = redis.Redis.from_url(own_redis.url)
    assert hit("probe", "key-1", limit=3, window_s=60).allowed
    if refusal == "out of memory":
        server.config_set("maxmemory-policy", "noeviction")
        server.config_set("maxmemory", 1)
    else:
        server.replicaof("127.0.0.1", 1)  # a replica of nothing: stale reads, no writes
    # WHEN counting, peeking and clearing
    # THEN a count is unknown (None, as if Redis were down), a read-only peek still works, clear says it failed
    assert hit("probe", "key-1", limit=3, window_s=60) is None
    assert peek("probe", "key-1", limit=3, window_s=60).remaining == 2
    assert shared_window_status() == {
        "status": "down",
        "error": "OOM" if refusal == "out of memory" else "READONLY",
    }
    if refusal == "read-only replica":
        assert clear("probe", "key-1") is False
    server.config_set("maxmemory", 0)
    server.replicaof("NO", "ONE")
    assert shared_window_status() == {"status": "up"}
