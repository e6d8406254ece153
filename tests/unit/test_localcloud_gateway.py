"""The local API Gateway: routing, the proxy event, responses, errors, CORS, containers, timeouts."""

from __future__ import annotations

import base64
import dataclasses
import os
import re
import socket
import sys
import textwrap
import threading
import time
import types
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import uvicorn
from starlette.testclient import TestClient, WebSocketDenialResponse
from uvicorn.protocols.http.h11_impl import H11Protocol

from localcloud.gateway import (
    MAX_PAYLOAD_BYTES,
    ApiRouter,
    build_proxy_event,
    create_gateway,
    error_shaped_http_protocol,
)
from localcloud.lambda_runtime import InvocationRecord, LambdaRuntime
from localcloud.services import free_port
from localcloud.template import (
    ApiRoute,
    FunctionSpec,
    UnsupportedTemplateFeature,
    load_template,
    read_api_routes,
    read_cors,
    read_functions,
    resolve_environment,
)
from localcloud.websocket import WebSocketApiSpec, WebSocketGateway

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.11
    Handler: app.app
    Timeout: 5
    MemorySize: 256
    Environment:
      Variables:
        GREETING: hello
  Api:
    Cors:
      AllowOrigin: "'*'"
      AllowHeaders: "'Content-Type,Authorization'"
      MaxAge: "'600'"
Resources:
  ItemsFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: items/
      Events:
        GetItem: {Type: Api, Properties: {Path: "/api/v1/items/{id}", Method: get}}
        PutItem: {Type: Api, Properties: {Path: "/api/v1/items/{id}", Method: put}}
        Special: {Type: Api, Properties: {Path: /api/v1/items/special, Method: get}}
        Echo: {Type: Api, Properties: {Path: /api/v1/echo, Method: post}}
        Binary: {Type: Api, Properties: {Path: /api/v1/binary, Method: get}}
        Slow: {Type: Api, Properties: {Path: /api/v1/slow, Method: get}}
        Context: {Type: Api, Properties: {Path: /api/v1/context, Method: get}}
  RawFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: raw/
      Handler: app.handler
      Events:
        Raw: {Type: Api, Properties: {Path: "/api/v1/raw/{proxy+}", Method: any}}
  BrokenFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: broken/
      Events:
        Broken: {Type: Api, Properties: {Path: /api/v1/broken, Method: get}}
"""

ITEMS_APP = """
import base64
import os
import threading

from chalice import Chalice, Response

app = Chalice(app_name="items")
TEXT_AND_BINARY = ["application/json", "application/octet-stream", "text/plain"]


@app.route("/api/v1/items/{id}", methods=["GET"])
def get_item(id):
    return {"route": "param", "id": id}


@app.route("/api/v1/items/{id}", methods=["PUT"])
def put_item(id):
    return {"id": id, "json": app.current_request.json_body}


@app.route("/api/v1/items/special", methods=["GET"])
def special():
    return {"route": "literal"}


@app.route("/api/v1/echo", methods=["POST"], content_types=TEXT_AND_BINARY)
def echo():
    event = app.current_request.to_original_event()
    fields = ["resource", "path", "httpMethod", "headers", "multiValueHeaders", "queryStringParameters",
              "multiValueQueryStringParameters", "pathParameters", "body", "isBase64Encoded"]
    echoed = {name: event[name] for name in fields}
    echoed["resourcePath"] = event["requestContext"]["resourcePath"]
    echoed["rawBody"] = base64.b64encode(app.current_request.raw_body).decode()
    return echoed


@app.route("/api/v1/binary", methods=["GET"])
def binary():
    return Response(body=bytes(range(256)), headers={"Content-Type": "application/octet-stream"})


@app.route("/api/v1/slow", methods=["GET"])
def slow():
    import gateway_test_rendezvous as rendezvous  # the test's, shared by every container

    tag_before = app.current_request.query_params["tag"]
    rendezvous.enter(tag_before)
    try:
        rendezvous.wait_for(app.current_request.query_params.get("wait"))
    finally:
        rendezvous.leave(tag_before)
    return {
        "container": id(app),
        "module": __name__,
        "thread": threading.current_thread().name,
        "tag_before": tag_before,
        "tag_after": app.current_request.query_params["tag"],
    }


