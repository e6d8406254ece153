"""A local fake of the Meta Graph (Marketing) API, answering in Graph's shapes.

Example
-------
>>> with FakeMeta() as fake:
...     fake.faults.extend(["throttle:17:2", "500", "malformed"])   # the next three requests fail so
...     source = MetaSource(account_id=fake.account_id, access_token=fake.token, base_url=fake.base_url)

It serves ``GET /{version}/act_{id}`` (``fields=currency``), ``GET /{version}/act_{id}/campaigns``,
``GET /{version}/act_{id}/adsets`` (``ad_sets``) and ``GET /{version}/{campaign_id}/insights`` (``time_range``
JSON, one row per day), pages by ``limit`` and ``after`` with ``paging.cursors`` and a ``paging.next`` URL that
carries ``access_token`` as Graph's does, answers code 190 for a wrong token, and injects faults from
``faults``: ``ok`` (this request is answered normally: it lets a test aim a later fault at a later request),
``throttle:<code>[:<minutes>]`` (with ``X-Business-Use-Case-Usage``), ``401``, ``500``, ``503``, ``malformed``
(a 200 with cut-off JSON), ``deprecated`` (code 2635). An insights request (or report run) for more than
``max_insight_days`` days answers subcode 1487534. ``version_warning`` is sent as ``X-Ad-Api-Version-Warning`` when set.

Account-level insights: ``GET /{version}/act_{id}/insights`` answers every campaign's rows of ``insights``,
each with its ``campaign_id`` (campaign by campaign, day by day). ``POST`` to the same path (the parameters as
a form) starts a report run and answers ``{"report_run_id": ...}``; ``GET /{version}/{report_run_id}`` answers
its status, the n-th poll of a run taking the n-th of ``report_statuses`` (the last one sticks: ``Job Not
Started`` -> ``Job Running`` -> ``Job Completed`` unless a test sets e.g. ``["Job Running", "Job Failed"]``),
and ``GET /{version}/{report_run_id}/insights`` pages the rows once the run is completed (Graph's error 100
before then).
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import threading
import time
from collections import deque
from typing import Any
from urllib.parse import parse_qsl, urlencode

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
        self.ad_sets: list[dict[str, Any]] = []
        self.report_statuses: list[str] = ["Job Not Started", "Job Running", "Job Completed"]
        self.report_runs: dict[str, dict[str, Any]] = {}
        self._run_ids = itertools.count(6091000000001)
        self.faults: deque[str] = deque()
        self.requests: list[dict[str, Any]] = []
        self.max_insight_days: int | None = None
        self.version_warning: str | None = None
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        app = Starlette(
            routes=[
                Route("/{version}/{node}/{edge}", self._edge, methods=["GET", "POST"]),
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

    def report_polls(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].rsplit("/", 1)[-1] in self.report_runs]

    def _headers(self) -> dict[str, str]:
        return {"X-Ad-Api-Version-Warning": self.version_warning} if self.version_warning else {}

    def _answer(self, body: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
        return JSONResponse(body, status_code=status_code, headers={**self._headers(), **(headers or {})})

    async def _check(self, request: Request) -> Response | None:
        """Record the request; answer its fault or a rejected token, if any."""
        authorization = request.headers.get("authorization", "")
        # parsed by hand, as the Google fake does: Graph reads a POST's parameters from a urlencoded form
        form = dict(parse_qsl((await request.body()).decode())) if request.method == "POST" else {}
        token = form.get("access_token") or request.query_params.get("access_token") or authorization
        token = str(token).removeprefix("Bearer ")
        self.requests.append(
            {
                "method": request.method,
                "path": request.url.path,
                "query": dict(request.query_params),
                "form": form,
                "token": token,
            }
        )
        if self.faults:
            fault = self.faults.popleft()
            kind, _, rest = fault.partition(":")
            if kind == "ok":
                pass
            elif kind == "throttle":
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
            elif kind == "401":
                return self._answer(graph_error("Error validating access token: Session has expired", 190, 463), 401)
            elif kind in ("500", "503"):
                body = graph_error("An unexpected error has occurred. Please retry your request later.", 2)
                return self._answer(body, int(kind))
            elif kind == "malformed":
                return Response('{"data": [{"id": "1202', media_type="application/json", headers=self._headers())
            elif kind == "deprecated":
                message = "(#2635) You are calling a deprecated version of the Ads API."
                return self._answer(graph_error(message, 2635), 400)
            else:
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
        refused = await self._check(request)
        if refused is not None:
            return refused
        node = request.path_params["node"]
        if node in self.report_runs:
            return self._answer(self._report_status(request, node))
        if node != f"act_{self.account_id}":
            return self._answer(
                graph_error(f"Unsupported get request. Object with ID '{node}' does not exist", 100, 33)
            )
        return self._answer({"currency": self.currency, "id": node})

    async def _edge(self, request: Request) -> Response:
        refused = await self._check(request)
        if refused is not None:
            return refused
        node, edge = request.path_params["node"], request.path_params["edge"]
        account = f"act_{self.account_id}"
        params = self.requests[-1]["form"] if request.method == "POST" else dict(request.query_params)
        if request.method == "POST":
            if (node, edge) != (account, "insights"):
                return self._answer(graph_error(f"Unsupported post request ({node}/{edge})", 100, 33), 400)
            return self._start_report(params)
        if edge == "campaigns" and node == account:
            return self._answer(self._page(request, self.campaigns))
        if edge == "adsets" and node == account:
            return self._answer(self._page(request, self.ad_sets))
        if edge == "insights" and node in self.report_runs:
            run = self.report_runs[node]
            if run["async_status"] != "Job Completed":
                message = f"Report run {node} is not completed yet ({run['async_status']})"
                return self._answer(graph_error(message, 100, 2601, "GraphMethodException"), 400)
            return self._answer(self._page(request, run["rows"]))
        if edge == "insights" and (node in self.insights or node == account):
            too_big = self._too_big(params)
            if too_big is not None:
                return too_big
            return self._answer(self._page(request, self._rows(node, params)))
        return self._answer(graph_error(f"Unsupported get request ({node}/{edge})", 100, 33), 400)

    def _too_big(self, params: dict[str, Any]) -> Response | None:
        since, until = self._range(params)
        if self.max_insight_days is not None and (until - since).days + 1 > self.max_insight_days:
            message = "Please reduce the amount of data you're asking for, then retry your request"
            return self._answer(graph_error(message, 100, 1487534), 400)
        return None

    @staticmethod
    def _range(params: dict[str, Any]) -> tuple[dt.date, dt.date]:
        time_range = json.loads(params["time_range"])
        return dt.date.fromisoformat(time_range["since"]), dt.date.fromisoformat(time_range["until"])

    def _rows(self, node: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """The campaign's rows in the range; for the account, every campaign's, each with its campaign_id."""
        since, until = self._range(params)
        with_id = "campaign_id" in str(params.get("fields", "")).split(",")
        campaigns = self.insights if node == f"act_{self.account_id}" else {node: self.insights[node]}
        return [
            {"campaign_id": campaign_id, **row} if with_id else row
            for campaign_id, rows in campaigns.items()
            for row in rows
            if since <= dt.date.fromisoformat(row["date_start"]) <= until
        ]

    def _start_report(self, params: dict[str, Any]) -> Response:
        too_big = self._too_big(params)
        if too_big is not None:
            return too_big
        run_id = str(next(self._run_ids))
        since, until = self._range(params)
        self.report_runs[run_id] = {
            "polls": 0,
            "async_status": "Job Not Started",
            "date_start": since.isoformat(),
            "date_stop": until.isoformat(),
            "time_ref": int(time.time()),
            "rows": self._rows(f"act_{self.account_id}", params),
        }
        return self._answer({"report_run_id": run_id})

    def _report_status(self, request: Request, run_id: str) -> dict[str, Any]:
        """The run's status as Graph's AdReportRun answers it, moving one step along ``report_statuses``."""
        run = self.report_runs[run_id]
        status = self.report_statuses[min(run["polls"], len(self.report_statuses) - 1)]
        run["polls"] += 1
        run["async_status"] = status
        percent = {"Job Not Started": 0, "Job Completed": 100}.get(status, min(run["polls"] * 30, 99))
        answer: dict[str, Any] = {
            "id": run_id,
            "account_id": self.account_id,
            "async_status": status,
            "async_percent_completion": percent,
            "date_start": run["date_start"],
            "date_stop": run["date_stop"],
            "time_ref": run["time_ref"],
            "is_running": status in ("Job Started", "Job Running"),
        }
        if status == "Job Completed":
            answer["time_completed"] = run["time_ref"] + 1
        fields = request.query_params.get("fields")
        if fields:  # Graph answers what was asked for, and the id
            answer = {k: v for k, v in answer.items() if k == "id" or k in fields.split(",")}
        return answer
