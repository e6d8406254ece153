"""A local fake of the Mentionlytics API, answering in the real API's shapes from recorded fixtures.

Example
-------
>>> with FakeMentionlytics() as fake:
...     fake.faults.extend(["429:1", "500", "malformed"])     # the next three /mentions requests fail so
...     source = MentionlyticsSource(base_url=fake.base_url, token=fake.v1_token, version="v1")

It serves v1 ``GET /api/mentions?token=`` (``{"mentions": [...]}``), v2 ``GET /api/v2/mentions`` with a
bearer token (``{"data": [...], "meta": {...}}``) and ``POST /api/v2/token/refresh``, pages the fixture's
items by ``page_no`` / ``per_page``, answers 401 for a wrong token, and injects faults from ``faults``:
``429`` (no Retry-After), ``429:<s>`` (Retry-After in seconds), ``500``, ``503``, ``malformed`` (a 200
whose JSON is cut off). Every request is recorded with its time, so tests can check the pacing.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from localcloud.services import free_port

FIXTURES = Path(__file__).parent / "fixtures" / "mentionlytics"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


class FakeMentionlytics:
    def __init__(self) -> None:
        self.v1_token = "v1-good-token"
        self.bearer_tokens = {"v2-good-bearer"}
        self.refresh_token = "same-refresh-token"
        self.faults: deque[str] = deque()
        self.requests: list[dict[str, Any]] = []
        self.v1_items = fixture("v1_mentions.json")["mentions"]
        self.v2_items = fixture("v2_mentions.json")["data"]
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/api/"
        app = Starlette(
            routes=[
                Route("/api/mentions", self._v1_mentions),
                Route("/api/v2/mentions", self._v2_mentions),
                Route("/api/v2/token/refresh", self._refresh, methods=["POST"]),
            ]
        )
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> FakeMentionlytics:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake Mentionlytics did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.should_exit = True
        self._thread.join(5)

    def mention_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].endswith("/mentions")]

    def _record(self, request: Request) -> None:
        self.requests.append(
            {
                "path": request.url.path,
                "query": dict(request.query_params),
                "at": time.monotonic(),
                "authorization": request.headers.get("authorization"),
            }
        )

    def _fault(self) -> Response | None:
        if not self.faults:
            return None
        fault = self.faults.popleft()
        if fault.startswith("429"):
            _, _, seconds = fault.partition(":")
            headers = {"Retry-After": seconds} if seconds else {}
            return JSONResponse({"error": "Too Many Requests"}, status_code=429, headers=headers)
        if fault in ("500", "503"):
            return JSONResponse({"error": "upstream trouble"}, status_code=int(fault))
        if fault == "malformed":
            return Response('{"mentions": [{"id": 1, "pub_da', media_type="application/json")
        raise AssertionError(f"unknown fault {fault}")

    @staticmethod
    def _page(items: list[Any], request: Request) -> tuple[list[Any], bool]:
        page_no = int(request.query_params.get("page_no", "1"))
        per_page = int(request.query_params.get("per_page", "100"))
        chunk = items[(page_no - 1) * per_page : page_no * per_page]
        return copy.deepcopy(chunk), page_no * per_page < len(items)

    async def _v1_mentions(self, request: Request) -> Response:
        self._record(request)
        if request.query_params.get("token") != self.v1_token:
            return JSONResponse(fixture("unauthorized.json"), status_code=401)
        fault = self._fault()
        if fault is not None:
            return fault
        items, _ = self._page(self.v1_items, request)
        return JSONResponse({"mentions": items})

    async def _v2_mentions(self, request: Request) -> Response:
        self._record(request)
        token = (request.headers.get("authorization") or "").removeprefix("Bearer ")
        if token not in self.bearer_tokens:
            return JSONResponse(fixture("unauthorized.json"), status_code=401)
        fault = self._fault()
        if fault is not None:
            return fault
        items, has_more = self._page(self.v2_items, request)
        meta = {
            "page": int(request.query_params.get("page_no", "1")),
            "total": len(self.v2_items),
            "has_more": has_more,
        }
        return JSONResponse({"data": items, "meta": meta})

    async def _refresh(self, request: Request) -> Response:
        self._record(request)
        body = await request.json()
        if body.get("refresh_token") != self.refresh_token:
            return JSONResponse(fixture("unauthorized.json"), status_code=401)
        answer = fixture("v2_token_refresh.json")
        self.bearer_tokens.add(answer["access_token"])
        return JSONResponse(answer)
