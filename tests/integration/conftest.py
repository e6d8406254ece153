"""Integration harness: invoke a function's real handler with an event file, as Lambda would."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from localcloud import services as local_services
from localcloud.services import free_port
from tests.conftest import PROJECT_ROOT, _reset_containers, load_event
from warroom.core.migrate import apply_migrations


@dataclass
class Answer:
    """A proxy result, with its body parsed when it is JSON."""

    status: int
    headers: dict[str, str]
    body: Any
    raw: dict[str, Any]

    @property
    def error_code(self) -> str | None:
        return self.body["error"]["code"] if isinstance(self.body, dict) and "error" in self.body else None


@pytest.fixture(scope="session")
def lambda_runtime() -> Iterator[Any]:
    """Every function of template.yaml, loaded as the local cloud loads them (one container per invocation)."""
    from localcloud.lambda_runtime import LambdaRuntime
    from localcloud.template import load_template, read_functions

    functions = read_functions(load_template(PROJECT_ROOT / "template.yaml"), PROJECT_ROOT)
    runtime = LambdaRuntime(functions, {name: {} for name in functions})
    yield runtime
    runtime.close()


def _set_header(event: dict[str, Any], name: str, value: str | None) -> None:
    for key in ("headers", "multiValueHeaders"):
        headers = event.get(key) or {}
        for existing in [h for h in headers if h.lower() == name.lower()]:
            del headers[existing]
        if value is not None:
            headers[name] = value if key == "headers" else [value]
        event[key] = headers


@pytest.fixture
def invoke(services, lambda_runtime):
    """``invoke("SystemFunction", "system_put_data_mode", token=..., body={...})`` -> :class:`Answer`."""

    def call(
        function: str,
        event_name: str,
        *,
        token: str | None = None,
        body: Any = ...,
        headers: dict[str, str | None] | None = None,
        query: dict[str, list[str]] | None = None,
        path_parameters: dict[str, str] | None = None,
    ) -> Answer:
        event = load_event(event_name)
        _set_header(event, "authorization", f"Bearer {token}" if token else None)
        if body is not ...:
            event["body"] = body if isinstance(body, str | None) else json.dumps(body)
        for name, value in (headers or {}).items():
            _set_header(event, name, value)
        if query is not None:
            event["multiValueQueryStringParameters"] = query or None
            event["queryStringParameters"] = {k: v[-1] for k, v in query.items()} or None
        if path_parameters is not None:
            event["pathParameters"] = path_parameters
            path = event["resource"]
            for name, value in path_parameters.items():
                path = path.replace("{" + name + "}", value)
            event["path"] = event["requestContext"]["path"] = path
        result = lambda_runtime.invoke(function, event)
        raw_body = result.get("body") or ""
        if result.get("isBase64Encoded"):
            raw_body = base64.b64decode(raw_body).decode()
        headers_out = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
        parsed: Any = raw_body
        if headers_out.get("content-type", "").startswith("application/json") and raw_body:
            parsed = json.loads(raw_body)
        return Answer(result["statusCode"], headers_out, parsed, result)

    return call


@pytest.fixture
def own_postgres(services, tmp_path: Path) -> Iterator[local_services.ManagedService]:
    """A PostgreSQL of this test's own (migrated), which the test may stop; the functions point at it."""
    server = local_services.start_postgres(tmp_path / "pgdata")
    apply_migrations(server.url)
    previous = os.environ["DATABASE_URL"]
    os.environ["DATABASE_URL"] = server.url
    _reset_containers()
    yield server
    os.environ["DATABASE_URL"] = previous
    _reset_containers()
    server.stop()


@pytest.fixture
def own_redis(services, tmp_path: Path) -> Iterator[local_services.ManagedService]:
    """A Redis of this test's own, which the test may stop; the functions point at it."""
    server = local_services.start_redis(tmp_path / "redis")
    previous = os.environ["REDIS_URL"]
    os.environ["REDIS_URL"] = server.url
    _reset_containers()
    yield server
    os.environ["REDIS_URL"] = previous
    _reset_containers()
    server.stop()


@pytest.fixture
def dashboard(services, monkeypatch) -> Iterator[list[dict[str, Any]]]:
    """A connected dashboard: a local `@connections` endpoint that records what broadcast posts to it."""
    from warroom.realtime import connections

    received: list[dict[str, Any]] = []

    async def post(request: Request) -> Response:
        received.append(json.loads(await request.body()))
        return Response(status_code=200)

    port = free_port()
    app = Starlette(routes=[Route("/@connections/{connection_id}", post, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    monkeypatch.setenv("WARROOM_WS_MANAGEMENT_ENDPOINT", f"http://127.0.0.1:{port}")
    _reset_containers()
    connections.register("dash-1", user_id=str(uuid.uuid4()), role="readonly")
    yield received
    server.should_exit = True
    thread.join(5)
    _reset_containers()