@app.route("/api/v1/context", methods=["GET"])
def context():
    lambda_context = app.lambda_context
    return {
        "function_name": lambda_context.function_name,
        "function_version": lambda_context.function_version,
        "memory_limit_in_mb": lambda_context.memory_limit_in_mb,
        "arn": lambda_context.invoked_function_arn,
        "remaining_ms": lambda_context.get_remaining_time_in_millis(),
        "greeting": os.environ.get("GREETING"),
        "sam_local": os.environ.get("AWS_SAM_LOCAL"),
    }
"""

RAW_APP = """
import base64

PNG = b"\\x89PNG\\r\\n\\x1a\\n\\x00\\xff"


def handler(event, context):
    action = event["pathParameters"]["proxy"]
    if action == "boom":
        raise RuntimeError("kaboom")
    if action == "malformed":
        return {"statusCode": 200, "body": {"not": "a string"}}
    if action == "not-a-dict":
        return "hello"
    if action == "huge":
        return {"statusCode": 200, "body": "x" * (7 * 1024 * 1024)}
    if action == "headers":
        return {
            "statusCode": 201,
            "headers": {"X-One": "a", "Set-Cookie": "c=3"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2", "c=3"]},
            "body": "ok",
        }
    if action == "png":
        body = base64.b64encode(PNG).decode()
        return {"statusCode": 200, "headers": {"Content-Type": "image/png"}, "body": body, "isBase64Encoded": True}
    return {"statusCode": 200, "body": '{"proxy": "%s"}' % action}
"""

BROKEN_APP = """
raise ImportError("this module cannot be loaded")
"""


@dataclasses.dataclass
class Project:
    functions: dict[str, FunctionSpec]
    routes: list[ApiRoute]
    env_by_function: dict[str, dict[str, str]]
    cors: Any


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("project")
    (root / "template.yaml").write_text(textwrap.dedent(TEMPLATE))
    for folder, source in (("items", ITEMS_APP), ("raw", RAW_APP), ("broken", BROKEN_APP)):
        (root / folder).mkdir()
        (root / folder / "app.py").write_text(source)
    template = load_template(root / "template.yaml")
    functions = read_functions(template, root)

    def no_references(name: str) -> str:
        raise AssertionError(f"unexpected Ref {name}")

    def no_attributes(resource: str, attribute: str) -> str:
        raise AssertionError(f"unexpected GetAtt {resource}.{attribute}")

    env_by_function = {
        name: resolve_environment(spec.environment, no_references, no_attributes) for name, spec in functions.items()
    }
    return Project(functions, read_api_routes(functions), env_by_function, read_cors(template))


class Rendezvous:
    """What the fixture's `slow` handlers do and wait for, shared by all containers (a module of its own)."""

    GATE_TIMEOUT_S = 30  # only bounds a failing test

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.in_flight: list[str] = []
        self.max_in_flight = 0
        self.finished: list[str] = []
        self.gates: dict[str, threading.Event] = {}
        self.barrier = threading.Barrier(2, timeout=self.GATE_TIMEOUT_S)

    def enter(self, tag: str) -> None:
        with self._lock:
            self.in_flight.append(tag)
            self.max_in_flight = max(self.max_in_flight, len(self.in_flight))

    def leave(self, tag: str) -> None:
        with self._lock:
            self.in_flight.remove(tag)
            self.finished.append(tag)

    def wait_for(self, gate: str | None) -> None:
        """`barrier`: until a second handler is here too; another name: until the test opens that gate."""
        if gate == "barrier":
            self.barrier.wait()
        elif gate:
            assert self.gate(gate).wait(self.GATE_TIMEOUT_S), f"gate {gate} never opened"

    def gate(self, name: str) -> threading.Event:
        with self._lock:
            return self.gates.setdefault(name, threading.Event())


@pytest.fixture
def rendezvous() -> Iterator[Rendezvous]:
    shared = Rendezvous()
    module = types.ModuleType("gateway_test_rendezvous")
    module.__dict__.update(enter=shared.enter, leave=shared.leave, wait_for=shared.wait_for)
    sys.modules[module.__name__] = module
    yield shared
    for gate in shared.gates.values():
        gate.set()  # no handler thread left waiting
    sys.modules.pop(module.__name__, None)


@pytest.fixture(autouse=True)
def restore_environ() -> Iterator[None]:
    """The gateway writes the functions' environment into os.environ; keep other tests unaffected."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def records() -> list[InvocationRecord]:
    return []


@pytest.fixture
def start_gateway(project: Project, records: list[InvocationRecord]) -> Iterator[Callable[..., TestClient]]:
    """Starts a gateway over the fixture project; `timeouts` overrides functions' Timeout in seconds."""
    clients: list[TestClient] = []

    def start(max_concurrency_per_function: int = 4, timeouts: dict[str, float] | None = None) -> TestClient:
        functions = {
            name: dataclasses.replace(spec, timeout_s=(timeouts or {}).get(name, spec.timeout_s))
            for name, spec in project.functions.items()
        }
        app = create_gateway(
            functions,
            project.routes,
            project.env_by_function,
            project.cors,
            max_concurrency_per_function=max_concurrency_per_function,
            on_invocation=records.append,
        )
        client = TestClient(app, raise_server_exceptions=True)
        client.__enter__()
        clients.append(client)
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)
        client.app.state.runtime.close()


