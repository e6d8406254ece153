"""GET /metrics/api and /metrics/system and the 1-minute metrics job, through the real handlers."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from localcloud.template import load_template
from tests.conftest import PROJECT_ROOT, _reset_containers, load_event
from warroom.core.job_runs import recorded_job
from warroom.metrics import rollups
from warroom.metrics.histogram import RELATIVE_ERROR

METRICS = "MetricsFunction"
JOB = "MetricsJobFunction"
QUANTILES = {"p50_ms": 0.5, "p95_ms": 0.95, "p99_ms": 0.99}

# Four endpoints of two services; about 1 in 20 answers 5xx, 1 in 10 4xx, 1 in 50 has no timing.
_GENERATE = """
INSERT INTO performance_logs (service_name, endpoint, response_time_ms, status_code, timestamp)
SELECT (ARRAY['alpha', 'alpha', 'beta', 'beta'])[1 + i %% 4],
       (ARRAY['GET /a', 'POST /a', 'GET /b', 'GET /b/{id}'])[1 + i %% 4],
       CASE WHEN i %% 50 = 7 THEN NULL ELSE floor(exp(random() * 7 + (i %% 4) * 0.3))::int END,
       CASE WHEN i %% 20 = 3 THEN 503 WHEN i %% 10 = 1 THEN 404 ELSE 200 END,
       %(start)s + (%(span)s * random())
FROM generate_series(1, %(rows)s) AS i
"""

_EXACT = """
SELECT service_name, endpoint, count(*) AS requests,
       count(*) FILTER (WHERE status_code BETWEEN 400 AND 499) AS errors_4xx,
       count(*) FILTER (WHERE status_code BETWEEN 500 AND 599) AS errors_5xx,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY response_time_ms) AS p50_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY response_time_ms) AS p95_ms,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY response_time_ms) AS p99_ms,
       min(response_time_ms) AS min_ms, max(response_time_ms) AS max_ms
