"""The Meta Marketing API (Graph) connector: an ad account's campaigns and their daily insights, over httpx.

Example
-------
>>> source = MetaSource(account_id="1234567890", access_token=token, api_version="v27.0")
>>> campaigns = source.list_campaigns()          # GET act_{id}/campaigns, every page
>>> days = source.daily_metrics(campaigns[0].external_id, dt.date(2026, 11, 1), dt.date(2026, 11, 30))
>>> every_day = source.account_daily_metrics(dt.date(2026, 9, 1), dt.date(2026, 11, 30))  # every campaign
>>> ad_sets = source.list_ad_sets()              # GET act_{id}/adsets, every page
>>> source.api_version_warning                   # what Meta said about the version, for /health (or None)

What it asks for:

* ``GET {base}/{version}/act_{id}?fields=currency`` once, unless ``currency`` is given: budgets come in the
  currency's minor units as strings (``"5000"``) and are turned into :class:`~decimal.Decimal` currency
  units with the currency's number of decimals (``minor_unit_digits``; 2 unless told).
* ``GET {base}/{version}/act_{id}/campaigns?fields=id,name,status,effective_status,objective,...``.
* ``GET {base}/{version}/{campaign_id}/insights?level=campaign&time_increment=1&time_range={...}&fields=...``:
  one row per day, every metric a string; ``spend`` is a decimal string in currency units and is read as a
  ``Decimal``, never through ``float``. Conversions are the sum of the ``actions`` whose ``action_type`` is in
  ``conversion_action_types``.
* ``GET {base}/{version}/act_{id}/insights`` with the same parameters and ``campaign_id`` among the fields:
  every campaign's days of the account in one paged call (``account_daily_metrics``, what a sync uses); each
  row's ``campaign_id`` is the row's campaign.
* For a range longer than ``async_threshold_days`` (31 unless told), an asynchronous report run instead:
  ``POST {base}/{version}/act_{id}/insights`` (the same parameters, as a form) answers ``report_run_id``;
  ``GET {base}/{version}/{report_run_id}?fields=async_status,async_percent_completion`` is polled every
  ``report_poll_interval_s`` until ``Job Completed`` (``Job Failed`` / ``Job Skipped``: ``report_failed``;
  still running after ``report_max_polls`` polls: ``report_timeout``), then ``GET .../{report_run_id}/insights``
  is read page after page. The POST and every poll go through the same throttling and retries as any GET.
* ``GET {base}/{version}/act_{id}/adsets?fields=id,name,campaign_id,status,...``: the account's ad sets,
  budgets in minor units like the campaigns'.

Lists are paged by ``paging.cursors.after`` while Meta sends ``paging.next`` (the request is rebuilt against
our own base URL with ``after=``, so the token is never sent to a host taken from an answer); a ``next``
without cursors is followed only on the same host. ``next`` carries the access token: it is never logged,
and every message this module writes or raises goes through :meth:`MetaSource._redact`.

Errors (Graph's body is ``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``):

* codes 4, 17, 613, 80000-80014 (throttling) are retried, waiting what ``X-Business-Use-Case-Usage`` /
  ``X-Ad-Account-Usage`` / ``X-FB-Ads-Insights-Throttle`` say (``estimated_time_to_regain_access`` in
  minutes, ``reset_time_duration`` in seconds) or an exponential backoff; a wait beyond ``max_wait_s`` or too
  many attempts raise ``SourceUnavailable("throttled")`` with the wait as ``Retry-After``;
* code 190 or HTTP 401: ``token_rejected``; no token: ``token_missing``; HTTP 403 / code 10, 200-299:
  ``permission_denied``;
* 5xx, transport errors and Graph's transient codes 1, 2 (or ``is_transient``) are retried, then
  ``vendor_down``; an answer that is not a JSON object: ``malformed_answer``;
* subcode 1487534 ("reduce the amount of data") halves the date range and asks again, down to one day
  (``daily_metrics`` and ``account_daily_metrics`` alike; a half short enough is then read synchronously);
* code 2635 (deprecated version) raises ``version_deprecated``; it and every ``X-Ad-Api-Version-Warning``
  header are kept on the source (``api_version_deprecated``, ``api_version_warning``).

Sleeping is injected (``sleep``), so tests never wait.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from warroom.campaigns.sources.base import AdSetRecord, CampaignRecord, DailyMetrics, SourceUnavailable

logger = logging.getLogger(__name__)

PLATFORM = "meta"
DEFAULT_API_VERSION = "v27.0"
DEFAULT_BASE_URL = "https://graph.facebook.com"
CAMPAIGN_FIELDS = (
    "id,name,status,effective_status,objective,daily_budget,lifetime_budget,start_time,stop_time,special_ad_categories"
)
INSIGHT_FIELDS = "impressions,reach,clicks,spend,ctr,cpc,cpm,actions"
ACCOUNT_INSIGHT_FIELDS = f"campaign_id,{INSIGHT_FIELDS}"
AD_SET_FIELDS = (
    "id,name,campaign_id,status,effective_status,optimization_goal,billing_event,daily_budget,lifetime_budget,"
    "start_time,end_time"
)
REPORT_STATUS_FIELDS = "async_status,async_percent_completion"
REPORT_COMPLETED = "Job Completed"
REPORT_FAILED = frozenset({"Job Failed", "Job Skipped"})
THROTTLE_CODES = frozenset({4, 17, 613, *range(80000, 80015)})
TRANSIENT_CODES = frozenset({1, 2})
TOKEN_REJECTED_CODE = 190
DEPRECATED_VERSION_CODE = 2635
TOO_MUCH_DATA_SUBCODE = 1487534
USAGE_HEADERS = ("x-business-use-case-usage", "x-ad-account-usage", "x-fb-ads-insights-throttle", "x-app-usage")
_TOKEN_IN_TEXT = re.compile(r"(access_token|appsecret_proof)=[^&\s\"']+", re.IGNORECASE)


class _Retryable(Exception):
    """A failure worth another attempt; ``wait_s`` is what Meta's usage headers asked for, when they did."""

    def __init__(self, cause: str, message: str, wait_s: float | None = None):
        super().__init__(message)
        self.cause = cause
        self.message = message
        self.wait_s = wait_s