@pytest.fixture
def client(start_gateway: Callable[..., TestClient]) -> TestClient:
    return start_gateway()


def assert_error_shape(response: Any, status: int, code: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["details"] is None


# ---------------------------------------------------------------- routing


def test_literal_segment_beats_path_parameter(client: TestClient) -> None:
    # GIVEN routes /api/v1/items/special and /api/v1/items/{id}
    # WHEN both kinds of path are requested
    literal = client.get("/api/v1/items/special")
    param = client.get("/api/v1/items/42")

    # THEN the literal route wins for its own path and the parameter route takes the rest
    assert literal.json() == {"route": "literal"}
    assert param.json() == {"route": "param", "id": "42"}


def test_path_parameters_are_url_decoded_and_trailing_slash_tolerated(client: TestClient) -> None:
    # GIVEN a path parameter with escaped characters, and a trailing slash
    # WHEN requested
    escaped = client.get("/api/v1/items/caf%C3%A9%20%2F%20bar")
    trailing = client.get("/api/v1/items/7/")

    # THEN the handler gets decoded parameters and the trailing slash does not matter
    assert escaped.json() == {"route": "param", "id": "café / bar"}
    assert trailing.json() == {"route": "param", "id": "7"}


def test_router_prefers_the_most_literal_route_and_greedy_last() -> None:
    # GIVEN overlapping resources
    router = ApiRouter(
        [
            ApiRoute("Fn", "ANY", "/{proxy+}"),
            ApiRoute("Fn", "GET", "/a/{proxy+}"),
            ApiRoute("Fn", "GET", "/a/{x}"),
            ApiRoute("Fn", "GET", "/a/b"),
            ApiRoute("Fn", "GET", "/a/b/{y}"),
            ApiRoute("Fn", "GET", "/"),
        ]
    )

    # WHEN / THEN each path goes to the most specific resource, with its parameters
    def resolve(path: str) -> tuple[str, dict[str, str]] | None:
        match = router.match(path)
        return None if match is None else (match.resource, match.path_params)

    assert resolve("/a/b") == ("/a/b", {})
    assert resolve("/a/c") == ("/a/{x}", {"x": "c"})
    assert resolve("/a/b/c") == ("/a/b/{y}", {"y": "c"})
    assert resolve("/a/c/d/e") == ("/a/{proxy+}", {"proxy": "c/d/e"})
    assert resolve("/z/y") == ("/{proxy+}", {"proxy": "z/y"})
    assert resolve("/") == ("/", {})
    assert ApiRouter([ApiRoute("Fn", "GET", "/a/{x}")]).match("/a") is None


def test_unknown_path_is_404_in_the_error_shape(client: TestClient, records: list[InvocationRecord]) -> None:
    # GIVEN a path no route declares / WHEN it is requested
    response = client.get("/api/v1/nothing-here")

    # THEN 404 in the project's error shape, logged as answered by the gateway
    assert_error_shape(response, 404, "not_found")
    assert records[-1].function == "-"
    assert records[-1].status == 404


def test_wrong_method_is_405_with_allow(client: TestClient) -> None:
    # GIVEN /api/v1/items/{id} with GET and PUT / WHEN DELETE and a non-standard method are sent
    response = client.delete("/api/v1/items/1")
    unusual = client.request("PROPFIND", "/api/v1/items/1")

    # THEN 405 lists the template's methods (and OPTIONS, answered for CORS)
    assert_error_shape(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET, OPTIONS, PUT"
    assert_error_shape(unusual, 405, "method_not_allowed")


def test_body_over_10_mb_is_413(client: TestClient) -> None:
    # GIVEN a body one byte over API Gateway's limit
    body = b"x" * (MAX_PAYLOAD_BYTES + 1)

    # WHEN it is posted
    response = client.post("/api/v1/echo", content=body, headers={"Content-Type": "text/plain"})

    # THEN the gateway refuses it
    assert_error_shape(response, 413, "payload_too_large")


@pytest.mark.parametrize("path", ["/api/v1/nothing%0A", "/%0A%0D", "/api/v1/items/a/%00/b", "/api/v1/%7F"])
def test_a_path_with_control_characters_and_no_route_is_404_in_the_error_shape(client: TestClient, path: str) -> None:
    # GIVEN / WHEN a path holding percent-encoded control characters that no route declares
    response = client.get(path)

    # THEN the gateway's 404, in the error shape (not a plain-text "Not Found"), naming the decoded path
    assert_error_shape(response, 404, "not_found")
    assert response.json()["error"]["message"] == f"No route for {unquote(path)}"


def test_a_control_character_in_a_path_parameter_reaches_the_function(client: TestClient) -> None:
    # GIVEN /api/v1/items/{id} / WHEN the id is a newline (%0A), as API Gateway routes it
    response = client.get("/api/v1/items/%0A")

    # THEN the function gets it, decoded, and answers
    assert response.json() == {"route": "param", "id": "\n"}


def test_answers_of_the_routes_beside_the_rest_api_are_in_the_error_shape(project: Project) -> None:
    # GIVEN the gateway with the WebSocket API's routes (the Management API accepts POST, GET and DELETE)
    app = create_gateway(project.functions, project.routes, project.env_by_function, project.cors)
    spec = WebSocketApiSpec("WebSocketApi", ("action",), {}, frozenset(), "live")
    app.router.routes.extend(WebSocketGateway(spec, app.state.runtime).routes())
    with TestClient(app) as client:
        # WHEN a method it does not take, and a WebSocket handshake on a path without a WebSocket route
        wrong_method = client.put("/@connections/abc")
        with pytest.raises(WebSocketDenialResponse) as refused:
            client.websocket_connect("/api/v1/items/1").__enter__()
    app.state.runtime.close()

    # THEN both answers are in the error shape
    assert_error_shape(wrong_method, 405, "method_not_allowed")
    assert_error_shape(refused.value, 404, "not_found")


def test_a_failure_of_the_gateway_itself_is_a_500_in_the_error_shape(project: Project) -> None:
    # GIVEN a gateway whose console logger raises (an unexpected failure after the function answered)
    def broken_console(record: InvocationRecord) -> None:
        raise RuntimeError("console gone")

    app = create_gateway(
        project.functions, project.routes, project.env_by_function, project.cors, on_invocation=broken_console
    )
    # WHEN a request is served
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/items/1")
    app.state.runtime.close()

    # THEN the client still gets the error shape
    assert_error_shape(response, 500, "internal_error")


@pytest.fixture(params=["auto", "h11"])
def served(request: pytest.FixtureRequest, project: Project) -> Iterator[str]:
    """The gateway served by a real uvicorn, with its default HTTP protocol (httptools) and with h11."""
    app = create_gateway(project.functions, project.routes, project.env_by_function, project.cors)
    base = H11Protocol if request.param == "h11" else None
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="critical", lifespan="off", http=error_shaped_http_protocol(base)
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    thread.join(30)
    app.state.runtime.close()


def raw_request(address: str, request: bytes) -> httpx.Response:
    """Send bytes as they are (no client would send them) and parse the answer."""
    host, port = address.split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = [tuple(line.split(": ", 1)) for line in header_lines]
    return httpx.Response(int(status_line.split()[1]), headers=headers, content=body)


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /api/v1/items/\x01 HTTP/1.1\r\nHost: x\r\n\r\n",  # a raw control character in the path
        b"GET /api/v1/items/1 HTTP/1.1\r\nHost: x\r\nBad\x00Header: y\r\n\r\n",
        b"this is not HTTP\r\n\r\n",
    ],
)
def test_requests_the_server_cannot_parse_get_a_400_in_the_error_shape(served: str, request_bytes: bytes) -> None:
    # GIVEN the gateway behind uvicorn / WHEN a request it cannot parse arrives
    response = raw_request(served, request_bytes)

    # THEN uvicorn's own answer is in the error shape too
    assert_error_shape(response, 400, "bad_request")


