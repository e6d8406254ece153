"""The live Google Ads connector: the Google Ads API over REST (httpx, not the gRPC client), OAuth2, GAQL.

Example
-------
>>> source = GoogleAdsSource(customer_id="123-456-7890", client_id=cid, client_secret=secret,
...                          refresh_token=refresh, developer_token=dev_token)
>>> days = source.account_daily_metrics(dt.date(2026, 11, 1), dt.date(2026, 11, 30))  # every campaign, one call
>>> campaigns = source.list_campaigns()

How it talks to Google:

* **OAuth2**: the refresh token (with the client id and secret) is exchanged at the token endpoint
  (``POST /token``, form ``grant_type=refresh_token``) for an access token, kept until ``expires_in``
  minus a margin; a 401 from the API drops it and exchanges once more, then retries the call once.
* **Headers**: ``Authorization: Bearer``, ``developer-token`` only when one is configured and
  ``login-customer-id`` only when calling through a manager account.
* **Reads**: ``POST {base}/{version}/customers/{id}/googleAds:searchStream`` with a GAQL query using
  ``segments.date BETWEEN 'YYYY-MM-DD' AND 'YYYY-MM-DD'``. The answer is a JSON array of batches
  ``[{"results": [...], "fieldMask": ..., "requestId": ...}]`` with camelCase keys, int64 values as
  strings and money in micros, converted here to :class:`~decimal.Decimal` exactly (never float).
* **Campaigns**: one searchStream ``FROM campaign`` with the flight (``campaign.start_date_time`` /
  ``campaign.end_date_time``, API v23 and later) and the budget: ``campaign_budget.amount_micros`` is a daily
  budget, ``campaign_budget.total_amount_micros`` (set only on a campaign total budget) a lifetime one.
* **Errors**: a ``GoogleAdsFailure`` in ``error.details[]``, possibly inside a JSON array (a stream
  answer). ``RESOURCE_TEMPORARILY_EXHAUSTED`` is retried after its ``retryDelay`` with exponential
  backoff, 5xx and transport errors likewise; the rest raise :class:`SourceUnavailable` naming the cause:
  ``token_missing``, ``token_rejected``, ``daily_quota_exhausted``, ``vendor_down``, ``malformed_answer``,
  ``bad_request``. The last failure is kept in ``last_failure`` for the health record.

Tokens (access, refresh, developer, client secret) are never written to a log line or an exception message.
The sleep and the clock are parameters, so tests neither wait nor freeze time.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from warroom.campaigns.sources.base import CampaignRecord, DailyMetrics, SourceUnavailable

logger = logging.getLogger(__name__)

PLATFORM = "google_ads"
DEFAULT_API_VERSION = "v26"
DEFAULT_BASE_URL = "https://googleads.googleapis.com"
DEFAULT_TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105  (an address, not a secret)
_MICROS = Decimal(1_000_000)
_CENT = Decimal("0.01")
_DELAY = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")

METRICS_QUERY = (
    "SELECT campaign.id, campaign.name, campaign.status, campaign_budget.amount_micros, segments.date, "
    "metrics.impressions, metrics.clicks, metrics.cost_micros, metrics.conversions, metrics.ctr, "
    "metrics.average_cpc FROM campaign WHERE segments.date BETWEEN '{since}' AND '{until}'"
)
# The flight is campaign.start_date_time / campaign.end_date_time ("yyyy-MM-dd HH:mm:ss" in the customer's
# time zone): v23 replaced campaign.start_date / campaign.end_date with them, and v26 keeps them (Google's
# v23-versus-v22 diff of resources/campaign.proto, fields 104 and 105). So this query needs v23 or later.
CAMPAIGNS_QUERY = (
    "SELECT campaign.id, campaign.name, campaign.status, campaign.serving_status, "
    "campaign.advertising_channel_type, campaign.start_date_time, campaign.end_date_time, "
    "campaign_budget.amount_micros, campaign_budget.total_amount_micros, customer.currency_code FROM campaign"
)
# Before v23 "run indefinitely" was the end date 2037-12-30; a campaign still carrying it has no end.
_NO_END = dt.date(2037, 12, 30)


def micros_to_decimal(micros: Any) -> Decimal:
    """Micros (an int64 string, or an int) as currency units, exactly: ``"1234560000"`` -> ``Decimal("1234.56")``."""
    if isinstance(micros, bool) or not isinstance(micros, str | int):
        raise ValueError(f"micros must be an integer string, not {type(micros).__name__}")
    value = Decimal(int(micros)) / _MICROS
    cents = value.quantize(_CENT)
    return cents if cents == value else value


class _Retryable(Exception):
    """A failure worth another attempt; ``delay_s`` is the server's own delay when it gave one."""

    def __init__(self, cause: str, message: str, delay_s: float | None = None):
        super().__init__(message)
        self.cause = cause
        self.delay_s = delay_s


