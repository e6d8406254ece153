"""A local fake of the Meta Graph (Marketing) API, answering in Graph's shapes.

Example
-------
>>> with FakeMeta() as fake:
...     fake.faults.extend(["throttle:17:2", "500", "malformed"])   # the next three requests fail so
...     source = MetaSource(account_id=fake.account_id, access_token=fake.token, base_url=fake.base_url)

It serves ``GET /{version}/act_{id}`` (``fields=currency``), ``GET /{version}/act_{id}/campaigns`` and
``GET /{version}/{campaign_id}/insights`` (``time_range`` JSON, one row per day), pages by ``limit`` and
``after`` with ``paging.cursors`` and a ``paging.next`` URL that carries ``access_token`` as Graph's does,
answers code 190 for a wrong token, and injects faults from ``faults``: ``throttle:<code>[:<minutes>]``
(with ``X-Business-Use-Case-Usage``), ``401``, ``500``, ``503``, ``malformed`` (a 200 with cut-off JSON),
``deprecated`` (code 2635). An insights request for more than ``max_insight_days`` days answers subcode
1487534. ``version_warning`` is sent as ``X-Ad-Api-Version-Warning`` when set.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import time
from collections import deque
from typing import Any
from urllib.parse import urlencode

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from localcloud.services import free_port


def graph_error(message: str, code: int, subcode: int | None = None, type_: str = "OAuthException") -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": type_, "code": code, "fbtrace_id": "AbCdEfGhIjK"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset(cursor: str | None) -> int:
    return int(base64.urlsafe_b64decode(cursor.encode()).decode().split(":")[1]) if cursor else 0


class FakeMeta:
    def __init__(self) -> None:
        self.token = "EAAGm0PX4ZCpsBAFakeMetaToken1234567890"
        self.account_id = "1234567890"
        self.currency = "EUR"
        self.campaigns: list[dict[str, Any]] = []
        self.insights: dict[str, list[dict[str, Any]]] = {}
        self.faults: deque[str] = deque()
        self.requests: list[dict[str, Any]] = []
        self.max_insight_days: int | None = None
        self.version_warning: str | None = None
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        app = Starlette(
            routes=[
                Route("/{version}/{node}/{edge}", self._edge),
                Route("/{version}/{node}", self._node),
            ]
        )
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> FakeMeta:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake Meta did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.should_exit = True
        self._thread.join(5)

    def insight_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].endswith("/insights")]

    def _headers(self) -> dict[str, str]:
        return {"X-Ad-Api-Version-Warning": self.version_warning} if self.version_warning else {}

    def _answer(self, body: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
        return JSONResponse(body, status_code=status_code, headers={**self._headers(), **(headers or {})})

    def _check(self, request: Request) -> Response | None:
        """Record the request; answer its fault or a rejected token, if any."""
        authorization = request.headers.get("authorization", "")
        token = request.query_params.get("access_token") or authorization.removeprefix("Bearer ")
        self.requests.append({"path": request.url.path, "query": dict(request.query_params), "token": token})
        if self.faults:
            fault = self.faults.popleft()
            kind, _, rest = fault.partition(":")
            if kind == "throttle":
                code, _, minutes = rest.partition(":")
                headers = {}
                if minutes:
                    usage = {
                        self.account_id: [
                            {
                                "type": "ads_insights",
                                "call_count": 100,
                                "total_cputime": 30,
                                "total_time": 40,
                                "estimated_time_to_regain_access": int(minutes),
                            }
                        ]
                    }
                    headers["X-Business-Use-Case-Usage"] = json.dumps(usage)
                body = graph_error("(#17) User request limit reached", int(code), 2446079)
                body["error"]["is_transient"] = True
                return self._answer(body, 400, headers)
            if kind == "401":
                return self._answer(graph_error("Error validating access token: Session has expired", 190, 463), 401)
            if kind in ("500", "503"):
                body = graph_error("An unexpected error has occurred. Please retry your request later.", 2)
                return self._answer(body, int(kind))
            if kind == "malformed":
                return Response('{"data": [{"id": "1202', media_type="application/json", headers=self._headers())
            if kind == "deprecated":
                message = "(#2635) You are calling a deprecated version of the Ads API."
                return self._answer(graph_error(message, 2635), 400)
            raise AssertionError(f"unknown fault {fault}")
        if token != self.token:
            return self._answer(graph_error("Invalid OAuth access token - Cannot parse access token", 190), 400)
        return None

    def _page(self, request: Request, items: list[dict[str, Any]]) -> dict[str, Any]:
        limit = int(request.query_params.get("limit", "25"))
        offset = _offset(request.query_params.get("after"))
        chunk = items[offset : offset + limit]
        body: dict[str, Any] = {"data": chunk}
        if chunk:
            body["paging"] = {"cursors": {"before": _cursor(offset), "after": _cursor(offset + len(chunk))}}
            if offset + limit < len(items):
                query = {k: v for k, v in request.query_params.items() if k != "after"}
                query.update({"access_token": self.token, "after": _cursor(offset + len(chunk))})
                body["paging"]["next"] = f"{self.base_url}{request.url.path}?{urlencode(query)}"
        return body

    async def _node(self, request: Request) -> Response:
        refused = self._check(request)
        if refused is not None:
            return refused
        node = request.path_params["node"]
        if node != f"act_{self.account_id}":
            return self._answer(
                graph_error(f"Unsupported get request. Object with ID '{node}' does not exist", 100, 33)
            )
        return self._answer({"currency": self.currency, "id": node})

    async def _edge(self, request: Request) -> Response:
        refused = self._check(request)
        if refused is not None:
            return refused
        node, edge = request.path_params["node"], request.path_params["edge"]
        if edge == "campaigns" and node == f"act_{self.account_id}":
            return self._answer(self._page(request, self.campaigns))
        if edge == "insights" and node in self.insights:
            time_range = json.loads(request.query_params["time_range"])
            since, until = dt.date.fromisoformat(time_range["since"]), dt.date.fromisoformat(time_range["until"])
            if self.max_insight_days is not None and (until - since).days + 1 > self.max_insight_days:
                message = "Please reduce the amount of data you're asking for, then retry your request"
                return self._answer(graph_error(message, 100, 1487534), 400)
            rows = [r for r in self.insights[node] if since <= dt.date.fromisoformat(r["date_start"]) <= until]
            return self._answer(self._page(request, rows))
        return self._answer(graph_error(f"Unsupported get request ({node}/{edge})", 100, 33), 400)