def test_the_served_gateway_answers_a_control_character_path_in_the_error_shape(served: str) -> None:
    # GIVEN the gateway behind uvicorn / WHEN a percent-encoded newline falls on no route
    response = raw_request(served, b"GET /api/v1/nothing/%0A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")

    # THEN the gateway's 404 in the error shape
    assert_error_shape(response, 404, "not_found")


# ---------------------------------------------------------------- CORS


def test_cors_preflight_is_answered_without_invoking(client: TestClient, records: list[InvocationRecord]) -> None:
    # GIVEN Globals.Api.Cors in the template
    headers = {"Origin": "http://localhost:5173", "Access-Control-Request-Method": "PUT"}

    # WHEN a browser sends a preflight
    response = client.options("/api/v1/items/1", headers=headers)

    # THEN the gateway answers from the template and no function ran
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-allow-methods"] == "GET,OPTIONS,PUT"
    assert response.headers["access-control-allow-headers"] == "Content-Type,Authorization"
    assert response.headers["access-control-max-age"] == "600"
    assert [record.function for record in records] == ["-"]
    assert client.get("/api/v1/items/1").status_code == 200
    assert records[-1].cold_start  # the function's first container starts only now


# ---------------------------------------------------------------- the proxy event


def test_event_carries_query_strings_headers_and_resource_path(client: TestClient) -> None:
    # GIVEN repeated query parameters and a repeated header
    headers = [("Content-Type", "application/json"), ("X-Dup", "1"), ("X-Dup", "2")]

    # WHEN a JSON body is posted with them
    response = client.post("/api/v1/echo?tag=a&tag=b&empty=", content=b'{"k": "v"}', headers=headers)

    # THEN the event has API Gateway's single- and multi-value views, and the template path for Chalice
    event = response.json()
    assert event["queryStringParameters"] == {"tag": "b", "empty": ""}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "empty": [""]}
    assert event["headers"]["x-dup"] == "2"
    assert event["multiValueHeaders"]["x-dup"] == ["1", "2"]
    assert (event["body"], event["isBase64Encoded"]) == ('{"k": "v"}', False)
    assert event["resource"] == event["resourcePath"] == "/api/v1/echo"
    assert (event["path"], event["httpMethod"], event["pathParameters"]) == ("/api/v1/echo", "POST", None)


