"""A local fake of the Google Ads API (REST) and Google's OAuth2 token endpoint, answering in their real JSON shapes.

Example
-------
>>> with FakeGoogleAds() as fake:
...     fake.faults.extend(["quota_temporary:30s", "500"])      # the next two searchStream calls fail so
...     source = GoogleAdsSource(customer_id=fake.customer_id, ..., base_url=fake.base_url, token_url=fake.token_url)

It serves ``POST /token`` (form ``grant_type=refresh_token``; ``invalid_grant`` / ``invalid_client`` as
Google answers them) and ``POST /{version}/customers/{id}/googleAds:searchStream``: a JSON array of batches
``{"results", "fieldMask", "requestId"}`` with camelCase keys, int64 as strings and money in micros, filtered
by the query's ``segments.date BETWEEN`` and ``campaign.id =``, each result holding only the fields the query
selects (plus each resource's ``resourceName``) and ``fieldMask`` naming them, as Google answers. A query without
``segments.date`` lists campaigns: one result per campaign with its flight from ``flights``
(``"startDateTime": "2026-10-01 00:00:00"``, ``"endDateTime": "2026-11-03 23:59:59"``; no end: runs
indefinitely) and its ``campaignBudget`` (``amountMicros`` for a daily budget, ``totalAmountMicros`` with
``period: CUSTOM_PERIOD`` for a campaign total budget, when a test puts one in ``rows``). A field unknown to the
path's API version (``campaign.start_date`` from v23 on, ``campaign.start_date_time`` before) answers 400
``queryError: UNRECOGNIZED_FIELD``. A wrong or expired bearer answers 401
``UNAUTHENTICATED``. Faults for the next searchStream calls (``faults``): ``quota_temporary:<delay>``,
``quota_temporary_in_array:<delay>`` (a stream answer: the error inside a JSON array), ``daily_quota``,
``auth_error``, ``500``, ``503``, ``malformed`` (cut-off JSON); ``token_faults`` likewise for ``/token``:
``500``, ``malformed``. Every request is recorded (path, headers, form or JSON body).
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import re
import threading
import time
import urllib.parse
from collections import deque
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from localcloud.services import free_port

API_VERSION = "v26"
_FAILURE_TYPE = f"type.googleapis.com/google.ads.googleads.{API_VERSION}.errors.GoogleAdsFailure"
_BETWEEN = re.compile(r"segments\.date BETWEEN '(\d{4}-\d{2}-\d{2})' AND '(\d{4}-\d{2}-\d{2})'")
_CAMPAIGN_ID = re.compile(r"campaign\.id = (\d+)")
_DURING = re.compile(r"\bDURING\b")
_SELECT = re.compile(r"^\s*SELECT\s+(.*?)\s+FROM\s", re.IGNORECASE | re.DOTALL)
_VERSION = re.compile(r"^/v(\d+)/")
# campaign.start_date / end_date became start_date_time / end_date_time in v23 (resources/campaign.proto)
_REMOVED_IN_V23 = frozenset({"campaign.start_date", "campaign.end_date"})
_ADDED_IN_V23 = frozenset({"campaign.start_date_time", "campaign.end_date_time"})
DEFAULT_FLIGHTS: dict[str, tuple[str, str | None]] = {
    "111": ("2026-10-01 00:00:00", "2026-11-03 23:59:59"),
    "222": ("2026-11-20 00:00:00", None),
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def selected_fields(query: str) -> list[str]:
    match = _SELECT.search(query)
    return [field.strip() for field in match.group(1).split(",")] if match else []


def project(row: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """The row with only the selected fields (camelCase, nested) and each selected resource's resourceName."""
    out: dict[str, Any] = {}
    for field in fields:
        resource, *path = (_camel(part) for part in field.split("."))
        value: Any = row.get(resource)
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None or not path:
            continue  # Google omits a field that is not set
        target = out.setdefault(resource, {})
        if "resourceName" in row[resource]:
            target.setdefault("resourceName", row[resource]["resourceName"])
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = value
    return out


def metrics_row(
    campaign_id: str,
    name: str,
    day: str,
    *,
    impressions: int,
    clicks: int,
    cost_micros: int,
    conversions: float,
    budget_micros: int = 50_000_000,
    status: str = "ENABLED",
) -> dict[str, Any]:
    """One searchStream result as Google answers it: int64 as strings, doubles as numbers, camelCase."""
    return {
        "campaign": {
            "resourceName": f"customers/1234567890/campaigns/{campaign_id}",
            "status": status,
            "name": name,
            "id": campaign_id,
        },
        "metrics": {
            "clicks": str(clicks),
            "conversions": conversions,
            "costMicros": str(cost_micros),
            "ctr": clicks / impressions if impressions else 0,
            "averageCpc": cost_micros / clicks if clicks else 0,
            "impressions": str(impressions),
        },
        "campaignBudget": {
            "resourceName": f"customers/1234567890/campaignBudgets/9{campaign_id}",
            "period": "DAILY",
            "amountMicros": str(budget_micros),
        },
        "segments": {"date": day},
    }


