"""The local API Gateway WebSocket API: ``/ws`` for clients and ``/@connections`` for the functions.

Reads the template's ``AWS::ApiGatewayV2::Api`` (protocol WEBSOCKET), its routes and Lambda proxy
integrations. A client connecting to ``ws://host:port/ws?token=...`` causes a ``$connect`` invocation
with API Gateway's event shape; the connection opens only when the function answers 200. Each text
frame is routed by the API's route selection expression (``$request.body.action``): the route whose
key equals the selected value, else ``$default``; a route with a route response (two-way) sends the
function's ``body`` back on the socket. Closing causes ``$disconnect``.

The Management API that ``boto3.client("apigatewaymanagementapi", endpoint_url=...)`` calls is served
at ``/@connections/{connectionId}`` (POST a message, GET its info, DELETE to close it), so
``warroom.realtime.broadcast`` runs the same code locally as in AWS.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import os
import re
import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from localcloud.gateway import API_ID
from localcloud.lambda_runtime import ACCOUNT_ID, FunctionError, InvocationRecord, LambdaRuntime, print_invocation
from localcloud.sigv4 import SignatureRejected, verify_sigv4
from localcloud.template import UnsupportedTemplateFeature

_FUNCTION_ARN = re.compile(r"\$\{([A-Za-z0-9]+)\.Arn\}")
_INTEGRATION = re.compile(r"^integrations/\$\{([A-Za-z0-9]+)\}$")
_BODY_SELECTION = re.compile(r"^\$request\.body\.([A-Za-z0-9_.]+)$")
# The resources this module stands in for (provisioning creates nothing for them).
WEBSOCKET_RESOURCE_TYPES = frozenset(
    {
        "AWS::ApiGatewayV2::Api",
        "AWS::ApiGatewayV2::Route",
        "AWS::ApiGatewayV2::RouteResponse",
        "AWS::ApiGatewayV2::Integration",
        "AWS::ApiGatewayV2::Stage",
        "AWS::ApiGatewayV2::Deployment",
    }
)
_FORBIDDEN = {"x-amzn-ErrorType": "ForbiddenException"}


@dataclass(frozen=True)
class WebSocketApiSpec:
    """The template's WebSocket API: which function serves each route key, and which routes answer back."""

    logical_id: str
    selection_path: tuple[str, ...]
    functions_by_route: dict[str, str]
    two_way_routes: frozenset[str]
    stage: str


def _sub_text(value: Any) -> str:
    if isinstance(value, Mapping) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return str(sub if isinstance(sub, str) else sub[0])
    return str(value)


def _ref(value: Any) -> str | None:
    return str(value["Ref"]) if isinstance(value, Mapping) and "Ref" in value else None


def read_websocket_api(template: Mapping[str, Any]) -> WebSocketApiSpec | None:
    """The template's WebSocket API, or None; unsupported shapes fail loudly."""
    resources = template.get("Resources") or {}
    apis = [n for n, r in resources.items() if r.get("Type") == "AWS::ApiGatewayV2::Api"]
    if not apis:
        return None
    if len(apis) > 1:
        raise UnsupportedTemplateFeature(f"only one AWS::ApiGatewayV2::Api is supported locally, found {apis}")
    api_id = apis[0]
    api = resources[api_id].get("Properties") or {}
    if api.get("ProtocolType") != "WEBSOCKET":
        raise UnsupportedTemplateFeature(f"{api_id}: only WEBSOCKET APIs are supported locally (HTTP APIs are not)")
    selection = _BODY_SELECTION.match(str(api.get("RouteSelectionExpression", "")))
    if selection is None:
        raise UnsupportedTemplateFeature(f"{api_id}: RouteSelectionExpression must be $request.body.<field>")

    def of_type(kind: str) -> dict[str, Mapping[str, Any]]:
        return {n: r.get("Properties") or {} for n, r in resources.items() if r.get("Type") == kind}

    integrations: dict[str, str] = {}
    for name, props in of_type("AWS::ApiGatewayV2::Integration").items():
        found = _FUNCTION_ARN.search(_sub_text(props.get("IntegrationUri")))
        if props.get("IntegrationType") != "AWS_PROXY" or found is None:
            raise UnsupportedTemplateFeature(f"{name}: only AWS_PROXY integrations with a function's Arn are supported")
        integrations[name] = found.group(1)
    routes: dict[str, str] = {}
    route_keys: dict[str, str] = {}
    for name, props in of_type("AWS::ApiGatewayV2::Route").items():
        target = _INTEGRATION.match(_sub_text(props.get("Target")))
        if target is None or target.group(1) not in integrations:
            raise UnsupportedTemplateFeature(f"{name}: Target must be !Sub integrations/${{<Integration>}}")
        routes[str(props["RouteKey"])] = integrations[target.group(1)]
        route_keys[name] = str(props["RouteKey"])
    two_way = {route_keys[_ref(p.get("RouteId")) or ""] for p in of_type("AWS::ApiGatewayV2::RouteResponse").values()}
    stages = [str(p.get("StageName")) for p in of_type("AWS::ApiGatewayV2::Stage").values()]
    return WebSocketApiSpec(
        api_id, tuple(selection.group(1).split(".")), routes, frozenset(two_way), stages[0] if stages else "$default"
    )


