"""The local API Gateway of `warroom dev`: HTTP -> REST API proxy event -> Lambda handler -> HTTP.

It mirrors API Gateway (REST, Lambda proxy integration) and the Lambda execution model closely enough that a
Chalice app behaves as deployed: routing on the template's resource paths, the v1 proxy event, one invocation at
a time per container, cold starts, timeouts and the 502/504 answers API Gateway gives when a function misbehaves.
Every answer the gateway gives itself is in the project's one error shape, ``{"error": {"code", "message",
"details"}}`` as ``application/json``: its own 404/405/413/502/504, what Starlette would answer (a route's 405, an
unexpected exception) and what the HTTP server answers before any app runs (a request it cannot parse, see
`error_shaped_http_protocol`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import logging
import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from localcloud.lambda_runtime import (
    ACCOUNT_ID,
    FunctionError,
    FunctionTimeout,
    InvocationRecord,
    LambdaRuntime,
    RuntimeClosed,
    print_invocation,
)
from localcloud.template import ApiRoute, CorsConfig, FunctionSpec

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's request payload limit
# Lambda's limit on a synchronous invocation's response (the proxy result as JSON): past it Lambda fails the
# invocation and API Gateway answers 502 -- never a truncated body.
MAX_LAMBDA_RESPONSE_BYTES = 6_291_556
API_ID = "warroomdev"
STAGE = "Prod"
HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
TEXT_MEDIA_TYPES = frozenset({"application/json", "application/x-www-form-urlencoded", "application/xml"})
PROXY_RESPONSE_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})
_HOP_BY_HOP_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# requestContext.identity fields that are null without an authorizer, API key or client certificate
_IDENTITY_NULL_FIELDS = (
    *("cognitoIdentityPoolId", "cognitoIdentityId", "cognitoAuthenticationType", "cognitoAuthenticationProvider"),
    *("accountId", "caller", "principalOrgId", "accessKey", "userArn", "user", "apiKey", "apiKeyId", "clientCert"),
)
_log = logging.getLogger("localcloud.gateway")


# ---------------------------------------------------------------- routing


@dataclass(frozen=True)
class RouteMatch:
    """The template resource a path falls on, its routes by method, and the URL-decoded path parameters."""

    resource: str
    routes_by_method: Mapping[str, ApiRoute]
    path_params: dict[str, str]

    def route_for(self, method: str) -> ApiRoute | None:
        return self.routes_by_method.get(method) or self.routes_by_method.get("ANY")


class ApiRouter:
    """Matches paths as API Gateway REST does: literal segments beat `{param}`, which beats greedy `{name+}`."""

    _LITERAL, _PARAM, _GREEDY = 0, 1, 2

    def __init__(self, routes: list[ApiRoute]) -> None:
        self._resources: dict[str, dict[str, ApiRoute]] = {}
        for route in routes:
            self._resources.setdefault(route.path, {})[route.method] = route
        self._patterns = {resource: self._parse(resource) for resource in self._resources}

    def match(self, raw_path: str) -> RouteMatch | None:
        parts = [unquote(part) for part in _split(raw_path)]
        candidates = []
        for resource, pattern in self._patterns.items():
            params = self._match(pattern, parts)
            if params is not None:
                candidates.append((tuple(kind for kind, _ in pattern), resource, params))
        if not candidates:
            return None
        _, resource, params = min(candidates)  # lexicographic: the most literal segment earliest wins
        return RouteMatch(resource, self._resources[resource], params)

    @classmethod
    def _parse(cls, resource: str) -> list[tuple[int, str]]:
        pattern = []
        for segment in _split(resource):
            if segment.startswith("{") and segment.endswith("+}"):
                pattern.append((cls._GREEDY, segment[1:-2]))
            elif segment.startswith("{") and segment.endswith("}"):
                pattern.append((cls._PARAM, segment[1:-1]))
            else:
                pattern.append((cls._LITERAL, segment))
        return pattern

    @classmethod
    def _match(cls, pattern: list[tuple[int, str]], parts: list[str]) -> dict[str, str] | None:
        params: dict[str, str] = {}
        for index, (kind, text) in enumerate(pattern):
            if kind == cls._GREEDY:
                rest = parts[index:]
                if not rest:
                    return None
                params[text] = "/".join(rest)
                return params
            if index >= len(parts) or not parts[index]:
                return None
            if kind == cls._LITERAL and parts[index] != text:
                return None
            if kind == cls._PARAM:
                params[text] = parts[index]
        return params if len(parts) == len(pattern) else None


def _split(path: str) -> list[str]:
    stripped = path.strip("/")  # API Gateway ignores a trailing slash
    return stripped.split("/") if stripped else []


# ---------------------------------------------------------------- the API Gateway side: events and responses


def build_proxy_event(
    method: str,
    raw_path: str,
    query_string: bytes,
    headers: list[tuple[str, str]],
    body: bytes,
    route: ApiRoute,
    path_params: Mapping[str, str],
    source_ip: str,
    host: str,
    *,
    request_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The API Gateway REST (v1) Lambda proxy event for one request, as AWS builds it."""
    now = now or datetime.now(UTC)
    single_headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        single_headers[name] = value  # the last value wins, as in AWS
        multi_headers.setdefault(name, []).append(value)
    query = parse_qsl(query_string.decode("utf-8", "replace"), keep_blank_values=True)
    multi_query: dict[str, list[str]] = {}
    for name, value in query:
        multi_query.setdefault(name, []).append(value)
    lower_headers = {name.lower(): value for name, value in single_headers.items()}
    is_text = _is_text(lower_headers.get("content-type"), body)
    path = unquote(raw_path)
    return {
        "resource": route.path,
        "path": path,
        "httpMethod": method,
        "headers": single_headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {name: values[-1] for name, values in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": dict(path_params) or None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": hashlib.sha1(route.path.encode(), usedforsecurity=False).hexdigest()[:6],
            "resourcePath": route.path,
            "httpMethod": method,
            "extendedRequestId": base64.b64encode(secrets.token_bytes(10)).decode(),
            "requestTime": f"{now:%d}/{_MONTHS[now.month - 1]}/{now:%Y:%H:%M:%S} +0000",
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "path": path,
            "accountId": ACCOUNT_ID,
            "protocol": "HTTP/1.1",
            "stage": STAGE,
            "domainPrefix": host.split(".")[0].split(":")[0],
            "domainName": host,
            "apiId": API_ID,
            "requestId": request_id or str(uuid.uuid4()),
            "identity": {
                **dict.fromkeys(_IDENTITY_NULL_FIELDS),
                "sourceIp": source_ip,
                "userAgent": lower_headers.get("user-agent"),
            },
        },
        "body": None if not body else body.decode() if is_text else base64.b64encode(body).decode(),
        "isBase64Encoded": bool(body) and not is_text,
    }