DEFAULT_ROWS = [
    metrics_row(
        "111",
        "Get out the vote",
        "2026-11-23",
        impressions=10500,
        clicks=312,
        cost_micros=1_234_560_000,
        conversions=12.5,
    ),
    metrics_row(
        "111", "Get out the vote", "2026-11-24", impressions=9800, clicks=280, cost_micros=987_650_000, conversions=9.0
    ),
    metrics_row(
        "222",
        "Town hall reminder",
        "2026-11-23",
        impressions=4000,
        clicks=95,
        cost_micros=10_000,
        conversions=0.0,
        budget_micros=20_000_000,
        status="PAUSED",
    ),
    metrics_row(
        "222",
        "Town hall reminder",
        "2026-11-24",
        impressions=4100,
        clicks=101,
        cost_micros=333_333_333,
        conversions=1.25,
        budget_micros=20_000_000,
        status="PAUSED",
    ),
]


def _failure(http_code: int, status: str, message: str, errors: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "error": {
            "code": http_code,
            "message": message,
            "status": status,
            "details": [{"@type": _FAILURE_TYPE, "errors": errors, "requestId": "fake-request-failed"}],
        }
    }


def quota_temporary(delay: str) -> dict[str, Any]:
    return _failure(
        429,
        "RESOURCE_EXHAUSTED",
        "Resource has been exhausted (e.g. check quota).",
        [
            {
                "errorCode": {"quotaError": "RESOURCE_TEMPORARILY_EXHAUSTED"},
                "message": "Too many requests. Retry in 30 seconds.",
                "details": {
                    "quotaErrorDetails": {
                        "rateScope": "ACCOUNT",
                        "rateName": "Number of operations for basic access",
                        "retryDelay": delay,
                    }
                },
            }
        ],
    )


def daily_quota() -> dict[str, Any]:
    return _failure(
        429,
        "RESOURCE_EXHAUSTED",
        "Resource has been exhausted (e.g. check quota).",
        [
            {
                "errorCode": {"quotaError": "RESOURCE_EXHAUSTED"},
                "message": "Too many requests. Retry in 86400 seconds.",
                "details": {
                    "quotaErrorDetails": {
                        "rateScope": "DEVELOPER",
                        "rateName": "Number of operations for basic access",
                        "retryDelay": "86400s",
                    }
                },
            }
        ],
    )


def unauthenticated() -> dict[str, Any]:
    return _failure(
        401,
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other "
        "valid authentication credential.",
        [
            {
                "errorCode": {"authenticationError": "OAUTH_TOKEN_INVALID"},
                "message": "Oauth token in the header is not valid.",
            }
        ],
    )


def unrecognized_field(field: str) -> dict[str, Any]:
    return _failure(
        400,
        "INVALID_ARGUMENT",
        "Request contains an invalid argument.",
        [
            {
                "errorCode": {"queryError": "UNRECOGNIZED_FIELD"},
                "message": f"Unrecognized field in the query: '{field}'.",
            }
        ],
    )