def test_event_without_query_has_none(client: TestClient) -> None:
    # GIVEN no query string / WHEN posted
    event = client.post("/api/v1/echo", json={}).json()

    # THEN the query fields are None, as AWS sends them
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None


def test_json_body_reaches_chalice(client: TestClient) -> None:
    # GIVEN a JSON document / WHEN it is PUT
    response = client.put("/api/v1/items/7", json={"name": "poll", "tags": ["a"]})

    # THEN Chalice's json_body has it
    assert response.status_code == 200
    assert response.json() == {"id": "7", "json": {"name": "poll", "tags": ["a"]}}


@pytest.mark.parametrize(
    ("content_type", "body"),
    [("application/octet-stream", bytes(range(256))), ("text/plain", b"\xff\xfe not utf-8")],
)
def test_binary_request_body_is_base64_encoded(client: TestClient, content_type: str, body: bytes) -> None:
    # GIVEN a binary body (by content type, or by bytes that are not UTF-8)
    # WHEN it is posted
    event = client.post("/api/v1/echo", content=body, headers={"Content-Type": content_type}).json()

    # THEN the event carries it base64-encoded and the handler decodes the original bytes
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body
    assert base64.b64decode(event["rawBody"]) == body


def test_build_proxy_event_has_the_rest_api_shape() -> None:
    # GIVEN a request and its matched route
    route = ApiRoute("ItemsFunction", "GET", "/api/v1/items/{id}")
    now = datetime(2026, 11, 25, 13, 59, 29, tzinfo=UTC)

    # WHEN the event is built without any HTTP server
    event = build_proxy_event(
        "GET",
        "/api/v1/items/a%20b",
        b"",
        [("Host", "localhost:3000"), ("User-Agent", "curl/8")],
        b"",
        route,
        {"id": "a b"},
        "127.0.0.1",
        "localhost:3000",
        request_id="req-1",
        now=now,
    )

    # THEN it has the fields of an API Gateway REST proxy event
    context = event["requestContext"]
    assert (event["resource"], event["path"], event["pathParameters"]) == (
        route.path,
        "/api/v1/items/a b",
        {"id": "a b"},
    )
    assert (event["body"], event["isBase64Encoded"], event["stageVariables"]) == (None, False, None)
    assert context["resourcePath"] == route.path
    assert context["requestTime"] == "25/Nov/2026:13:59:29 +0000"
    assert context["requestTimeEpoch"] == int(now.timestamp() * 1000)
    assert (context["stage"], context["accountId"], context["requestId"]) == ("Prod", "123456789012", "req-1")
    assert (context["domainName"], context["domainPrefix"], context["protocol"]) == (
        "localhost:3000",
        "localhost",
        "HTTP/1.1",
    )
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "curl/8"
    assert context["identity"]["apiKey"] is None
    assert re.fullmatch(r"[0-9a-f]{6}", context["resourceId"])