FROM performance_logs WHERE timestamp >= %s AND timestamp < %s
GROUP BY 1, 2
"""


def _generate(db, rows: int, start: dt.datetime, span: dt.timedelta) -> None:
    db.execute(_GENERATE, {"rows": rows, "start": start, "span": span})


def _minute(value: dt.datetime, up: bool = False) -> dt.datetime:
    floored = value.replace(second=0, microsecond=0)
    return floored + dt.timedelta(minutes=1) if up and floored != value else floored


def _assert_matches_exact(figures: dict[str, Any], exact: dict[str, Any]) -> None:
    assert figures["requests"] == exact["requests"]
    assert figures["errors_4xx"] == exact["errors_4xx"]
    assert figures["errors_5xx"] == exact["errors_5xx"]
    assert figures["error_rate"] == pytest.approx(exact["errors_5xx"] / exact["requests"], abs=1e-6)
    assert figures["client_error_rate"] == pytest.approx(exact["errors_4xx"] / exact["requests"], abs=1e-6)
    assert figures["min_ms"] == exact["min_ms"] and figures["max_ms"] == exact["max_ms"]
    for name in QUANTILES:
        # Within the documented bucket precision (plus the answer's rounding to 0.001 ms).
        assert abs(figures[name] - exact[name]) <= RELATIVE_ERROR * exact[name] + 0.001, (name, figures, exact)


@pytest.fixture
def manager(token_for) -> str:
    return token_for("manager")


def test_api_metrics_equal_a_direct_computation_over_rollups_and_raw_rows(invoke, db, lambda_runtime, manager):
    # GIVEN three hours of request timings, rolled up by the metrics job
    now = dt.datetime.now(dt.UTC)
    _generate(db, 12_000, now - dt.timedelta(hours=3, minutes=10), dt.timedelta(hours=3, minutes=8))
    ran = lambda_runtime.invoke(JOB, load_event("metrics_job_schedule"))
    assert ran["rolled_up"] == 12_000 and "error" not in ran
    # AND newer timings, and late ones for minutes already rolled up, that no rollup has seen yet
    _generate(db, 300, now - dt.timedelta(seconds=50), dt.timedelta(seconds=40))
    _generate(db, 200, now - dt.timedelta(hours=2, minutes=5), dt.timedelta(minutes=3))
    # WHEN a manager asks for a period starting mid-hour and mid-minute (hour rollups, minute rollups, raw rows)
    start = now - dt.timedelta(hours=2, minutes=37, seconds=12)
    end = now + dt.timedelta(minutes=1)
    answer = invoke(METRICS, "metrics_api", token=manager, query={"from": [start.isoformat()], "to": [end.isoformat()]})
    # THEN every endpoint's figures equal the direct computation over the same whole minutes
    assert answer.status == 200, answer.body
    window = (_minute(start), _minute(end, up=True))
    assert answer.body["from"] == window[0].isoformat().replace("+00:00", "Z")
    exact = {(r["service_name"], r["endpoint"]): r for r in db.execute(_EXACT, window)}
    got = {(e["service"], e["endpoint"]): e for e in answer.body["endpoints"]}
    assert got.keys() == exact.keys() and answer.body["total_endpoints"] == 4
    for key, row in exact.items():
        _assert_matches_exact(got[key], row)
    # AND sorted by requests, most first, with the period's overall figures
    requests = [e["requests"] for e in answer.body["endpoints"]]
    assert requests == sorted(requests, reverse=True)
    overall = db.execute(_EXACT.replace("GROUP BY 1, 2", "").replace("service_name, endpoint,", ""), window)
    _assert_matches_exact(answer.body["overall"], overall.fetchone())
    assert answer.body["precision"]["exact_below_ms"] == 16


def test_api_metrics_filter_by_service_and_period(invoke, db, lambda_runtime, manager):
    now = dt.datetime.now(dt.UTC)
    _generate(db, 2_000, now - dt.timedelta(hours=20), dt.timedelta(hours=19))
    lambda_runtime.invoke(JOB, load_event("metrics_job_schedule"))
    answer = invoke(METRICS, "metrics_api", token=manager, query={"period": ["24h"], "service": ["beta"]})
    assert answer.status == 200
    assert {e["service"] for e in answer.body["endpoints"]} == {"beta"}
    total = db.execute("SELECT count(*) AS n FROM performance_logs WHERE service_name = 'beta'").fetchone()["n"]
    assert answer.body["overall"]["requests"] == total
    # A period before the traffic has none
    earlier = invoke(METRICS, "metrics_api", token=manager, query={"period": ["15m"], "sort": ["p99"]})
    assert earlier.body["endpoints"] == [] and earlier.body["overall"]["p99_ms"] is None


def test_api_metrics_show_the_traffic_just_made(invoke, manager):
    # GIVEN two requests to the system metrics route, their timings flushed as a container does
    for _ in range(2):
        assert invoke(METRICS, "metrics_system", token=manager).status == 200
    _reset_containers()
    # WHEN the API metrics are asked, no rollup having run
    answer = invoke(METRICS, "metrics_api", token=manager, query={"period": ["15m"], "service": ["metrics"]})
    # THEN they are there, from the raw rows
    found = {e["endpoint"]: e for e in answer.body["endpoints"]}
    assert found["GET /api/v1/metrics/system"]["requests"] == 2
    assert found["GET /api/v1/metrics/system"]["errors_5xx"] == 0


def test_rollup_runs_once_however_often_or_concurrently_it_runs(db):
    # GIVEN timings over two hours
    now = dt.datetime.now(dt.UTC)
    _generate(db, 6_000, now - dt.timedelta(hours=2), dt.timedelta(hours=2))

    def stored() -> list[dict[str, Any]]:
        return db.execute(
            "SELECT resolution, bucket_start, service_name, endpoint, requests, timed, errors_4xx, errors_5xx, sum_ms,"
            " min_ms, max_ms, buckets, counts FROM performance_rollups ORDER BY 1, 2, 3, 4"
        ).fetchall()

    # WHEN two runs go at once, in small chunks, and then another
    threads = [threading.Thread(target=rollups.roll_up, kwargs={"chunk_rows": 700}) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first = stored()
    assert rollups.roll_up().rows == 0
    # THEN every raw row is counted exactly once at each resolution, and a re-run changes nothing
    assert stored() == first
    for resolution in ("minute", "10min", "hour"):
        rows = [r for r in first if r["resolution"] == resolution]
        assert sum(r["requests"] for r in rows) == 6_000
        assert sum(sum(r["counts"]) for r in rows) == sum(r["timed"] for r in rows)
        assert all(r["buckets"] == sorted(set(r["buckets"])) for r in rows)
    assert db.execute("SELECT count(*) AS n FROM performance_logs WHERE response_time_ms IS NOT NULL").fetchone()[
        "n"
    ] == sum(r["timed"] for r in first if r["resolution"] == "hour")
    # AND a run stopped after one chunk resumes where it stopped
    _generate(db, 1_000, now - dt.timedelta(minutes=30), dt.timedelta(minutes=20))
    partial = rollups.roll_up(chunk_rows=300, max_chunks=1)
    rest = rollups.roll_up(chunk_rows=300)
    assert partial.rows + rest.rows == 1_000
    assert sum(r["requests"] for r in stored() if r["resolution"] == "minute") == 7_000


def test_pruning_keeps_what_is_not_rolled_up_and_follows_the_settings(db):
    now = dt.datetime.now(dt.UTC)
    # GIVEN timings three days old (rolled up), a rollup 100 days old, and three-day-old timings not rolled up yet
    _generate(db, 100, now - dt.timedelta(days=3), dt.timedelta(hours=1))
    rollups.roll_up()
    db.execute(
        "INSERT INTO performance_rollups (resolution, bucket_start, service_name, endpoint, requests, timed,"
        " errors_4xx, errors_5xx, sum_ms, buckets, counts)"
        " VALUES ('hour', %s, 'old', 'GET /', 1, 0, 0, 0, 0, '{}', '{}')",
        (now - dt.timedelta(days=100),),
    )
    _generate(db, 10, now - dt.timedelta(days=3), dt.timedelta(hours=1))
    # WHEN pruned
    deleted = rollups.prune(now)
    # THEN the rolled-up old rows and the old rollup went; rows never rolled up stayed, as did recent rollups
    assert deleted == {"performance_logs": 100, "performance_rollups": 1}
    assert db.execute("SELECT count(*) AS n FROM performance_logs").fetchone()["n"] == 10
    assert (
        db.execute("SELECT sum(requests) AS n FROM performance_rollups WHERE resolution = 'hour'").fetchone()["n"]
        == 100
    )
    # AND with the raw retention raised to 100 hours, a later run keeps the rest
    db.execute("INSERT INTO settings (key, value) VALUES ('metrics_raw_retention_hours', '100')")
    rollups.roll_up()
    assert rollups.prune(now) == {"performance_logs": 0, "performance_rollups": 0}


@pytest.mark.parametrize(
    "query",
    [
        {"period": ["2h"]},
        {"period": ["1h"], "from": ["2026-11-01T00:00:00Z"]},
        {"to": ["2026-11-01T00:00:00Z"]},
        {"from": ["2026-11-02T00:00:00Z"], "to": ["2026-11-01T00:00:00Z"]},
        {"from": ["2026-09-01T00:00:00Z"], "to": ["2026-11-01T00:00:00Z"]},
        {"from": ["0001-01-01T00:00:00Z"]},
        {"from": ["yesterday"]},
        {"service": ["Metrics; DROP"]},
        {"sort": ["latency"]},
        {"limit": ["0"]},
    ],
)
def test_bad_periods_and_filters_are_422(invoke, manager, query):
    answer = invoke(METRICS, "metrics_api", token=manager, query=query)
    assert answer.status == 422
    assert answer.error_code == "validation_error"
    assert set(answer.body["error"]) == {"code", "message", "details"}


@pytest.mark.parametrize("event", ["metrics_api", "metrics_system"])
def test_metrics_need_a_manager(invoke, token_for, event):
    for role in ("readonly", "user"):
        answer = invoke(METRICS, event, token=token_for(role))
        assert answer.status == 403 and answer.error_code == "forbidden"
    assert invoke(METRICS, event).status == 401
    assert invoke(METRICS, event, token=token_for("admin")).status == 200


def _template_queues() -> dict[str, dict[str, Any]]:
    resources = load_template(PROJECT_ROOT / "template.yaml")["Resources"]
    return {name: r.get("Properties", {}) for name, r in resources.items() if r["Type"] == "AWS::SQS::Queue"}


@pytest.fixture
def template_queues(services, monkeypatch) -> Iterator[dict[str, str]]:
    """Every queue of template.yaml in moto (with its redrive to its DLQ), named for this test; env pointing at them."""
    sqs = boto3.client("sqs")
    suffix = uuid.uuid4().hex[:8]
    queues = _template_queues()
    urls: dict[str, str] = {}
    arns: dict[str, str] = {}
    # Dead-letter queues first, so the redrive policies can name them.
    for name in sorted(queues, key=lambda n: "RedrivePolicy" in queues[n]):
        attributes = {}
        redrive = queues[name].get("RedrivePolicy")
        if redrive:
            target = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
            policy = {"deadLetterTargetArn": arns[target], "maxReceiveCount": str(redrive["maxReceiveCount"])}
            attributes["RedrivePolicy"] = json.dumps(policy)
        urls[name] = sqs.create_queue(QueueName=f"{name}-{suffix}", Attributes=attributes)["QueueUrl"]
        arns[name] = sqs.get_queue_attributes(QueueUrl=urls[name], AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
    monkeypatch.setenv("WARROOM_METRICS_QUEUE_URLS", ",".join(f"{n}={u}" for n, u in urls.items()))
    _reset_containers()
    yield urls
    for url in urls.values():
        sqs.delete_queue(QueueUrl=url)
    _reset_containers()


@pytest.fixture
def aws_endpoint(template_queues) -> Iterator[Any]:
    """``aws_endpoint(url)`` points the functions at another AWS endpoint (a fresh container's boto3 clients);
    the working one is back before the queues are deleted."""
    from warroom.core.aws import aws_client

    working = os.environ["AWS_ENDPOINT_URL"]

    def point(url: str) -> None:
        os.environ["AWS_ENDPOINT_URL"] = url
        aws_client.cache_clear()
        _reset_containers()

    yield point
    point(working)


def test_system_metrics_show_queues_sockets_jobs_and_sources(invoke, db, lambda_runtime, manager, template_queues):
    # GIVEN three messages waiting in DocumentQueue and one in the auth emails' dead-letter queue
    sqs = boto3.client("sqs")
    for n in range(3):
        sqs.send_message(QueueUrl=template_queues["DocumentQueue"], MessageBody=f"m{n}")
    sqs.send_message(QueueUrl=template_queues["AuthEmailDeadLetterQueue"], MessageBody="failed")
    # AND a connected dashboard, and a scheduled job that just ran
    from warroom.realtime import connections

    connections.register("dash-1", user_id=str(uuid.uuid4()), role="readonly")
    lambda_runtime.invoke("WsSweeperFunction", load_event("scheduled_event"))
    # WHEN a manager asks
    answer = invoke(METRICS, "metrics_system", token=manager)
    # THEN every queue of the template is there with its depth and its dead-letter queue's size
    assert answer.status == 200, answer.body
    body = answer.body
    queues = {q["name"]: q for q in body["queues"]["items"]}
    assert body["queues"]["status"] == "ok" and queues.keys() == _template_queues().keys()
    assert queues["DocumentQueue"]["messages"] == 3
    assert queues["DocumentQueue"]["dead_letter_queue"] == "DocumentDeadLetterQueue"
    assert queues["AuthEmailQueue"]["dead_letter_messages"] == 1
    assert queues["AuthEmailDeadLetterQueue"]["dead_letter"] is True
    assert queues["AuthEmailDeadLetterQueue"]["messages"] == 1
    # AND the socket, the job's last run (the others listed as never run), the sources, health and data mode
    assert body["websockets"] == {"status": "ok", "error": None, "connections": 1}
    jobs = {j["job"]: j for j in body["jobs"]["items"]}
    assert jobs["ws_sweeper"]["status"] == "ok" and jobs["ws_sweeper"]["runs"] == 1
    assert jobs["ws_sweeper"]["duration_ms"] >= 0 and jobs["ws_sweeper"]["last_success_at"]
    assert jobs["crisis_scan"]["status"] == "never_run"
    assert {s["provider"] for s in body["sources"]["items"]} >= {"mock", "mentionlytics", "meta", "google_ads"}
    assert body["health"]["dependencies"]["postgres"]["status"] == "up"
    assert body["data_mode"] == "MOCK"


def test_sqs_down_makes_the_queues_unavailable_not_the_route(invoke, manager, aws_endpoint):
    # GIVEN an AWS endpoint nobody answers
    aws_endpoint("http://127.0.0.1:1")
    answer = invoke(METRICS, "metrics_system", token=manager)
    # THEN the route answers, each queue saying unavailable, the rest readable
    assert answer.status == 200
    assert answer.body["queues"]["status"] == "unavailable"
    assert {q["status"] for q in answer.body["queues"]["items"]} == {"unavailable"}
    assert answer.body["websockets"]["status"] == "ok"
    assert answer.body["jobs"]["status"] == "ok"


def test_job_runs_record_failures_as_well_as_successes(db):
    @recorded_job("probe")
    def failing(event, context):
        raise ValueError("boom")

    @recorded_job("probe")
    def reporting(event, context):
        return {"error": {"dependency": "mentionlytics", "cause": "token_rejected"}}

    with pytest.raises(ValueError):
        failing({}, None)
    assert reporting({}, None)["error"]
    row = db.execute("SELECT * FROM job_runs WHERE job = 'probe'").fetchone()
    assert row["outcome"] == "failed" and "token_rejected" in row["error"]
    assert row["runs"] == 2 and row["failures"] == 2 and row["last_success_at"] is None


def test_health_change_is_broadcast_when_a_dependency_goes_down_and_comes_back(lambda_runtime, dashboard, aws_endpoint):
    tick = lambda: lambda_runtime.invoke(JOB, load_event("metrics_job_schedule"))  # noqa: E731
    # GIVEN a first run (it only records the states) and a second with nothing changed
    assert tick()["changes"] == []
    assert tick()["changes"] == []
    assert dashboard == []
    # WHEN AWS stops answering
    working = os.environ["AWS_ENDPOINT_URL"]
    aws_endpoint("http://127.0.0.1:1")
    down = tick()
    # THEN the dashboard hears which dependencies went down
    assert {(c["dependency"], c["to"]) for c in down["changes"]} == {("aws", "down"), ("sqs", "down")}
    assert [m["event"] for m in dashboard] == ["system:health-change"]
    assert dashboard[0]["data"]["status"] == "degraded"
    # AND when it answers again, that they came back
    aws_endpoint(working)
    back = tick()
    assert {(c["dependency"], c["from"], c["to"]) for c in back["changes"]} == {
        ("aws", "down", "up"),
        ("sqs", "down", "up"),
    }
    assert [m["event"] for m in dashboard] == ["system:health-change"] * 2 and dashboard[1]["data"]["status"] == "ok"
