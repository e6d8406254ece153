"""Health: the data mode and each dependency's status and latency, cached for 30 s (the seed).

Example
-------
>>> health, http_status = check_health()
>>> health.dependencies["postgres"].status
'up'

PostgreSQL is the system of record: without it the answer is ``down`` and 503. Redis and the AWS
services are optional for serving requests: without them it is ``degraded`` and still 200. In LIVE mode
the Mentionlytics source is a dependency too, as its last sync left it (``down`` with the cause after a
failed sync: stored data are still served, so ``degraded``; ``not_configured`` without a token). Only
healthy answers are cached, so an outage is reported at once and a recovery within 30 s.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import warroom
from warroom.core.aws import aws_client
from warroom.core.cache import cache, redis_status
from warroom.core.config import DataMode, get_settings
from warroom.core.data_mode import get_data_mode
from warroom.core.db import connection
from warroom.core.errors import DependencyUnavailable
from warroom.core.ratelimit import shared_window_status
from warroom.system.models import DependencyHealth, HealthOut


def _timed(check: Callable[[], None]) -> DependencyHealth:
    started = time.perf_counter()
    try:
        check()
    except Exception as error:
        return DependencyHealth(status="down", error=type(error).__name__)
    return DependencyHealth(status="up", latency_ms=round((time.perf_counter() - started) * 1000, 2))


def _check_postgres() -> None:
    with connection() as conn:
        conn.execute("SELECT 1").fetchone()


def _check_aws() -> DependencyHealth:
    bucket = get_settings().uploads_bucket
    if not bucket:
        return DependencyHealth(status="not_configured")
    return _timed(lambda: aws_client("s3").head_bucket(Bucket=bucket))


def _data_mode_or_default() -> DataMode:
    try:
        return get_data_mode()
    except DependencyUnavailable:
        return get_settings().default_data_mode


def _rate_limiter(redis: DependencyHealth) -> DependencyHealth:
    """The request limiter lives in Redis; without it bearer tokens go unlimited and API keys are limited per
    container (``mode: local``, see :mod:`warroom.core.quotas`). A Redis that answers PING but refuses
    writes (out of memory, a read-only replica) cannot count either: one probe count tells."""
    if redis.status != "up":
        return DependencyHealth(status=redis.status, error=redis.error, mode="local")
    probe = shared_window_status()
    if probe["status"] != "up":
        return DependencyHealth(status="down", error=probe.get("error"), mode="local")
    return DependencyHealth(status="up", mode="redis")


def _check_mentionlytics() -> DependencyHealth:
    """The live source, from its last sync (LIVE mode only): ``down`` with the cause after a failed sync."""
    if get_settings().mentionlytics_api_token is None:
        return DependencyHealth(status="not_configured", error="token_missing")
    from warroom.core.source_status import source_status

    last = source_status("mentionlytics")
    if last is None:
        return DependencyHealth(status="up", mode="no sync recorded yet")
    return DependencyHealth(status=last["status"], error=last.get("cause"), checked_at=last["at"])


def _campaign_configured(platform: str) -> bool:
    settings = get_settings()
    if platform == "meta":
        return bool(settings.meta_access_token and settings.meta_ad_account_ids.strip())
    return bool(settings.google_ads_refresh_token and settings.google_ads_customer_id)


def _check_campaign_source(platform: str) -> DependencyHealth:
    """A paid-media source from its last sync (LIVE only): ``down`` with the cause (``daily_quota_exhausted``,
    ``token_rejected`` ...), and the vendor's warning (Meta: the API version is ageing) while it is up."""
    if not _campaign_configured(platform):
        return DependencyHealth(status="not_configured", error="not_configured")
    from warroom.core.source_status import source_status

    last = source_status(platform)
    if last is None:
        return DependencyHealth(status="up", mode="no sync recorded yet")
    return DependencyHealth(
        status=last["status"], error=last.get("cause"), warning=last.get("warning"), checked_at=last["at"]
    )


def check_health() -> tuple[HealthOut, int]:
    """The health document and its HTTP status (200 unless PostgreSQL is down)."""
    cached = cache.get_json("health")
    if cached is not None:
        return HealthOut.model_validate(cached), 200
    dependencies = {
        "postgres": _timed(_check_postgres),
        "redis": DependencyHealth.model_validate(redis_status()),
        "aws": _check_aws(),
    }
    dependencies["rate_limiter"] = _rate_limiter(dependencies["redis"])
    data_mode = _data_mode_or_default()
    if data_mode == "LIVE":
        dependencies["mentionlytics"] = _check_mentionlytics()
        dependencies["meta"] = _check_campaign_source("meta")
        dependencies["google_ads"] = _check_campaign_source("google_ads")
    if dependencies["postgres"].status != "up":
        status = "down"
    elif any(d.status == "down" for d in dependencies.values()):
        status = "degraded"
    else:
        status = "ok"
    health = HealthOut(
        status=status,
        data_mode=data_mode,
        timestamp=dt.datetime.now(dt.UTC),
        version=warroom.__version__,
        dependencies=dependencies,
    )
    if status == "ok":
        cache.set_json("health", health.model_dump(mode="json"))
    return health, 503 if status == "down" else 200