class _TooMuchData(Exception):
    """Meta asks for a smaller request (subcode 1487534): the caller halves the date range."""


class MetaSource:
    """One Meta ad account read through the Graph API; see the module docstring for what it asks and raises.

    Parameters
    ----------
    account_id
        The ad account id, with or without the ``act_`` prefix.
    access_token
        A system-user or user access token with ``ads_read``; empty or None raises ``token_missing`` on use.
    api_version
        The Graph API version in the path (``"v27.0"``).
    currency
        The account's currency; None reads it from the account once.
    minor_unit_digits
        Decimals per currency for budgets (``{"JPY": 0}``); a currency not listed has 2.
    async_threshold_days
        ``account_daily_metrics`` over more days than this runs an asynchronous report instead of one GET.
    report_poll_interval_s, report_max_polls
        How often, and how many times at most, an asynchronous report's status is asked for.
    sleep
        Called with seconds to wait between attempts and polls (``time.sleep``; tests pass a recorder).
    """

    platform = PLATFORM

    def __init__(
        self,
        account_id: str,
        access_token: str | None,
        *,
        api_version: str = DEFAULT_API_VERSION,
        base_url: str = DEFAULT_BASE_URL,
        currency: str | None = None,
        minor_unit_digits: Mapping[str, int] | None = None,
        conversion_action_types: tuple[str, ...] = ("purchase", "lead", "complete_registration"),
        app_secret: str | None = None,
        page_size: int = 100,
        max_attempts: int = 5,
        backoff_base_s: float = 1.0,
        max_wait_s: float = 300.0,
        timeout_s: float = 30.0,
        async_threshold_days: int = 31,
        report_poll_interval_s: float = 5.0,
        report_max_polls: int = 60,
        sleep: Callable[[float], None] = time.sleep,
        client: httpx.Client | None = None,
    ):
        self.account_id = account_id.removeprefix("act_")
        self._token = access_token or ""
        self._app_secret = app_secret
        self.api_version = api_version
        self.base_url = base_url.rstrip("/")
        self.currency = currency
        self.minor_unit_digits = dict(minor_unit_digits or {})
        self.conversion_action_types = conversion_action_types
        self.page_size = page_size
        self.max_attempts = max_attempts
        self.backoff_base_s = backoff_base_s
        self.max_wait_s = max_wait_s
        self.async_threshold_days = async_threshold_days
        self.report_poll_interval_s = report_poll_interval_s
        self.report_max_polls = report_max_polls
        self._sleep = sleep
        self._client = client or httpx.Client(timeout=timeout_s)
        self.api_version_warning: str | None = None
        self.api_version_deprecated = False
        self.requests_made = 0

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> MetaSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def list_campaigns(self) -> list[CampaignRecord]:
        """Every campaign of the account, budgets in currency units."""
        currency = self.account_currency()
        digits = self.minor_unit_digits.get(currency, 2)
        rows = self._paged(f"act_{self.account_id}/campaigns", {"fields": CAMPAIGN_FIELDS})
        return [self._campaign(row, currency, digits) for row in rows]

    def daily_metrics(self, external_id: str, since: dt.date, until: dt.date) -> list[DailyMetrics]:
        """One row per day in ``[since, until]`` (inclusive); the range is halved while Meta finds it too big."""

        def read(start: dt.date, end: dt.date) -> list[DailyMetrics]:
            rows = list(self._paged(f"{external_id}/insights", self._insight_params(start, end, INSIGHT_FIELDS)))
            return [self._metrics(row, external_id) for row in rows]

        return self._halving(since, until, read, f"campaign {external_id}")

    def account_daily_metrics(self, since: dt.date, until: dt.date) -> list[DailyMetrics]:
        """Every campaign's days in ``[since, until]`` in one paged call, or one report run for a long range."""
        return self._halving(since, until, self._account_days, "the ad account")

    def list_ad_sets(self) -> list[AdSetRecord]:
        """Every ad set of the account, budgets in currency units."""
        currency = self.account_currency()
        digits = self.minor_unit_digits.get(currency, 2)
        rows = self._paged(f"act_{self.account_id}/adsets", {"fields": AD_SET_FIELDS})
        return [self._ad_set(row, digits) for row in rows]

    def account_currency(self) -> str:
        """The account's currency (asked once, then kept)."""
        if self.currency is None:
            body = self._get(f"act_{self.account_id}", {"fields": "currency"})
            currency = body.get("currency")
            if not isinstance(currency, str) or not currency:
                raise SourceUnavailable("malformed_answer", "Meta's ad account holds no currency.", platform=PLATFORM)
            self.currency = currency
        return self.currency

    def _halving(
        self,
        since: dt.date,
        until: dt.date,
        read: Callable[[dt.date, dt.date], list[DailyMetrics]],
        what: str,
    ) -> list[DailyMetrics]:
        """``read(since, until)``, split in two halves (recursively) while Meta answers subcode 1487534."""
        if until < since:
            return []
        try:
            return read(since, until)
        except _TooMuchData:
            if since == until:
                raise SourceUnavailable(
                    "too_much_data", f"Meta finds one day of {what} too much data.", platform=PLATFORM
                ) from None
            middle = since + (until - since) // 2
            logger.info("meta insights %s..%s too big for %s; halving", since, until, what)
            return self._halving(since, middle, read, what) + self._halving(
                middle + dt.timedelta(days=1), until, read, what
            )

    def _account_days(self, since: dt.date, until: dt.date) -> list[DailyMetrics]:
        params = self._insight_params(since, until, ACCOUNT_INSIGHT_FIELDS)
        if (until - since).days + 1 > self.async_threshold_days:
            # Meta times out (or refuses) long synchronous insights; a report run is its answer for big ranges.
            rows = list(self._report_rows(params))
        else:
            rows = list(self._paged(f"act_{self.account_id}/insights", params))
        return [self._metrics(row) for row in rows]

    def _report_rows(self, params: dict[str, str]) -> Iterator[dict[str, Any]]:
        """Start an asynchronous report run, wait for it, then page through its rows."""
        started = self._request("POST", f"{self.base_url}/{self.api_version}/act_{self.account_id}/insights", params)
        # digits only: the id becomes a path of ours, so nothing else from an answer may go into it
        run_id = str(started.get("report_run_id") or "")
        if not run_id.isdigit():
            raise SourceUnavailable("malformed_answer", "Meta started a report run without an id.", platform=PLATFORM)
        self._await_report(run_id)
        return self._paged(f"{run_id}/insights", {})

    def _await_report(self, run_id: str) -> None:
        for poll in range(1, self.report_max_polls + 1):
            status = self._get(run_id, {"fields": REPORT_STATUS_FIELDS})
            state, percent = str(status.get("async_status")), status.get("async_percent_completion")
            if state == REPORT_COMPLETED:
                return
            if state in REPORT_FAILED:
                raise SourceUnavailable(
                    "report_failed", f"Meta's report run {run_id} ended as {state!r}.", platform=PLATFORM
                )
            logger.info(
                "meta report run %s is %r (%s%%), poll %d of %d", run_id, state, percent, poll, self.report_max_polls
            )
            if poll < self.report_max_polls:
                self._sleep(self.report_poll_interval_s)
        raise SourceUnavailable(
            "report_timeout",
            f"Meta's report run {run_id} did not complete within {self.report_max_polls} polls.",
            platform=PLATFORM,
            retry_after_s=max(int(self.report_poll_interval_s * self.report_max_polls), 1),
        )

    def _insight_params(self, since: dt.date, until: dt.date, fields: str) -> dict[str, str]:
        return {
            "level": "campaign",
            "time_increment": "1",
            "time_range": json.dumps({"since": since.isoformat(), "until": until.isoformat()}, separators=(",", ":")),
            "fields": fields,
        }

    def _campaign(self, row: dict[str, Any], currency: str, digits: int) -> CampaignRecord:
        try:
            return CampaignRecord(
                platform=PLATFORM,
                external_id=str(row["id"]),
                account_id=self.account_id,
                name=str(row.get("name", "")),
                objective=row.get("objective"),
                status=row.get("status"),
                effective_status=row.get("effective_status"),
                daily_budget=_minor_units(row.get("daily_budget"), digits),
                lifetime_budget=_minor_units(row.get("lifetime_budget"), digits),
                currency=currency,
                start_time=_graph_time(row.get("start_time")),
                stop_time=_graph_time(row.get("stop_time")),
                special_ad_categories=tuple(row.get("special_ad_categories") or ()),
            )
        except (KeyError, TypeError, ValueError, InvalidOperation) as error:
            raise SourceUnavailable(
                "malformed_answer",
                f"Meta answered a campaign that cannot be read ({type(error).__name__}).",
                platform=PLATFORM,
            ) from None

    def _ad_set(self, row: dict[str, Any], digits: int) -> AdSetRecord:
        try:
            return AdSetRecord(
                platform=PLATFORM,
                external_id=str(row["id"]),
                campaign_external_id=str(row["campaign_id"]),
                name=str(row.get("name", "")),
                status=row.get("status"),
                effective_status=row.get("effective_status"),
                optimization_goal=row.get("optimization_goal"),
                billing_event=row.get("billing_event"),
                daily_budget=_minor_units(row.get("daily_budget"), digits),
                lifetime_budget=_minor_units(row.get("lifetime_budget"), digits),
                start_time=_graph_time(row.get("start_time")),
                end_time=_graph_time(row.get("end_time")),
            )
        except (KeyError, TypeError, ValueError, InvalidOperation) as error:
            raise SourceUnavailable(
                "malformed_answer",
                f"Meta answered an ad set that cannot be read ({type(error).__name__}).",
                platform=PLATFORM,
            ) from None

    def _metrics(self, row: dict[str, Any], external_id: str | None = None) -> DailyMetrics:
        """A row as DailyMetrics; without ``external_id`` the row's own ``campaign_id`` names the campaign."""
        try:
            actions = row.get("actions")
            conversions = None
            if isinstance(actions, list):
                conversions = sum(
                    (Decimal(str(a["value"])) for a in actions if a.get("action_type") in self.conversion_action_types),
                    Decimal(0),
                )
            reach = row.get("reach")
            return DailyMetrics(
                platform=PLATFORM,
                external_id=external_id if external_id is not None else str(row["campaign_id"]),
                date=dt.date.fromisoformat(row["date_start"]),
                impressions=int(row.get("impressions") or 0),
                reach=int(reach) if reach not in (None, "") else None,
                clicks=int(row.get("clicks") or 0),
                spend=Decimal(str(row.get("spend") or "0")),
                conversions=conversions,
                raw=row,
            )
        except (KeyError, TypeError, ValueError, InvalidOperation) as error:
            raise SourceUnavailable(
                "malformed_answer",
                f"Meta answered an insights row that cannot be read ({type(error).__name__}).",
                platform=PLATFORM,
            ) from None

    def _paged(self, path: str, params: dict[str, str]) -> Iterator[dict[str, Any]]:
        """Every item of a Graph edge, page after page."""
        query: dict[str, str] = {**params, "limit": str(self.page_size)}
        url: str | None = None
        while True:
            body = self._get(path, query) if url is None else self._get_url(url)
            data = body.get("data")
            if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
                raise SourceUnavailable("malformed_answer", "Meta's answer holds no list of data.", platform=PLATFORM)
            yield from data
            paging = body.get("paging") if isinstance(body.get("paging"), dict) else {}
            next_url = paging.get("next")
            if not next_url or not data:
                return
            after = (paging.get("cursors") or {}).get("after")
            if after:
                query, url = {**query, "after": str(after)}, None
            elif urlsplit(str(next_url)).netloc == urlsplit(self.base_url).netloc:
                url = str(next_url)
            else:
                raise SourceUnavailable(
                    "malformed_answer", "Meta's next page points at another host.", platform=PLATFORM
                )

    def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        return self._request("GET", f"{self.base_url}/{self.api_version}/{path}", params)

    def _get_url(self, url: str) -> dict[str, Any]:
        return self._request("GET", url, {})

    def _request(self, method: str, url: str, params: dict[str, str]) -> dict[str, Any]:
        """One Graph call (``params`` as the query of a GET, the form of a POST), retried as Meta allows."""
        if not self._token:
            raise SourceUnavailable("token_missing", "No Meta access token is configured.", platform=PLATFORM)
        headers = {"Authorization": f"Bearer {self._token}"}
        if self._app_secret:
            params = {**params, "appsecret_proof": self._appsecret_proof()}
        # tenacity, as the Mentionlytics source retries; a wait Meta asks for beyond max_wait_s stops at once.
        # Retrying the one POST (starting a report run) is safe: a duplicate run is only an unread report.
        retrying = Retrying(
            retry=retry_if_exception_type(_Retryable),
            stop=stop_after_attempt(self.max_attempts) | (lambda state: self._wait(state) > self.max_wait_s),
            wait=self._wait,
            sleep=self._sleep,
            reraise=True,
            before_sleep=lambda s: self._log_retry(s, method, url),
        )
        try:
            return retrying(lambda: self._attempt(method, url, params, headers))
        except _Retryable as error:
            last = error
        retry_after_s = int(last.wait_s) if last.wait_s is not None else 60
        raise SourceUnavailable(
            last.cause, self._redact(last.message), platform=PLATFORM, retry_after_s=max(retry_after_s, 1)
        )

    def _attempt(self, method: str, url: str, params: dict[str, str], headers: dict[str, str]) -> dict[str, Any]:
        self.requests_made += 1
        try:
            if method == "GET":
                response = self._client.get(url, params=params or None, headers=headers)
            else:
                response = self._client.request(method, url, data=params, headers=headers)
        except httpx.HTTPError as error:
            raise _Retryable("vendor_down", f"Meta could not be reached ({type(error).__name__}).") from None
        warning = response.headers.get("x-ad-api-version-warning")
        if warning:
            self.api_version_warning = self._redact(warning)
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            self._raise_graph_error(response, error)
        if response.status_code == 401:
            raise SourceUnavailable("token_rejected", "Meta rejected the access token (401).", platform=PLATFORM)
        if response.status_code >= 500:
            raise _Retryable("vendor_down", f"Meta answered {response.status_code}.")
        if response.status_code == 403:
            raise SourceUnavailable("permission_denied", "Meta refused access (403).", platform=PLATFORM)
        if response.status_code >= 400:
            raise SourceUnavailable(
                "bad_request", f"Meta refused the request ({response.status_code}).", platform=PLATFORM
            )
        if not isinstance(body, dict):
            raise SourceUnavailable("malformed_answer", "Meta's answer is not a JSON object.", platform=PLATFORM)
        return body

    def _raise_graph_error(self, response: httpx.Response, error: dict[str, Any]) -> None:
        code, subcode = _int_or_none(error.get("code")), _int_or_none(error.get("error_subcode"))
        text = self._redact(
            f"Meta error {code}/{subcode} ({error.get('type')}): {error.get('message')} "
            f"[fbtrace_id {error.get('fbtrace_id')}]"
        )
        if code == TOKEN_REJECTED_CODE or response.status_code == 401:
            raise SourceUnavailable("token_rejected", text, platform=PLATFORM)
        if code == DEPRECATED_VERSION_CODE:
            self.api_version_deprecated = True
            self.api_version_warning = text
            raise SourceUnavailable("version_deprecated", text, platform=PLATFORM)
        if subcode == TOO_MUCH_DATA_SUBCODE:
            raise _TooMuchData(text)
        if code in THROTTLE_CODES or response.status_code == 429:
            raise _Retryable("throttled", text, _throttle_wait_s(response.headers))
        if code in TRANSIENT_CODES or error.get("is_transient") is True or response.status_code >= 500:
            raise _Retryable("vendor_down", text)
        if response.status_code == 403 or code == 10 or (code is not None and 200 <= code <= 299):
            raise SourceUnavailable("permission_denied", text, platform=PLATFORM)
        raise SourceUnavailable("bad_request", text, platform=PLATFORM)

    def _wait(self, state: RetryCallState) -> float:
        """The wait Meta's usage headers ask for, else the base doubled each attempt."""
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Retryable) and error.wait_s is not None:
            return error.wait_s
        return self.backoff_base_s * 2 ** (state.attempt_number - 1)

    def _log_retry(self, state: RetryCallState, method: str, url: str) -> None:
        error = state.outcome.exception() if state.outcome else None
        logger.warning(
            "meta %s (%s) on %s %s; attempt %d of %d, waiting %.1fs",
            getattr(error, "cause", "error"),
            self._redact(getattr(error, "message", "")),
            method,
            self._redact(urlsplit(url).path),
            state.attempt_number,
            self.max_attempts,
            state.upcoming_sleep,
        )

    def _appsecret_proof(self) -> str:
        assert self._app_secret is not None
        return hmac.new(self._app_secret.encode(), self._token.encode(), hashlib.sha256).hexdigest()

    def _redact(self, text: str) -> str:
        """``text`` without the access token (verbatim or as a URL parameter) or the app secret proof."""
        if self._token:
            text = text.replace(self._token, "[redacted]")
        return _TOKEN_IN_TEXT.sub(lambda m: f"{m.group(1)}=[redacted]", text)


def _throttle_wait_s(headers: httpx.Headers) -> float | None:
    """The longest wait Meta's usage headers ask for, in seconds (None when none says)."""
    waits: list[float] = []
    for name in USAGE_HEADERS:
        value = headers.get(name)
        if not value:
            continue
        try:
            waits.extend(_waits_in(json.loads(value)))
        except ValueError:
            logger.warning("meta sent an unreadable %s header", name)
    return max(waits) if waits else None


def _waits_in(usage: Any) -> Iterator[float]:
    """``estimated_time_to_regain_access`` (minutes) and ``reset_time_duration`` (seconds) anywhere in a header."""
    if isinstance(usage, list):
        for item in usage:
            yield from _waits_in(item)
    elif isinstance(usage, dict):
        for key, value in usage.items():
            if key == "estimated_time_to_regain_access" and isinstance(value, int | float) and value > 0:
                yield float(value) * 60
            elif key == "reset_time_duration" and isinstance(value, int | float) and value > 0:
                yield float(value)
            elif isinstance(value, dict | list):
                yield from _waits_in(value)


def _minor_units(value: Any, digits: int) -> Decimal | None:
    if value in (None, ""):
        return None
    return Decimal(str(value)).scaleb(-digits)


def _graph_time(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