def proxy_result_to_response(result: Any) -> Response:
    """The HTTP response API Gateway makes of a proxy integration result; raises `FunctionError` if malformed."""
    if not isinstance(result, Mapping) or set(result) - PROXY_RESPONSE_KEYS:
        raise FunctionError(f"malformed Lambda proxy response: {_preview(result)}")
    status = result.get("statusCode")
    headers = result.get("headers") or {}
    multi_headers = result.get("multiValueHeaders") or {}
    body = result.get("body")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise FunctionError(f"malformed Lambda proxy response: statusCode {status!r}")
    if not isinstance(headers, Mapping) or not isinstance(multi_headers, Mapping):
        raise FunctionError("malformed Lambda proxy response: headers must be objects")
    if body is not None and not isinstance(body, str):
        raise FunctionError(f"malformed Lambda proxy response: body must be a string, got {type(body).__name__}")
    try:
        content = (
            base64.b64decode(body or "", validate=True) if result.get("isBase64Encoded") else (body or "").encode()
        )
        merged: dict[str, list[str]] = {
            name: [str(value) for value in values] for name, values in multi_headers.items()
        }
        for name, value in headers.items():  # AWS merges both; a pair present in both appears once
            if str(value) not in merged.setdefault(name, []):
                merged[name].append(str(value))
        raw_headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, values in merged.items()
            if name.lower() not in _HOP_BY_HOP_HEADERS
            for value in values
        ]
    except (TypeError, binascii.Error, UnicodeEncodeError) as error:
        raise FunctionError(f"malformed Lambda proxy response: {error}") from error
    if not any(name == b"content-type" for name, _ in raw_headers):
        raw_headers.append((b"content-type", b"application/json"))  # API Gateway's default
    response = Response(content=content, status_code=status)
    response.raw_headers.extend(raw_headers)
    return response


# The codes of layers/warroom/core/errors.py for the statuses the gateway or the HTTP server may answer themselves.
ERROR_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


def error_body(code: str, message: str) -> dict[str, Any]:
    """The project's one error shape."""
    return {"error": {"code": code, "message": message, "details": None}}


