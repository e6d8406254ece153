"""``warroom dev`` driven over HTTP exactly as a frontend developer's browser would."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from openapi_spec_validator import validate

from localcloud import lifeline
from localcloud.template import load_template, read_api_routes, read_functions
from tests.conftest import PROJECT_ROOT
from tests.e2e.conftest import LocalCloud, start_local_cloud

pytestmark = pytest.mark.e2e

# A function whose handler says it runs (a file beside it), then does not return for a long while.
STUCK_FUNCTION = """
  StuckFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/stuck/
      Handler: app.handler
      Timeout: 120
      Events:
        Stuck: {Type: Api, Properties: {Path: /api/v1/stuck, Method: get}}
"""
STUCK_HANDLER = """
import pathlib
import threading


def handler(event, context):
    pathlib.Path(__file__).with_name("running").touch()
    threading.Event().wait(110)
    return {"statusCode": 200, "body": "{}"}
"""


def _alive(pid: int) -> bool:
    return lifeline.is_running(pid)


def wait_until(condition: Callable[[], bool], timeout_s: float = 30) -> bool:
    """Poll `condition` until true; the deadline only bounds a failure."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def descendants(pid: int) -> dict[int, str]:
    """Every process below `pid` right now, with its command line (from /proc)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError):
            continue
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return {child: " ".join(lifeline.command_line(child) or []) for child in found}


def project_with_stuck_function(root: Path) -> Path:
    """A copy of the project's functions and template plus `StuckFunction`; returns the template's path."""
    shutil.copytree(PROJECT_ROOT / "functions", root / "functions", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "functions" / "stuck").mkdir()
    (root / "functions" / "stuck" / "app.py").write_text(STUCK_HANDLER)
    template = (
        (PROJECT_ROOT / "template.yaml").read_text().replace("\nResources:\n", "\nResources:\n" + STUCK_FUNCTION, 1)
    )
    (root / "template.yaml").write_text(template)
    return root / "template.yaml"


def stop_with_a_request_in_flight(cloud: LocalCloud, template: Path, stop_signal: int) -> tuple[float, dict[int, str]]:
    """Send `stop_signal` while StuckFunction runs; returns how long the exit took and the processes it had."""
    running = template.parent / "functions" / "stuck" / "running"
    requests: list[threading.Thread] = []

    def handler_running() -> bool:
        if running.exists():
            return True
        if not requests or not requests[-1].is_alive():  # none yet, or a reload cut the last one short
            requests.append(
                threading.Thread(target=_get_ignoring_disconnects, args=(f"{cloud.base_url}/api/v1/stuck",))
            )
            requests[-1].daemon = True
            requests[-1].start()
        return False

    assert wait_until(handler_running, timeout_s=60), cloud.log()
    children = descendants(cloud.process.pid)
    started = time.monotonic()
    cloud.process.send_signal(stop_signal)
    assert wait_until(lambda: cloud.process.poll() is not None, timeout_s=60), "warroom dev did not exit"
    return time.monotonic() - started, children


def _get_ignoring_disconnects(url: str) -> None:
    # The server may go away under the request: that is the point.
    with contextlib.suppress(httpx.HTTPError):
        httpx.get(url, timeout=120)


def test_health_is_up_in_mock_mode_with_every_dependency(local_cloud):
    answer = local_cloud.client.get("/api/v1/health")
    assert answer.status_code == 200
    body = answer.json()
    assert body["data_mode"] == "MOCK"
    assert body["status"] == "ok"
    assert {k: v["status"] for k, v in body["dependencies"].items()} == {
        "postgres": "up",
        "redis": "up",
        "aws": "up",
        "rate_limiter": "up",
    }


def test_openapi_is_valid_and_lists_every_template_route(local_cloud):
    document = local_cloud.client.get("/api/v1/openapi.json").json()
    validate(document)
    functions = read_functions(load_template(PROJECT_ROOT / "template.yaml"), PROJECT_ROOT)
    in_template = {(r.method, r.path) for r in read_api_routes(functions)}
    in_document = {(m.upper(), p) for p, item in document["paths"].items() for m in item}
    assert in_document == in_template


def test_docs_page_renders_with_its_assets(local_cloud):
    page = local_cloud.client.get("/api/v1/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "swagger-ui" in page.text
    for asset in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"):
        response = local_cloud.client.get(f"/api/v1/docs/assets/{asset}")
        assert response.status_code == 200, asset
        assert len(response.content) > 1000


def test_data_mode_change_needs_a_token_and_then_works_for_an_admin(local_cloud):
    # WHEN nobody is logged in
    anonymous = local_cloud.client.put("/api/v1/settings/data-mode", json={"mode": "LIVE"})
    # THEN 401 in the error shape
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthorized"
    # WHEN the admin switches to LIVE and back
    headers = {"Authorization": f"Bearer {local_cloud.admin_token()}"}
    live = local_cloud.client.put("/api/v1/settings/data-mode", json={"mode": "LIVE"}, headers=headers)
    assert live.status_code == 200
    assert local_cloud.client.get("/api/v1/settings/data-mode", headers=headers).json()["mode"] == "LIVE"
    assert local_cloud.client.get("/api/v1/health").json()["data_mode"] in {"LIVE", "MOCK"}  # health is cached 30 s
    back = local_cloud.client.put("/api/v1/settings/data-mode", json={"mode": "MOCK"}, headers=headers)
    assert back.json()["mode"] == "MOCK"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("GET", "/api/v1/no-such-thing", {}, 404, "not_found"),
        ("DELETE", "/api/v1/health", {}, 405, "method_not_allowed"),
        ("PUT", "/api/v1/settings/data-mode", {"content": b'{"mode": '}, 400, "bad_request"),
        ("PUT", "/api/v1/settings/data-mode", {"json": {"mode": "FAST"}}, 422, "validation_error"),
        (
            "PUT",
            "/api/v1/settings/data-mode",
            {"json": {"mode": "LIVE", "pad": "x" * 2_000_000}},
            413,
            "payload_too_large",
        ),
        ("PUT", "/api/v1/settings/data-mode", {"content": b"x" * (10 * 1024 * 1024 + 1)}, 413, "payload_too_large"),
    ],
)
def test_bad_requests_get_the_error_shape(local_cloud, method, path, kwargs, status, code):
    headers = {"Authorization": f"Bearer {local_cloud.admin_token()}"}
    answer = local_cloud.client.request(method, path, headers=headers, **kwargs)
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code
    assert set(answer.json()["error"]) == {"code", "message", "details"}
    if status == 405:
        assert "GET" in answer.headers["allow"]


def test_cors_preflight_and_headers(local_cloud):
    preflight = local_cloud.client.options(
        "/api/v1/settings/data-mode",
        headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert preflight.status_code in (200, 204)
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "PUT" in preflight.headers["access-control-allow-methods"]
    assert "Authorization" in preflight.headers["access-control-allow-headers"]
    simple = local_cloud.client.get("/api/v1/health", headers={"Origin": "http://localhost:5173"})
    assert simple.headers["access-control-allow-origin"] == "*"


def test_every_invocation_is_logged_with_function_status_and_duration(local_cloud):
    local_cloud.client.get("/api/v1/openapi.json")

    def lines() -> list[str]:
        return [line for line in local_cloud.log().splitlines() if "GET /api/v1/openapi.json" in line]

    assert wait_until(lambda: bool(lines())), local_cloud.log()
    assert "SystemFunction" in lines()[-1] and "200" in lines()[-1] and "ms" in lines()[-1]


def test_sigterm_stops_everything_it_started(tmp_path):
    # GIVEN a running local cloud with its own PostgreSQL and Redis
    cloud = start_local_cloud(tmp_path / "state", "--no-reload")
    pids = cloud.runtime["pids"]
    assert set(pids) == {"postgres", "redis"}
    assert all(_alive(pid) for pid in pids.values())
    # WHEN it is asked to stop
    assert cloud.stop() == 0
    # THEN no server it started is left behind
    assert wait_until(lambda: not any(_alive(pid) for pid in pids.values()), timeout_s=10)
    assert "stopped" in cloud.log()


@pytest.mark.parametrize(
    ("reload", "stop_signal"),
    [(False, signal.SIGTERM), (True, signal.SIGINT)],
    ids=["no-reload-SIGTERM", "reload-SIGINT"],
)
def test_a_stop_signal_ends_every_process_even_with_a_request_in_flight(tmp_path, reload, stop_signal):
    # GIVEN a running local cloud (with its serving child when reloading) and a handler that will not return
    template = project_with_stuck_function(tmp_path / "project")
    cloud = start_local_cloud(tmp_path / "state", *([] if reload else ["--no-reload"]), template=template)
    try:
        # WHEN it gets the signal while that handler runs
        exit_s, children = stop_with_a_request_in_flight(cloud, template, stop_signal)
        print(f"warroom dev ({'reload' if reload else 'no reload'}) exited {exit_s:.2f} s after {stop_signal.name}")

        # THEN it exited cleanly, and none of its processes survives (servers, serving child, pollers' process)
        assert cloud.process.returncode == 0, cloud.log()
        assert {"postgres", "redis-server"} <= {Path(cmd.split()[0]).name for cmd in children.values() if cmd}
        assert not reload or any("localcloud.dev serve" in cmd for cmd in children.values())
        assert wait_until(lambda: not any(_alive(pid) for pid in children), timeout_s=15), descendants_left(children)
        assert "stopped" in cloud.log()
    finally:
        cloud.stop()


def test_without_pdeathsig_a_sigkilled_warroom_dev_leaves_no_process(tmp_path, monkeypatch):
    # GIVEN warroom dev with the watchdog instead of PR_SET_PDEATHSIG (how it runs on macOS), reloading
    monkeypatch.setenv(lifeline.PARENT_DEATH_VARIABLE, "watchdog")
    cloud = start_local_cloud(tmp_path / "state")
    try:
        assert wait_until(lambda: any("localcloud.dev serve" in c for c in descendants(cloud.process.pid).values()))
        children = descendants(cloud.process.pid)
        assert any("lifeline.py" in cmd for cmd in children.values()), children

        # WHEN it is SIGKILLed (no chance to clean up)
        cloud.process.kill()
        cloud.process.wait()

        # THEN the watchdog stops its servers and serving child, then goes too
        assert wait_until(lambda: not any(_alive(pid) for pid in children), timeout_s=20), descendants_left(children)
    finally:
        cloud.stop()


def descendants_left(children: dict[int, str]) -> str:
    return "still running: " + "; ".join(cmd for pid, cmd in children.items() if _alive(pid))


def test_two_instances_run_side_by_side_and_data_survives_a_restart(tmp_path, local_cloud):
    # GIVEN a second instance with its own state directory, next to the session's one
    state = tmp_path / "second"
    second = start_local_cloud(state, "--no-reload")
    try:
        headers = {"Authorization": f"Bearer {second.admin_token()}"}
        assert (
            second.client.put("/api/v1/settings/timezone", json={"value": "Europe/Madrid"}, headers=headers).status_code
            == 200
        )
        assert local_cloud.client.get("/api/v1/health").status_code == 200
    finally:
        second.stop()
    # WHEN it starts again on the same state
    again = start_local_cloud(state, "--no-reload")
    try:
        headers = {"Authorization": f"Bearer {again.admin_token()}"}
        settings = again.client.get("/api/v1/settings", headers=headers).json()["items"]
        # THEN what was stored is still there
        assert {s["key"]: s["value"] for s in settings}["timezone"] == "Europe/Madrid"
    finally:
        again.stop()


def test_code_changes_are_reloaded(tmp_path):
    # GIVEN a copy of the project's functions served with reload on
    project = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT / "functions", project / "functions", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PROJECT_ROOT / "template.yaml", project / "template.yaml")
    cloud = start_local_cloud(tmp_path / "state", template=project / "template.yaml")
    try:
        app_file = project / "functions" / "system" / "app.py"
        before = cloud.client.get("/api/v1/openapi.json").json()
        assert before["paths"]["/api/v1/health"]["get"]["summary"] == "Health of the system and its dependencies."
        # WHEN a function's code changes
        app_file.write_text(
            app_file.read_text().replace("Health of the system and its dependencies.", "Health, reloaded.")
        )
        # THEN the new code answers without a restart
        deadline = time.monotonic() + 30
        summary = None
        while time.monotonic() < deadline:
            try:
                summary = cloud.client.get("/api/v1/openapi.json").json()["paths"]["/api/v1/health"]["get"]["summary"]
            except (httpx.TransportError, ValueError):
                summary = None
            if summary == "Health, reloaded.":
                break
            time.sleep(0.3)
        assert summary == "Health, reloaded.", cloud.log()
        assert "reloading" in cloud.log()
    finally:
        assert cloud.stop() == 0
    assert os.path.exists(tmp_path / "state" / "runtime.json")