# ---------------------------------------------------------------- the handler's response


def test_binary_response_is_decoded(client: TestClient) -> None:
    # GIVEN handlers returning base64 bodies (Chalice's binary Response and a raw proxy result)
    # WHEN they are requested
    chalice = client.get("/api/v1/binary", headers={"Accept": "application/octet-stream"})
    raw = client.get("/api/v1/raw/png")

    # THEN the client receives the original bytes
    assert chalice.content == bytes(range(256))
    assert chalice.headers["content-type"] == "application/octet-stream"
    assert raw.content == b"\x89PNG\r\n\x1a\n\x00\xff"
    assert raw.headers["content-type"] == "image/png"


def test_headers_and_multi_value_headers_are_merged(client: TestClient) -> None:
    # GIVEN a result with both headers and multiValueHeaders / WHEN requested
    response = client.get("/api/v1/raw/headers")

    # THEN all values arrive once each, and Content-Type defaults to JSON as in API Gateway
    assert response.status_code == 201
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2", "c=3"]
    assert response.headers["x-one"] == "a"
    assert response.headers["content-type"] == "application/json"
    assert response.text == "ok"


@pytest.mark.parametrize("action", ["boom", "malformed", "not-a-dict"])
def test_failing_or_malformed_handler_is_502(client: TestClient, action: str) -> None:
    # GIVEN a handler that raises or returns something API Gateway cannot use
    # WHEN it is invoked
    response = client.get(f"/api/v1/raw/{action}")

    # THEN 502 in the project's error shape
    assert_error_shape(response, 502, "bad_gateway")
    assert response.json()["error"]["message"] == "The function failed."


def test_function_that_cannot_load_is_502_and_frees_its_slot(start_gateway: Callable[..., TestClient]) -> None:
    # GIVEN a function whose module raises on import, with a single container allowed
    client = start_gateway(max_concurrency_per_function=1)

    # WHEN it is invoked twice
    first, second = client.get("/api/v1/broken"), client.get("/api/v1/broken")

    # THEN both fail as 502 (the failed container did not keep the only slot)
    assert_error_shape(first, 502, "bad_gateway")
    assert_error_shape(second, 502, "bad_gateway")


def test_timeout_is_504_and_the_next_invocation_gets_a_fresh_container(
    start_gateway: Callable[..., TestClient], records: list[InvocationRecord], rendezvous: Rendezvous
) -> None:
    # GIVEN a function with a 0.3 s timeout and one container
    client = start_gateway(max_concurrency_per_function=1, timeouts={"ItemsFunction": 0.3})

    # WHEN a request's handler runs past the timeout (it waits for a gate the test opens later)
    slow = client.get("/api/v1/slow", params={"tag": "slow", "wait": "release"})

    # THEN the 504 came while the handler was still running, not when it returned
    assert_error_shape(slow, 504, "gateway_timeout")
    assert rendezvous.finished == []
    # AND once the handler returns, the next request gets a fresh container (Lambda discards a timed-out one)
    rendezvous.gate("release").set()
    quick = client.get("/api/v1/slow", params={"tag": "quick"})
    assert quick.status_code == 200
    assert rendezvous.finished == ["slow", "quick"]
    assert records[-1].cold_start


# ---------------------------------------------------------------- containers and the Lambda environment


def get_concurrently(client: TestClient, paths: list[str]) -> list[Any]:
    with ThreadPoolExecutor(len(paths)) as pool:
        return list(pool.map(client.get, paths))