def error_response(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The project's one error shape, for answers the gateway gives itself."""
    return JSONResponse(error_body(code, message), status, headers=headers)


def _is_text(content_type: str | None, body: bytes) -> bool:
    media_type = (content_type or "").split(";")[0].strip().lower()
    textual = (
        media_type.startswith("text/")
        or media_type in TEXT_MEDIA_TYPES
        or (media_type.startswith("application/") and media_type.endswith("+json"))
    )
    if not textual:
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "..."


# ---------------------------------------------------------------- the HTTP app


@dataclass
class _Gateway:
    router: ApiRouter
    runtime: LambdaRuntime
    cors: CorsConfig | None
    on_invocation: Callable[[InvocationRecord], None]
    _limiter: anyio.CapacityLimiter | None = field(default=None, init=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The router's default app: every request no other route takes, whatever its method or path.
        if scope["type"] == "websocket":
            await _refuse_websocket(scope, send)
            return
        response = await self.handle(Request(scope, receive))
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        response, function, cold_start, request_id = await self._answer(request)
        response.headers["x-amzn-RequestId"] = request_id
        duration_ms = (time.perf_counter() - started) * 1000
        record = InvocationRecord(
            function,
            "http",
            request.method,
            request.url.path,
            response.status_code,
            duration_ms,
            cold_start,
            request_id,
        )
        self.on_invocation(record)
        return response

    async def _answer(self, request: Request) -> tuple[Response, str, bool, str]:
        """The response, the function that made it ("-" if none), whether it was cold, and the request id."""
        request_id = str(uuid.uuid4())
        raw_path = (request.scope.get("raw_path") or quote(request.url.path).encode()).decode("latin-1")
        match = self.router.match(raw_path)
        if match is None:
            return error_response(404, "not_found", f"No route for {request.scope['path']}"), "-", False, request_id
        method = request.method
        route = match.route_for(method)
        if method == "OPTIONS" and self.cors is not None and "OPTIONS" not in match.routes_by_method:
            return self._preflight(match), "-", False, request_id
        if route is None:
            allowed = sorted({*match.routes_by_method, *(["OPTIONS"] if self.cors is not None else [])})
            message = f"{method} is not allowed on {match.resource}"
            headers = {"Allow": ", ".join(allowed)}
            return error_response(405, "method_not_allowed", message, headers), "-", False, request_id
        body = await _read_body(request)
        if body is None:
            message = f"Request body exceeds API Gateway's limit of {MAX_PAYLOAD_BYTES} bytes"
            return error_response(413, "payload_too_large", message), "-", False, request_id
        event = build_proxy_event(
            method,
            raw_path,
            request.scope.get("query_string", b""),
            [(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw],
            body,
            route,
            match.path_params,
            request.client.host if request.client else "127.0.0.1",
            request.headers.get("host", "localhost"),
            request_id=request_id,
        )
        if self._limiter is None:
            # Threads mostly wait for a free container; a large limit keeps one busy function from starving others.
            self._limiter = anyio.CapacityLimiter(256)
        bad_gateway = error_response(502, "bad_gateway", "The function failed.")
        try:
            execution = await anyio.to_thread.run_sync(
                self.runtime.execute, route.function, event, limiter=self._limiter
            )
        except FunctionTimeout:
            message = f"{route.function} did not answer within its Timeout"
            return error_response(504, "gateway_timeout", message), route.function, False, request_id
        except RuntimeClosed:
            message = "The local cloud is shutting down."
            return error_response(503, "service_unavailable", message), route.function, False, request_id
        except FunctionError:  # the runtime logged the traceback
            return bad_gateway, route.function, False, request_id
        if _payload_bytes(execution.result) > MAX_LAMBDA_RESPONSE_BYTES:
            _log.error("%s (request %s): response over Lambda's 6 MB limit", route.function, execution.request_id)
            too_large = error_response(
                502, "response_too_large", f"The function's answer exceeds Lambda's {MAX_LAMBDA_RESPONSE_BYTES} bytes."
            )
            return too_large, route.function, execution.cold_start, request_id
        try:
            response = proxy_result_to_response(execution.result)
        except FunctionError as error:
            _log.error("%s (request %s): %s", route.function, execution.request_id, error)
            return bad_gateway, route.function, execution.cold_start, request_id
        return response, route.function, execution.cold_start, request_id

    def _preflight(self, match: RouteMatch) -> Response:
        cors = self.cors
        assert cors is not None
        methods = set(HTTP_METHODS) if "ANY" in match.routes_by_method else {*match.routes_by_method, "OPTIONS"}
        headers = {
            "Access-Control-Allow-Origin": cors.allow_origin,
            "Access-Control-Allow-Methods": cors.allow_methods or ",".join(sorted(methods)),
        }
        if cors.allow_headers is not None:
            headers["Access-Control-Allow-Headers"] = cors.allow_headers
        if cors.max_age is not None:
            headers["Access-Control-Max-Age"] = cors.max_age
        if cors.allow_credentials:
            headers["Access-Control-Allow-Credentials"] = "true"
        return Response(status_code=200, headers=headers)


def _payload_bytes(result: Any) -> int:
    """The size of a handler's result as Lambda serialises it (JSON, UTF-8)."""
    try:
        return len(json.dumps(result, separators=(",", ":")).encode())
    except (TypeError, ValueError):
        return 0  # not JSON: proxy_result_to_response refuses it as a 502 of its own


async def _read_body(request: Request) -> bytes | None:
    """The request body, or None when it exceeds API Gateway's payload limit (read no further than that)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_PAYLOAD_BYTES:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_PAYLOAD_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _refuse_websocket(scope: Scope, send: Send) -> None:
    """A WebSocket handshake on a path without a WebSocket route: 404 in the error shape where the server can."""
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": 1008})
        return
    body = JSONResponse(error_body("not_found", f"No WebSocket route for {scope['path']}")).body
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "websocket.http.response.start", "status": 404, "headers": headers})
    await send({"type": "websocket.http.response.body", "body": body})


async def _http_exception(request: Request, error: Exception) -> Response:
    """Starlette's own answers (a route's 405, ...) in the error shape."""
    assert isinstance(error, HTTPException)
    code = ERROR_CODES.get(error.status_code, "bad_request" if error.status_code < 500 else "internal_error")
    return error_response(error.status_code, code, str(error.detail), error.headers)


async def _unexpected_exception(request: Request, error: Exception) -> Response:
    # Starlette logs the traceback and re-raises after sending this.
    return error_response(500, "internal_error", "The local gateway failed.")


def create_gateway(
    functions: Mapping[str, FunctionSpec],
    routes: list[ApiRoute],
    env_by_function: Mapping[str, Mapping[str, str]],
    cors: CorsConfig | None,
    *,
    max_concurrency_per_function: int = 4,
    on_invocation: Callable[[InvocationRecord], None] | None = None,
) -> Starlette:
    """The local API Gateway as a Starlette app; `app.state.runtime` is its `LambdaRuntime`.

    Side effect: sets the functions' environment in `os.environ` (see `apply_function_environment`).
    Every request that no route of `app.router.routes` takes goes to the REST gateway (any path, any method, control
    characters included): other routes, such as the WebSocket API's, are simply appended there.
    """
    runtime = LambdaRuntime(functions, env_by_function, max_concurrency_per_function=max_concurrency_per_function)
    gateway = _Gateway(ApiRouter(routes), runtime, cors, on_invocation or print_invocation)
    app = Starlette(exception_handlers={HTTPException: _http_exception, Exception: _unexpected_exception})
    app.router.default = gateway
    app.router.redirect_slashes = False  # API Gateway ignores a trailing slash; the REST router handles it
    app.state.runtime = runtime
    return app


def error_shaped_http_protocol(base: type[asyncio.Protocol] | None = None) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol (`base`, default its "auto" choice) answering its own 400 and 500 in the error shape.

    uvicorn answers a request it cannot parse (a bad request line, a control character in the path, oversized
    headers) with a plain-text 400 before any app runs, and an app that fails before responding with a plain-text
    500. Pass the result as ``uvicorn.Config(http=...)``.
    """
    if base is None:
        from uvicorn.protocols.http.auto import AutoHTTPProtocol

        base = AutoHTTPProtocol

    class ErrorShapedHTTPProtocol(base):  # type: ignore[valid-type, misc]
        def send_400_response(self, msg: str) -> None:
            body = json.dumps(error_body("bad_request", msg)).encode()
            head = (
                "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n"
                f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
            )
            self.transport.write(head.encode("ascii") + body)
            self.transport.close()

        async def send_500_response(self) -> None:
            body = json.dumps(error_body("internal_error", "The local gateway failed.")).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await self.send(
                {"type": "http.response.start", "status": 500, "headers": [*headers, (b"connection", b"close")]}
            )
            await self.send({"type": "http.response.body", "body": body, "more_body": False})

    return ErrorShapedHTTPProtocol
