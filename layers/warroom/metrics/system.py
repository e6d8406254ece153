"""``GET /metrics/system``: queues, sockets, scheduled jobs, sources, health and data mode in one snapshot.

Example
-------
>>> snapshot = system_snapshot()
>>> [(q.name, q.messages) for q in snapshot.queues.items]
[('DocumentQueue', 0), ('DocumentDeadLetterQueue', 0), ...]

Each part is read on its own and a part that cannot be read says ``unavailable`` (with the error's type)
instead of failing the route: SQS down leaves the sockets, jobs and health readable. The queues are those
of ``WARROOM_METRICS_QUEUE_URLS`` (``LogicalId=url,...``, written in template.yaml from every
``AWS::SQS::Queue``); which one is a dead-letter queue, and whose, comes from each queue's own
``RedrivePolicy``. The snapshot is cached for 60 s (``metrics:system``) and refreshed by the 1-minute
metrics job, so dashboards polling it cost one Redis read.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from concurrent.futures import ThreadPoolExecutor

from warroom.core import cache as cache_module
from warroom.core.aws import aws_client
from warroom.core.cache import cache
from warroom.core.config import get_settings
from warroom.core.ingest_cursors import list_cursors
from warroom.core.job_runs import last_runs
from warroom.core.source_status import source_status
from warroom.metrics.models import (
    JobRun,
    JobsState,
    QueuesState,
    QueueState,
    SourcesState,
    SystemMetricsOut,
    WebSocketState,
)
from warroom.realtime import connections
from warroom.system.health import check_health

logger = logging.getLogger(__name__)

# Every schedule of template.yaml, so a job that never ran is listed as such (tests/unit/test_metrics_units.py
# holds this against the template).
SCHEDULED_JOBS = (
    "audit_anchor",
    "crisis_scan",
    "daily_brief",
    "kpi_refresh",
    "metrics_job",
    "report_schedule",
    "retention",
    "source_sync:campaigns",
    "source_sync:mentions",
    "webhook_retry",
    "ws_sweeper",
)
SOURCES = ("mock", "mentionlytics", "meta", "google_ads")
_QUEUE_ATTRIBUTES = (
    "QueueArn",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "RedrivePolicy",
)


def configured_queues() -> dict[str, str]:
    """The queues to report on, by logical id (``WARROOM_METRICS_QUEUE_URLS``)."""
    queues: dict[str, str] = {}
    for pair in get_settings().metrics_queue_urls.split(","):
        name, _, url = pair.strip().partition("=")
        if name and url:
            queues[name.strip()] = url.strip()
    return queues


def _attributes(url: str) -> dict[str, str]:
    return aws_client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=list(_QUEUE_ATTRIBUTES))["Attributes"]


def _count(attributes: dict[str, str], name: str) -> int | None:
    value = attributes.get(name)
    return int(value) if value is not None else None


def queue_states() -> QueuesState:
    """Depth, in-flight and delayed messages of every configured queue, each with its dead-letter queue's size."""
    queues = configured_queues()
    if not queues:
        return QueuesState(status="unavailable", error="not_configured", items=[])
    read: dict[str, dict[str, str] | Exception] = {}
    with ThreadPoolExecutor(max_workers=min(8, len(queues))) as pool:
        futures = {name: pool.submit(_attributes, url) for name, url in queues.items()}
        for name, future in futures.items():
            try:
                read[name] = future.result()
            except Exception as error:
                logger.warning("queue %s: attributes unreadable: %s", name, type(error).__name__)
                read[name] = error
    by_arn = {a["QueueArn"]: name for name, a in read.items() if isinstance(a, dict) and "QueueArn" in a}
    targets: dict[str, str | None] = {}
    for name, attributes in read.items():
        targets[name] = None
        if isinstance(attributes, dict) and attributes.get("RedrivePolicy"):
            arn = json.loads(attributes["RedrivePolicy"]).get("deadLetterTargetArn")
            targets[name] = by_arn.get(arn, arn.rsplit(":", 1)[-1] if arn else None)
    dead_letters = {target for target in targets.values() if target}
    items = []
    for name, attributes in read.items():
        if isinstance(attributes, Exception):
            items.append(
                QueueState(
                    name=name,
                    status="unavailable",
                    dead_letter=name in dead_letters,
                    messages=None,
                    in_flight=None,
                    delayed=None,
                    dead_letter_queue=None,
                    dead_letter_messages=None,
                    error=type(attributes).__name__,
                )
            )
            continue
        target = targets[name]
        target_attributes = read.get(target) if target else None
        items.append(
            QueueState(
                name=name,
                status="ok",
                dead_letter=name in dead_letters,
                messages=_count(attributes, "ApproximateNumberOfMessages"),
                in_flight=_count(attributes, "ApproximateNumberOfMessagesNotVisible"),
                delayed=_count(attributes, "ApproximateNumberOfMessagesDelayed"),
                dead_letter_queue=target,
                dead_letter_messages=_count(target_attributes, "ApproximateNumberOfMessages")
                if isinstance(target_attributes, dict)
                else None,
            )
        )
    status = "ok" if all(item.status == "ok" for item in items) else "unavailable"
    return QueuesState(status=status, error=None if status == "ok" else "some queues could not be read", items=items)


