"""Local cloud timings (``make bench``), each against a baseline measured in the same run.

The default test run asserts only behaviour (order, counts, state); the durations behind it are measured here:

1. A queue poller's stop vs. one empty long poll (``WaitTimeSeconds=1``): stopping waits at most for that poll.
2. The gateway's 504 vs. the function's Timeout (answered at the timeout, not when the handler returns), and two
   requests on a single container vs. one request (they run one after the other).
3. ``warroom dev``'s exit after SIGTERM, idle and with a request in flight, vs. the 3 s it is allowed
   (``localcloud.dev``): printed, as every timing here.
"""

from __future__ import annotations

import signal
import textwrap
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
from starlette.testclient import TestClient

from localcloud.gateway import create_gateway
from localcloud.lambda_runtime import LambdaRuntime
from localcloud.queues import QueuePoller
from localcloud.template import ApiRoute, FunctionSpec, QueueConsumer
from tests.e2e.conftest import start_local_cloud
from tests.e2e.test_local_cloud import project_with_stuck_function, stop_with_a_request_in_flight

STOP_BUDGET_S = 3.0  # what `warroom dev` promises (localcloud/dev.py)
SLEEPING_HANDLER = """
import time

def handler(event, context):
    time.sleep(float((event.get("queryStringParameters") or {}).get("s", "0")))
    return {"statusCode": 200, "body": "{}"}
"""


def _function(tmp_path: Path, name: str, timeout_s: float) -> FunctionSpec:
    (tmp_path / name).mkdir(exist_ok=True)
    (tmp_path / name / "app.py").write_text(textwrap.dedent(SLEEPING_HANDLER))
    return FunctionSpec(name, tmp_path / name, "app.handler", timeout_s, 128, {}, {})


def test_poller_stop_vs_one_empty_long_poll(tmp_path, backing):
    sqs = boto3.client("sqs")
    name = f"bench-{uuid.uuid4().hex[:8]}"
    sqs.create_queue(QueueName=name)
    spec = _function(tmp_path, "Consumer", 3)
    runtime = LambdaRuntime({"Consumer": spec}, {"Consumer": {}})
    consumer = QueueConsumer("Consumer", "Jobs", f"arn:aws:sqs:us-east-1:123456789012:{name}")
    poller = QueuePoller(consumer, runtime, on_invocation=lambda record: None)
    try:
        started = time.perf_counter()
        assert poller.poll_once() is None  # baseline: one empty long poll
        long_poll_s = time.perf_counter() - started
        stops = []
        for _ in range(5):
            poller = QueuePoller(consumer, runtime, on_invocation=lambda record: None)
            poller.start()
            time.sleep(0.3)  # into a long poll
            started = time.perf_counter()
            poller.stop()
            stops.append(time.perf_counter() - started)
            assert not poller.is_running()
    finally:
        runtime.close()
        sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"])
    print(
        f"\nempty long poll {long_poll_s:.2f} s; stop {max(stops):.2f} s at worst "
        f"({max(stops) / long_poll_s:.2f}x the long poll)"
    )
    assert long_poll_s > 0


def test_gateway_timeout_and_single_container_timings(tmp_path):
    functions = {"Slow": _function(tmp_path, "Slow", 0.3), "Serial": _function(tmp_path, "Serial", 5)}
    routes = [ApiRoute("Slow", "GET", "/slow"), ApiRoute("Serial", "GET", "/serial")]
    app = create_gateway(
        functions, routes, {name: {} for name in functions}, None, max_concurrency_per_function=1, on_invocation=print
    )
    with TestClient(app) as client, ThreadPoolExecutor(2) as pool:
        client.get("/serial")  # both containers warm
        started = time.perf_counter()
        assert client.get("/slow", params={"s": "1.5"}).status_code == 504
        answered_s = time.perf_counter() - started
        started = time.perf_counter()
        assert client.get("/serial", params={"s": "0.3"}).status_code == 200
        one_s = time.perf_counter() - started
        started = time.perf_counter()
        answers = list(pool.map(lambda _: client.get("/serial", params={"s": "0.3"}), range(2)))
        two_s = time.perf_counter() - started
    app.state.runtime.close()
    assert [answer.status_code for answer in answers] == [200, 200]
    print(
        f"\n504 after {answered_s:.2f} s for a 0.3 s Timeout ({answered_s / 0.3:.2f}x; the handler ran 1.5 s); "
        f"two requests on one container {two_s:.2f} s vs one {one_s:.2f} s ({two_s / one_s:.2f}x)"
    )
    assert answered_s > 0


def test_warroom_dev_exit_after_sigterm(tmp_path):
    exits = {}
    cloud = start_local_cloud(tmp_path / "idle", "--no-reload", "--schedules", "off")
    started = time.monotonic()
    assert cloud.stop() == 0
    exits["idle"] = time.monotonic() - started
    template = project_with_stuck_function(tmp_path / "project")
    for mode, extra in (("busy, no reload", ["--no-reload"]), ("busy, reload", [])):
        cloud = start_local_cloud(tmp_path / mode.replace(", ", "-").replace(" ", "-"), *extra, template=template)
        (template.parent / "functions" / "stuck" / "running").unlink(missing_ok=True)
        exits[mode], _ = stop_with_a_request_in_flight(cloud, template, signal.SIGTERM)
        cloud.stop()
    print(
        "\n"
        + "; ".join(f"{mode}: exit {s:.2f} s ({s / STOP_BUDGET_S:.2f}x the 3 s budget)" for mode, s in exits.items())
    )
    assert all(s > 0 for s in exits.values())