def test_concurrent_requests_use_separate_containers(
    client: TestClient, records: list[InvocationRecord], rendezvous: Rendezvous
) -> None:
    # GIVEN a function allowed several containers
    # WHEN two requests arrive whose handlers each wait until the other one is running too
    responses = get_concurrently(client, ["/api/v1/slow?tag=A&wait=barrier", "/api/v1/slow?tag=B&wait=barrier"])

    # THEN both ran at once, each in its own module instance, and saw only its own current_request
    assert [response.status_code for response in responses] == [200, 200]
    assert rendezvous.max_in_flight == 2
    first, second = (response.json() for response in responses)
    assert first["container"] != second["container"]
    assert first["module"] != second["module"]
    assert first["module"].startswith("warroom_fn_ItemsFunction_")
    assert (first["tag_before"], first["tag_after"]) == ("A", "A")
    assert (second["tag_before"], second["tag_after"]) == ("B", "B")
    assert [record.cold_start for record in records] == [True, True]


def test_one_container_serialises_invocations(start_gateway: Callable[..., TestClient], rendezvous: Rendezvous) -> None:
    # GIVEN a function allowed a single container
    client = start_gateway(max_concurrency_per_function=1)

    # WHEN two requests arrive at the same time
    responses = get_concurrently(client, ["/api/v1/slow?tag=A", "/api/v1/slow?tag=B"])

    # THEN they ran one after the other in the same container, each with its own request
    first, second = (response.json() for response in responses)
    assert rendezvous.max_in_flight == 1
    assert first["container"] == second["container"]
    assert {(first["tag_before"], first["tag_after"]), (second["tag_before"], second["tag_after"])} == {
        ("A", "A"),
        ("B", "B"),
    }


def test_warm_container_is_reused(client: TestClient, records: list[InvocationRecord], rendezvous: Rendezvous) -> None:
    # GIVEN one request already served / WHEN a second one follows
    first = client.get("/api/v1/slow?tag=A").json()
    second = client.get("/api/v1/slow?tag=B").json()

    # THEN the same container answered, warm the second time
    assert first["container"] == second["container"]
    assert [record.cold_start for record in records] == [True, False]
    assert records[-1].function == "ItemsFunction"
    assert records[-1].trigger == "http"
    assert (records[-1].method, records[-1].path, records[-1].status) == ("GET", "/api/v1/slow", 200)


def test_handler_sees_its_environment_and_lambda_context(client: TestClient) -> None:
    # GIVEN the template's Globals environment and MemorySize / WHEN a handler reads them
    seen = client.get("/api/v1/context").json()

    # THEN it sees them as in Lambda
    assert seen["greeting"] == "hello"
    assert seen["sam_local"] == "true"
    assert seen["function_name"] == "ItemsFunction"
    assert seen["function_version"] == "$LATEST"
    assert seen["memory_limit_in_mb"] == "256"
    assert seen["arn"].endswith(":123456789012:function:ItemsFunction")
    assert 0 < seen["remaining_ms"] <= 5000


def test_conflicting_environment_values_are_unsupported(project: Project) -> None:
    # GIVEN two functions that give one variable different values
    env_by_function = {"ItemsFunction": {"LOG_LEVEL": "DEBUG"}, "RawFunction": {"LOG_LEVEL": "INFO"}}

    # WHEN / THEN the gateway refuses to start
    with pytest.raises(UnsupportedTemplateFeature, match="LOG_LEVEL"):
        create_gateway(project.functions, project.routes, env_by_function, project.cors)


def test_runtime_invokes_without_http(project: Project) -> None:
    # GIVEN a runtime over the project's functions
    runtime = LambdaRuntime(project.functions, project.env_by_function)
    event = {"pathParameters": {"proxy": "direct"}}

    # WHEN a function is invoked directly
    try:
        result = runtime.invoke("RawFunction", event)
    finally:
        runtime.close()

    # THEN its proxy result comes back as returned
    assert result == {"statusCode": 200, "body": '{"proxy": "direct"}'}


def test_an_answer_over_lambdas_response_limit_is_a_502_not_a_truncated_body(client: TestClient) -> None:
    # GIVEN a handler whose proxy result is over 6 MB (Lambda refuses such a response)
    response = client.get("/api/v1/raw/huge")
    # THEN the gateway answers as API Gateway would: 502 in the error shape, nothing of the body
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "response_too_large"
    assert len(response.content) < 1000