def _websockets(redis_up: bool) -> WebSocketState:
    if not redis_up:
        return WebSocketState(status="unavailable", error="redis_down", connections=None)
    return WebSocketState(status="ok", connections=connections.count())


def _jobs() -> JobsState:
    try:
        runs = last_runs()
    except Exception as error:
        return JobsState(status="unavailable", error=type(error).__name__, items=[])
    items = []
    for job in sorted(set(SCHEDULED_JOBS) | set(runs)):
        run = runs.get(job)
        if run is None:
            items.append(
                JobRun(
                    job=job,
                    status="never_run",
                    started_at=None,
                    finished_at=None,
                    duration_ms=None,
                    error=None,
                    last_success_at=None,
                    runs=0,
                    failures=0,
                )
            )
        else:
            items.append(JobRun(status=run.pop("outcome"), **run))
    return JobsState(status="ok", items=items)


def _sources(redis_up: bool) -> SourcesState:
    errors = []
    try:
        cursors = list_cursors()
    except Exception as error:
        errors.append(f"cursors: {type(error).__name__}")
        cursors = []
    if not redis_up:
        errors.append("sync status: redis_down")
    items = []
    for provider in sorted(set(SOURCES) | {c["provider"] for c in cursors}):
        last = source_status(provider) if redis_up else None
        items.append(
            {
                "provider": provider,
                "last_sync": last,
                "cursors": [
                    {"project": c["project"], "cursor": c["cursor"], "updated_at": c["updated_at"]}
                    for c in cursors
                    if c["provider"] == provider
                ],
            }
        )
    return SourcesState(status="unavailable" if errors else "ok", error="; ".join(errors) or None, items=items)


def system_snapshot(*, fresh_health: bool = False) -> SystemMetricsOut:
    """Read every part now (``fresh_health`` skips the 30 s health cache) and cache the snapshot for 60 s."""
    if fresh_health:
        cache.delete("health")
    health, _ = check_health()
    redis_up = cache_module.redis_status()["status"] == "up"
    snapshot = SystemMetricsOut(
        generated_at=dt.datetime.now(dt.UTC),
        data_mode=health.data_mode,
        health=health.model_dump(mode="json", exclude={"data_mode"}),
        queues=queue_states(),
        websockets=_websockets(redis_up),
        jobs=_jobs(),
        sources=_sources(redis_up),
    )
    cache.set_json("metrics_system", snapshot.model_dump(mode="json"))
    return snapshot


def system_metrics() -> SystemMetricsOut:
    """The cached snapshot when the metrics job (or a request) made one in the last minute, else a new one."""
    cached = cache.get_json("metrics_system")
    if cached is not None:
        return SystemMetricsOut.model_validate(cached)
    return system_snapshot()
