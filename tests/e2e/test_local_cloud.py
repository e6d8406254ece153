"""``warroom dev`` driven over HTTP exactly as a frontend developer's browser would."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import httpx
import pytest
from openapi_spec_validator import validate

from localcloud.template import load_template, read_api_routes, read_functions
from tests.conftest import PROJECT_ROOT
from tests.e2e.conftest import start_local_cloud

pytestmark = pytest.mark.e2e


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


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
    time.sleep(0.2)
    lines = [line for line in local_cloud.log().splitlines() if "GET /api/v1/openapi.json" in line]
    assert lines, local_cloud.log()
    assert "SystemFunction" in lines[-1] and "200" in lines[-1] and "ms" in lines[-1]


def test_sigterm_stops_everything_it_started(tmp_path):
    # GIVEN a running local cloud with its own PostgreSQL and Redis
    cloud = start_local_cloud(tmp_path / "state", "--no-reload")
    pids = cloud.runtime["pids"]
    assert set(pids) == {"postgres", "redis"}
    assert all(_alive(pid) for pid in pids.values())
    # WHEN it is asked to stop
    assert cloud.stop() == 0
    # THEN no server it started is left behind
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids.values()):
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in pids.values())
    assert "stopped" in cloud.log()


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