class FakeGoogleAds:
    def __init__(self) -> None:
        self.customer_id = "1234567890"
        self.client_id = "fake-client-id.apps.googleusercontent.com"
        self.client_secret = "GOCSPX-fake-client-secret"
        self.refresh_token = "1//fake-refresh-token-SECRET"
        self.developer_token = "fake-developer-token-SECRET"
        self.expires_in = 3599
        self.batch_size = 3
        self.rows: list[dict[str, Any]] = copy.deepcopy(DEFAULT_ROWS)
        self.flights: dict[str, tuple[str, str | None]] = dict(DEFAULT_FLIGHTS)
        self.access_tokens: set[str] = set()
        self.faults: deque[str] = deque()
        self.token_faults: deque[str] = deque()
        self.requests: list[dict[str, Any]] = []
        self._serial = itertools.count(1)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.token_url = f"{self.base_url}/token"
        app = Starlette(
            routes=[
                Route("/token", self._token, methods=["POST"]),
                Route("/{version}/customers/{customer_id}/googleAds:searchStream", self._search, methods=["POST"]),
            ]
        )
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> FakeGoogleAds:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake Google Ads did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.should_exit = True
        self._thread.join(5)

    def token_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] == "/token"]

    def search_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].endswith(":searchStream")]

    def expire_access_tokens(self) -> None:
        """Google forgets every access token it issued (as when they expire or are revoked)."""
        self.access_tokens.clear()

    async def _record(self, request: Request) -> dict[str, Any]:
        content_type = request.headers.get("content-type", "")
        raw = await request.body()
        body: Any = dict(urllib.parse.parse_qsl(raw.decode())) if "form" in content_type else json.loads(raw)
        entry = {"path": request.url.path, "headers": dict(request.headers), "body": body}
        self.requests.append(entry)
        return entry

    async def _token(self, request: Request) -> Response:
        form = (await self._record(request))["body"]
        if self.token_faults:
            fault = self.token_faults.popleft()
            if fault == "500":
                return JSONResponse({"error": "internal_failure"}, status_code=500)
            if fault == "malformed":
                return Response('{"access_token": "ya29.', media_type="application/json")
            raise AssertionError(f"unknown token fault {fault}")
        if form.get("grant_type") != "refresh_token":
            return JSONResponse({"error": "unsupported_grant_type", "error_description": "Invalid grant_type"}, 400)
        if (form.get("client_id"), form.get("client_secret")) != (self.client_id, self.client_secret):
            return JSONResponse({"error": "invalid_client", "error_description": "Unauthorized"}, status_code=401)
        if form.get("refresh_token") != self.refresh_token:
            return JSONResponse(
                {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}, status_code=400
            )
        token = f"ya29.fake-access-token-{next(self._serial)}-SECRET"
        self.access_tokens.add(token)
        return JSONResponse(
            {
                "access_token": token,
                "expires_in": self.expires_in,
                "scope": "https://www.googleapis.com/auth/adwords",
                "token_type": "Bearer",
            }
        )

    async def _search(self, request: Request) -> Response:
        query = (await self._record(request))["body"].get("query", "")
        bearer = (request.headers.get("authorization") or "").removeprefix("Bearer ")
        if bearer not in self.access_tokens:
            return JSONResponse(unauthenticated(), status_code=401)
        if self.faults:
            return self._fault(self.faults.popleft())
        if _DURING.search(query):
            raise AssertionError("the connector must use BETWEEN, not DURING")
        fields = selected_fields(query)
        version = _VERSION.match(request.url.path)
        unknown = self._unknown_field(fields, int(version.group(1)) if version else 0)
        if unknown is not None:
            return JSONResponse(unrecognized_field(unknown), status_code=400)
        rows = [project(row, fields) for row in self._matching(query)]
        field_mask = ",".join(".".join(_camel(part) for part in f.split(".")) for f in fields)
        batches = [
            {
                "results": rows[i : i + self.batch_size],
                "fieldMask": field_mask,
                "requestId": f"fake-request-{next(self._serial)}",
            }
            for i in range(0, max(len(rows), 1), self.batch_size)
        ]
        return JSONResponse(batches)

    @staticmethod
    def _unknown_field(fields: list[str], version: int) -> str | None:
        unknown = _REMOVED_IN_V23 if version >= 23 else _ADDED_IN_V23
        return next((field for field in fields if field in unknown), None)

    def _matching(self, query: str) -> list[dict[str, Any]]:
        rows = copy.deepcopy(self.rows)
        between = _BETWEEN.search(query)
        if between:
            since, until = (dt.date.fromisoformat(d) for d in between.groups())
            # a row a test has broken (no segments) is served as it is
            rows = [
                r for r in rows if "segments" not in r or since <= dt.date.fromisoformat(r["segments"]["date"]) <= until
            ]
        else:  # a campaign listing: one row per campaign, no segments, the customer's currency
            by_id = {r["campaign"]["id"]: r for r in rows}
            rows = [
                {
                    "campaign": {
                        **r["campaign"],
                        "servingStatus": "SERVING",
                        "advertisingChannelType": "SEARCH",
                        **self._flight(r["campaign"]["id"]),
                    },
                    "campaignBudget": r["campaignBudget"],
                    "customer": {"resourceName": f"customers/{self.customer_id}", "currencyCode": "USD"},
                }
                for r in by_id.values()
            ]
        campaign = _CAMPAIGN_ID.search(query)
        if campaign:
            rows = [r for r in rows if r["campaign"]["id"] == campaign.group(1)]
        return rows

    def _flight(self, campaign_id: str) -> dict[str, str]:
        """startDateTime always (Google fills it on create), endDateTime only when the campaign has an end."""
        start, end = self.flights.get(campaign_id, ("2026-01-01 00:00:00", None))
        return {"startDateTime": start, **({"endDateTime": end} if end else {})}

    def _fault(self, fault: str) -> Response:
        kind, _, delay = fault.partition(":")
        if kind == "quota_temporary":
            return JSONResponse(quota_temporary(delay or "30s"), status_code=429)
        if kind == "quota_temporary_in_array":
            return JSONResponse([quota_temporary(delay or "30s")], status_code=429)
        if kind == "daily_quota":
            return JSONResponse(daily_quota(), status_code=429)
        if kind == "auth_error":
            return JSONResponse(unauthenticated(), status_code=401)
        if kind in ("500", "503"):
            status = "INTERNAL" if kind == "500" else "UNAVAILABLE"
            return JSONResponse(
                {"error": {"code": int(kind), "message": "Internal error encountered.", "status": status}},
                status_code=int(kind),
            )
        if kind == "malformed":
            return Response('[{"results": [{"campaign": {"id": "11', media_type="application/json")
        raise AssertionError(f"unknown fault {fault}")