def _connection_id() -> str:
    """An id shaped like API Gateway's ("L0SM9cOFvHcCIhw="), without "/" or "+" so it is path-safe."""
    return base64.b64encode(secrets.token_bytes(10), altchars=b"Xz").decode()


@dataclass
class _Client:
    socket: WebSocket
    connected_at: float
    source_ip: str
    user_agent: str | None
    last_active: float = field(default_factory=time.time)


class WebSocketGateway:
    """Clients at ``/ws``, the Management API at ``/@connections``; handlers run in the given runtime."""

    def __init__(
        self,
        spec: WebSocketApiSpec,
        runtime: LambdaRuntime,
        on_invocation: Callable[[InvocationRecord], None] = print_invocation,
    ) -> None:
        self.spec = spec
        self.runtime = runtime
        self.on_invocation = on_invocation
        self.clients: dict[str, _Client] = {}
        self._limiter = anyio.CapacityLimiter(256)

    def routes(self) -> list[Route | WebSocketRoute]:
        return [
            WebSocketRoute("/ws", self.serve_client),
            Route("/@connections/{connection_id}", self.manage, methods=["POST", "GET", "DELETE"]),
            # boto3 puts the stage in the path when the endpoint URL has one (".../live/@connections/...").
            Route("/{stage}/@connections/{connection_id}", self.manage, methods=["POST", "GET", "DELETE"]),
        ]

    def _event(
        self,
        route_key: str,
        event_type: str,
        connection_id: str,
        client: _Client,
        websocket: WebSocket,
        body: str | None = None,
    ) -> dict[str, Any]:
        now = time.time()
        context: dict[str, Any] = {
            "routeKey": route_key,
            "eventType": event_type,
            "extendedRequestId": base64.b64encode(secrets.token_bytes(10)).decode(),
            "requestTime": dt.datetime.fromtimestamp(now, dt.UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "messageDirection": "IN",
            "stage": self.spec.stage,
            "connectedAt": int(client.connected_at * 1000),
            "requestTimeEpoch": int(now * 1000),
            "identity": {"sourceIp": client.source_ip, "userAgent": client.user_agent},
            "requestId": str(uuid.uuid4()),
            "domainName": websocket.headers.get("host", "localhost"),
            "connectionId": connection_id,
            "apiId": API_ID,
            "accountId": ACCOUNT_ID,
        }
        if event_type == "MESSAGE":
            context["messageId"] = base64.b64encode(secrets.token_bytes(10)).decode()
        if event_type == "DISCONNECT":
            context["disconnectStatusCode"] = 1000
            context["disconnectReason"] = ""
        event: dict[str, Any] = {"requestContext": context, "isBase64Encoded": False}
        if event_type == "CONNECT":
            pairs = parse_qsl(websocket.scope.get("query_string", b"").decode(), keep_blank_values=True)
            multi: dict[str, list[str]] = {}
            for name, value in pairs:
                multi.setdefault(name, []).append(value)
            headers = {k: v for k, v in websocket.headers.items()}
            event.update(
                {
                    "headers": headers,
                    "multiValueHeaders": {k: [v] for k, v in headers.items()},
                    "queryStringParameters": {k: v[-1] for k, v in multi.items()} or None,
                    "multiValueQueryStringParameters": multi or None,
                }
            )
        if body is not None:
            event["body"] = body
        return event

    async def _invoke(self, route_key: str, event: dict[str, Any]) -> dict[str, Any] | None:
        function = self.spec.functions_by_route.get(route_key)
        if function is None:
            return None
        started = time.perf_counter()
        status, cold = 502, False
        try:
            execution = await anyio.to_thread.run_sync(self.runtime.execute, function, event, limiter=self._limiter)
            result = execution.result if isinstance(execution.result, dict) else {}
            status, cold = int(result.get("statusCode", 200)), execution.cold_start
            return result
        except FunctionError:
            return {"statusCode": 502}
        finally:
            self.on_invocation(
                InvocationRecord(
                    function,
                    "websocket",
                    route_key,
                    "/ws",
                    status,
                    (time.perf_counter() - started) * 1000,
                    cold,
                    event["requestContext"]["requestId"],
                )
            )

    def _select_route(self, body: str) -> str:
        try:
            value: Any = json.loads(body)
            for part in self.spec.selection_path:
                value = value[part]
        except (ValueError, KeyError, TypeError, IndexError):
            return "$default"
        return value if isinstance(value, str) and value in self.spec.functions_by_route else "$default"

    async def serve_client(self, websocket: WebSocket) -> None:
        connection_id = _connection_id()
        client = _Client(
            websocket,
            time.time(),
            websocket.client.host if websocket.client else "127.0.0.1",
            websocket.headers.get("user-agent"),
        )
        result = await self._invoke("$connect", self._event("$connect", "CONNECT", connection_id, client, websocket))
        status = int((result or {"statusCode": 200}).get("statusCode", 200))
        if not 200 <= status < 300:
            # As API Gateway does, a refused $connect never opens: the handshake is answered with its status.
            await websocket.send_denial_response(Response(status_code=status if status >= 400 else 403))
            return
        await websocket.accept()
        self.clients[connection_id] = client
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                body = message.get("text")
                if body is None:
                    body = (message.get("bytes") or b"").decode("utf-8", "replace")
                client.last_active = time.time()
                route_key = self._select_route(body)
                event = self._event(route_key, "MESSAGE", connection_id, client, websocket, body)
                answer = await self._invoke(route_key, event)
                if answer and route_key in self.spec.two_way_routes and answer.get("body"):
                    await websocket.send_text(str(answer["body"]))
        except WebSocketDisconnect:
            pass
        finally:
            self.clients.pop(connection_id, None)
            await self._invoke(
                "$disconnect", self._event("$disconnect", "DISCONNECT", connection_id, client, websocket)
            )

    async def manage(self, request: Request) -> Response:
        connection_id = request.path_params["connection_id"]
        data = await request.body()
        try:
            # Only this local cloud's functions may post to, read or close a socket: they sign with its key.
            verify_sigv4(
                request.method,
                request.scope.get("raw_path", b"").decode("latin-1") or request.url.path,
                request.scope.get("query_string", b"").decode("latin-1"),
                request.headers,
                data,
                access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", ""),
                secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", ""),
            )
        except SignatureRejected as rejected:
            return JSONResponse({"message": str(rejected)}, status_code=403, headers=_FORBIDDEN)
        client = self.clients.get(connection_id)
        if client is None:
            return JSONResponse(
                {"message": f"Connection {connection_id} is gone"},
                status_code=410,
                headers={"x-amzn-ErrorType": "GoneException"},
            )
        if request.method == "POST":
            try:
                await client.socket.send_text(data.decode())
            except UnicodeDecodeError:
                await client.socket.send_bytes(data)
            except (RuntimeError, WebSocketDisconnect, asyncio.CancelledError):
                return JSONResponse({"message": "gone"}, status_code=410, headers={"x-amzn-ErrorType": "GoneException"})
            return Response(status_code=200)
        if request.method == "DELETE":
            self.clients.pop(connection_id, None)
            await client.socket.close(code=1000)
            return Response(status_code=204)
        # GetConnection's wire names (boto3 turns them into ConnectedAt, Identity.SourceIp, ...).
        return JSONResponse(
            {
                "connectedAt": dt.datetime.fromtimestamp(client.connected_at, dt.UTC).isoformat(),
                "identity": {"sourceIp": client.source_ip, "userAgent": client.user_agent},
                "lastActiveAt": dt.datetime.fromtimestamp(client.last_active, dt.UTC).isoformat(),
            }
        )