class _Unauthenticated(Exception):
    """The API refused the access token (401): worth one fresh exchange."""


class GoogleAdsSource:
    """The live connector; see the module docstring."""

    platform = PLATFORM

    def __init__(
        self,
        *,
        customer_id: str | None,
        client_id: str | None,
        client_secret: str | None,
        refresh_token: str | None,
        developer_token: str | None = None,
        login_customer_id: str | None = None,
        api_version: str = DEFAULT_API_VERSION,
        base_url: str = DEFAULT_BASE_URL,
        token_url: str = DEFAULT_TOKEN_URL,
        max_attempts: int = 4,
        backoff_base_s: float = 1.0,
        backoff_max_s: float = 120.0,
        token_expiry_margin_s: float = 60.0,
        timeout_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.customer_id = _digits(customer_id)
        self.login_customer_id = _digits(login_customer_id)
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.developer_token = developer_token
        self.api_version = api_version
        self.base_url = base_url.rstrip("/")
        self.token_url = token_url
        self.max_attempts = max_attempts
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.token_expiry_margin_s = token_expiry_margin_s
        self.timeout_s = timeout_s
        self.sleep = sleep
        self.clock = clock
        self.last_failure: SourceUnavailable | None = None
        self._access_token: str | None = None
        self._access_token_expires_at = 0.0

    # ------------------------------------------------------------------ the CampaignSource protocol

    @property
    def account_id(self) -> str:
        """The customer id, digits only ("" when none is configured)."""
        return self.customer_id or ""

    def list_campaigns(self) -> list[CampaignRecord]:
        """Every campaign of the customer, with its flight and its budget (daily or lifetime, in currency units)."""
        records = []
        for row in self._search_stream(CAMPAIGNS_QUERY):
            try:
                campaign = _object(row, "campaign")
                budget = row.get("campaignBudget") or {}
                customer = row.get("customer") or {}
                # A campaign total budget sets total_amount_micros (and no daily amount): it is the lifetime budget.
                lifetime = "totalAmountMicros" in budget
                daily = not lifetime and "amountMicros" in budget
                records.append(
                    CampaignRecord(
                        platform=PLATFORM,
                        external_id=str(campaign["id"]),
                        account_id=self.account_id,
                        name=str(campaign.get("name", "")),
                        objective=campaign.get("advertisingChannelType"),
                        status=campaign.get("status"),
                        effective_status=campaign.get("servingStatus"),
                        daily_budget=micros_to_decimal(budget["amountMicros"]) if daily else None,
                        lifetime_budget=micros_to_decimal(budget["totalAmountMicros"]) if lifetime else None,
                        currency=customer.get("currencyCode"),
                        start_time=_flight_start(campaign.get("startDateTime")),
                        stop_time=_flight_stop(campaign.get("endDateTime")),
                    )
                )
            except (KeyError, TypeError, ValueError, InvalidOperation) as error:
                raise self._unavailable("malformed_answer", f"a campaign row cannot be read ({error!r})") from error
        return records

    def daily_metrics(self, external_id: str, since: dt.date, until: dt.date) -> list[DailyMetrics]:
        """One row per day in ``[since, until]`` for the campaign ``external_id``."""
        campaign_id = _digits(external_id)
        if not campaign_id:
            raise self._unavailable("bad_request", "a Google Ads campaign id is digits only")
        return self._metrics_rows(_metrics_query(since, until) + f" AND campaign.id = {campaign_id}")

    def account_daily_metrics(self, since: dt.date, until: dt.date) -> list[DailyMetrics]:
        """Every campaign's days in ``[since, until]`` in one searchStream call (what a sync uses)."""
        return self._metrics_rows(_metrics_query(since, until))

    # ------------------------------------------------------------------ searchStream

    def _metrics_rows(self, query: str) -> list[DailyMetrics]:
        rows = self._search_stream(query)
        try:
            return [_metrics(row) for row in rows]
        except (KeyError, TypeError, ValueError, InvalidOperation) as error:
            raise self._unavailable("malformed_answer", f"a metrics row cannot be read ({error!r})") from error

    def _search_stream(self, query: str) -> list[dict[str, Any]]:
        self._require_credentials()
        path = f"{self.base_url}/{self.api_version}/customers/{self.customer_id}/googleAds:searchStream"
        refreshed = False
        while True:
            try:
                batches = self._with_retries(lambda: self._post_search(path, query))
            except _Unauthenticated as error:
                if refreshed:
                    raise self._unavailable("token_rejected", "Google Ads rejected a fresh access token") from error
                refreshed = True
                self._access_token = None
                continue
            return _results(batches, self._unavailable)

    def _post_search(self, url: str, query: str) -> Any:
        headers = {"Authorization": f"Bearer {self._token()}", "Content-Type": "application/json"}
        if self.developer_token:
            headers["developer-token"] = self.developer_token
        if self.login_customer_id:
            headers["login-customer-id"] = self.login_customer_id
        response = self._send("POST", url, headers=headers, json={"query": query})
        body = _json_or_none(response)
        failure = _failure(body)
        if response.status_code == 401:
            raise _Unauthenticated()
        if failure is None and response.is_success:
            if body is None:
                raise self._unavailable("malformed_answer", "Google Ads answered malformed JSON")
            return body
        return self._raise_failure(response.status_code, failure)

    def _raise_failure(self, status: int, failure: dict[str, Any] | None) -> Any:
        error = (failure or {}).get("error") or {}
        codes = list(_error_codes(error))
        message = str(error.get("message") or f"HTTP {status}")[:300]
        for kind, code, details in codes:
            if kind == "quotaError" and code == "RESOURCE_TEMPORARILY_EXHAUSTED":
                delay = _seconds((details.get("quotaErrorDetails") or {}).get("retryDelay"))
                raise _Retryable("rate_limited", f"Google Ads quota temporarily exhausted: {message}", delay)
            if kind == "quotaError" and code == "RESOURCE_EXHAUSTED":
                raise self._unavailable(
                    "daily_quota_exhausted",
                    f"the Google Ads daily operations quota is used up until it resets: {message}",
                    retry_after_s=3600,
                )
            if kind in ("authenticationError", "authorizationError"):
                raise self._unavailable("token_rejected", f"Google Ads refused the credentials ({code}): {message}")
        if status >= 500 or (status == 429 and not codes):
            raise _Retryable("vendor_down", f"Google Ads answered {status}: {message}")
        if status in (401, 403):
            raise self._unavailable("token_rejected", f"Google Ads refused the credentials ({status}): {message}")
        codes_text = ", ".join(f"{k}.{c}" for k, c, _ in codes) or "no error code"
        raise self._unavailable("bad_request", f"Google Ads refused the request ({status}, {codes_text}): {message}")

    # ------------------------------------------------------------------ OAuth2

    def _token(self) -> str:
        if self._access_token and self.clock() < self._access_token_expires_at:
            return self._access_token
        body = self._with_retries(self._exchange_refresh_token)
        token = body.get("access_token") if isinstance(body, dict) else None
        expires_in = body.get("expires_in", 3600) if isinstance(body, dict) else None
        if not isinstance(token, str) or not token or not isinstance(expires_in, int | float | Decimal):
            raise self._unavailable("malformed_answer", "the OAuth2 token endpoint answered no usable access_token")
        self._access_token = token
        self._access_token_expires_at = self.clock() + max(0.0, float(expires_in) - self.token_expiry_margin_s)
        return token

    def _exchange_refresh_token(self) -> Any:
        form = {
            "grant_type": "refresh_token",
            "client_id": self.client_id or "",
            "client_secret": self.client_secret or "",
            "refresh_token": self.refresh_token or "",
        }
        response = self._send("POST", self.token_url, data=form)
        body = _json_or_none(response)
        if response.status_code >= 500:
            raise _Retryable("vendor_down", f"the OAuth2 token endpoint answered {response.status_code}")
        if response.status_code in (400, 401, 403):
            code = body.get("error") if isinstance(body, dict) else None
            raise self._unavailable(
                "token_rejected",
                f"Google refused the OAuth2 refresh token ({response.status_code} {code or 'no error code'}): "
                "check the client id, client secret and refresh token",
            )
        if not response.is_success or body is None:
            raise self._unavailable("malformed_answer", f"the OAuth2 token endpoint answered {response.status_code}")
        return body

    # ------------------------------------------------------------------ HTTP and retries

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            with httpx.Client(timeout=self.timeout_s) as client:
                return client.request(method, url, **kwargs)
        except httpx.TransportError as error:
            raise _Retryable("vendor_down", f"cannot reach Google ({type(error).__name__})") from error

    def _wait(self, state: RetryCallState) -> float:
        """Google's ``retryDelay`` when it gives one, else the base, doubled each attempt and capped."""
        error = state.outcome.exception() if state.outcome else None
        base = error.delay_s if isinstance(error, _Retryable) and error.delay_s is not None else self.backoff_base_s
        return min(self.backoff_max_s, base * 2 ** (state.attempt_number - 1))

    def _with_retries(self, call: Callable[[], Any]) -> Any:
        # tenacity, as the Mentionlytics source retries: one retry policy shape across the sources.
        retrying = Retrying(
            retry=retry_if_exception_type(_Retryable),
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            sleep=self.sleep,
            reraise=True,
            before_sleep=lambda s: logger.warning(
                "Google Ads attempt %d failed (%s); retrying in %.1f s",
                s.attempt_number,
                self._redact(str(s.outcome.exception() if s.outcome else "")),
                s.upcoming_sleep,
            ),
        )
        try:
            return retrying(call)
        except _Retryable as error:
            cause = "vendor_down" if error.cause == "vendor_down" else "rate_limited"
            raise self._unavailable(
                cause, f"Google Ads is unavailable after {self.max_attempts} attempts: {error}"
            ) from error

    # ------------------------------------------------------------------ failures, redacted

    def _require_credentials(self) -> None:
        missing = [
            name
            for name, value in (
                ("customer id", self.customer_id),
                ("client id", self.client_id),
                ("client secret", self.client_secret),
                ("refresh token", self.refresh_token),
            )
            if not value
        ]
        if missing:
            raise self._unavailable("token_missing", f"Google Ads is not configured: no {', '.join(missing)}")

    def _redact(self, text: str) -> str:
        for secret in (self._access_token, self.refresh_token, self.client_secret, self.developer_token):
            if secret:
                text = text.replace(secret, "[redacted]")
        return text

    def _unavailable(self, cause: str, message: str, *, retry_after_s: int = 60) -> SourceUnavailable:
        error = SourceUnavailable(
            cause, self._redact(f"Google Ads: {message}"), platform=PLATFORM, retry_after_s=retry_after_s
        )
        self.last_failure = error
        logger.warning("Google Ads unavailable: %s (%s)", cause, error.message)
        return error


def _digits(value: str | None) -> str | None:
    text = (value or "").replace("-", "").strip()
    return text if text.isdigit() else None


def _flight_day(value: Any) -> dt.date | None:
    """The day of a GAQL date-time (``"2026-10-01 00:00:00"``; a bare ``"2026-10-01"`` too), None when unset."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise TypeError(f"a flight date is a string, not {type(value).__name__}")
    day, _, clock = value.partition(" ")
    if clock:
        dt.time.fromisoformat(clock)  # refuse a malformed time even though only the day is kept
    return dt.date.fromisoformat(day)


def _flight_start(value: Any) -> dt.datetime | None:
    """The first day's 00:00 UTC.

    Day granularity, labelled UTC: Google gives the customer's time zone, which this source does not read, and
    the campaign store compares flights by day; the time of day (set only on a few campaign types) is dropped.
    """
    day = _flight_day(value)
    return dt.datetime.combine(day, dt.time(), dt.UTC) if day else None


def _flight_stop(value: Any) -> dt.datetime | None:
    """The END of the last day: the next day's 00:00 UTC (an exclusive bound), or None when it runs indefinitely.

    The end date is inclusive (Google sets 23:59:59 for daily granularity), so the campaign serves all of its last
    day; a stop_time at that day's midnight would drop it. The exclusive next midnight keeps it, with no
    23:59:59.999 guesswork.
    """
    day = _flight_day(value)
    if day is None or day >= _NO_END:
        return None
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC)


def _metrics_query(since: dt.date, until: dt.date) -> str:
    return METRICS_QUERY.format(since=since.isoformat(), until=until.isoformat())


def _object(row: dict[str, Any], key: str) -> dict[str, Any]:
    value = row.get(key)
    if not isinstance(value, dict):
        raise KeyError(key)
    return value


def _metrics(row: dict[str, Any]) -> DailyMetrics:
    campaign, metrics, segments = _object(row, "campaign"), row.get("metrics") or {}, _object(row, "segments")
    conversions = metrics.get("conversions")
    return DailyMetrics(
        platform=PLATFORM,
        external_id=str(campaign["id"]),
        date=dt.date.fromisoformat(segments["date"]),
        impressions=int(metrics.get("impressions", "0")),
        reach=None,
        clicks=int(metrics.get("clicks", "0")),
        spend=micros_to_decimal(metrics.get("costMicros", "0")),
        conversions=Decimal(str(conversions)) if conversions is not None else None,
        raw=row,
    )


def _json_or_none(response: httpx.Response) -> Any:
    """The body parsed with floats as Decimal (never float), or None when it is not JSON."""
    try:
        return json.loads(response.content, parse_float=Decimal)
    except ValueError:
        return None


def _failure(body: Any) -> dict[str, Any] | None:
    """The ``{"error": {...}}`` object of an answer, bare or inside a stream's JSON array."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body
    if isinstance(body, list):
        for item in body:
            if isinstance(item, dict) and isinstance(item.get("error"), dict):
                return item
    return None


def _error_codes(error: dict[str, Any]) -> Iterable[tuple[str, str, dict[str, Any]]]:
    """``(kind, code, details)`` of every GoogleAdsFailure error, e.g. ``("quotaError", "RESOURCE_EXHAUSTED", {})``."""
    for detail in error.get("details") or []:
        if not isinstance(detail, dict) or not str(detail.get("@type", "")).endswith("GoogleAdsFailure"):
            continue
        for item in detail.get("errors") or []:
            code = item.get("errorCode") if isinstance(item, dict) else None
            if isinstance(code, dict):
                for kind, value in code.items():
                    yield str(kind), str(value), item.get("details") or {}


def _seconds(delay: Any) -> float | None:
    """A protobuf Duration in JSON (``"30s"``, ``"1.5s"``) in seconds."""
    match = _DELAY.match(delay) if isinstance(delay, str) else None
    return float(match.group(1)) if match else None


def _results(batches: Any, unavailable: Callable[[str, str], SourceUnavailable]) -> list[dict[str, Any]]:
    if not isinstance(batches, list):
        raise unavailable("malformed_answer", "a searchStream answer is a JSON array of batches")
    rows: list[dict[str, Any]] = []
    for batch in batches:
        results = batch.get("results", []) if isinstance(batch, dict) else None
        if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
            raise unavailable("malformed_answer", "a searchStream batch holds no list of results")
        rows.extend(results)
    return rows
