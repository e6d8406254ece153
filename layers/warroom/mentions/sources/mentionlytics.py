"""The live source: Mentionlytics over httpx, within its rate limit, cached, retried, parsed tolerantly.

Example
-------
>>> source = MentionlyticsSource.from_settings()          # token from the MENTIONLYTICS_API_TOKEN secret
>>> page = source.fetch(since, until, cursor=None)        # cursor: {"page_no": 3} to resume

Two API versions, chosen by the ``mentionlytics_api_version`` setting (default ``v2``):

* **v1** (deprecated by the vendor): ``GET {base}/mentions?token=...&startDate=YYYYMMDD&endDate=YYYYMMDD
  &page_no=N&per_page=K`` answering ``{"mentions": [...]}``.
* **v2**: ``GET {base}/v2/mentions?startDate=...&endDate=...&page_no=N&per_page=K`` with
  ``Authorization: Bearer <token>``, answering ``{"data" | "mentions": [...], "meta": {"has_more", ...}}``.
  The bearer token lives one hour; on a 401 it is renewed once with the refresh token
  (``POST {base}/v2/token/refresh`` ``{"refresh_token"}`` -> ``{"access_token", "expires_in"}``) and the
  renewed token is shared by every container through Redis until just before it expires.

The vendor documents v2's shapes only loosely: the field mapping here is what our recorded fixtures
(``tests/fixtures/mentionlytics/``) hold, and parsing is tolerant -- unknown fields are ignored, every
field but the id, the date and the text may be missing, and an item that still cannot be read is
skipped and logged rather than failing the page.

Around every request: the seed's 100 requests/minute across all containers (a moving window in Redis,
:mod:`warroom.core.ratelimit`; the caller waits for a free slot), a 5-minute response cache (cache kind
``mentionlytics``), and retries of 429, 5xx, transport errors and malformed JSON with exponential
backoff and full jitter (``tenacity``), honouring ``Retry-After``. A missing or rejected token raises
:class:`SourceUnavailable` naming the cause, which ``POST /mentionlytics/sync`` answers as a 503.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import json
import logging
import time
from typing import Any

import httpx
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from warroom.core import cache, ratelimit
from warroom.core.config import get_settings
from warroom.mentions.models import SOURCES, MentionIn
from warroom.mentions.sources.base import SourcePage, SourceUnavailable

logger = logging.getLogger(__name__)

PROVIDER = "mentionlytics"
RATE_LIMIT_PER_MINUTE = 100
_TOKEN_KEY = "mentionlytics:v2:access_token"  # noqa: S105  (a Redis key, not a secret)
_CHANNELS = {
    "twitter": "twitter",
    "x": "twitter",
    "facebook": "facebook",
    "instagram": "instagram",
    "tiktok": "tiktok",
    "youtube": "youtube",
    "news": "news",
    "blog": "blogs",
    "blogs": "blogs",
    "forum": "forums",
    "forums": "forums",
    "reddit": "reddit",
    "web": "web",
}


class _Retryable(Exception):
    """A failure worth another attempt; ``retry_after_s`` is the server's Retry-After when it sent one."""

    def __init__(self, cause: str, message: str, retry_after_s: float | None = None):
        super().__init__(message)
        self.cause = cause
        self.retry_after_s = retry_after_s


class _Author(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    name: str | None = None
    screen_name: str | None = Field(None, validation_alias=AliasChoices("screen_name", "username", "handle"))
    followers_count: int | None = Field(None, validation_alias=AliasChoices("followers_count", "followers"))
    country: str | None = None
    region: str | None = None
    city: str | None = None


class _Engagement(BaseModel):
    model_config = ConfigDict(extra="ignore")
    likes: int = 0
    shares: int = Field(0, validation_alias=AliasChoices("shares", "retweets"))
    comments: int = Field(0, validation_alias=AliasChoices("comments", "replies"))
    reach: int = Field(0, validation_alias=AliasChoices("reach", "views", "impressions"))


class MentionlyticsItem(BaseModel):
    """One mention as Mentionlytics answers it (v1 flat author fields or v2 nested ``author``)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str
    pub_date: dt.datetime = Field(validation_alias=AliasChoices("pub_date", "published_at", "date"))
    text: str | None = Field(None, validation_alias=AliasChoices("text", "content", "description"))
    title: str | None = None
    channel: str | None = Field(None, validation_alias=AliasChoices("channel", "source", "type"))
    url: str | None = Field(None, validation_alias=AliasChoices("url", "link"))
    lang: str | None = Field(None, validation_alias=AliasChoices("lang", "language"))
    screen_name: str | None = None
    author_name: str | None = Field(None, validation_alias=AliasChoices("author_name", "name"))
    followers_count: int | None = None
    country: str | None = None
    region: str | None = None
    city: str | None = None
    lat: float | None = Field(None, validation_alias=AliasChoices("lat", "latitude"))
    lng: float | None = Field(None, validation_alias=AliasChoices("lng", "lon", "longitude"))
    author: _Author | None = None
    mRank: float | None = Field(None, validation_alias=AliasChoices("mRank", "mrank", "influence"))
    sentiment: Any = None
    cmeta: _Engagement | None = Field(None, validation_alias=AliasChoices("cmeta", "engagement"))
    tags: list[str] = Field(default_factory=list, validation_alias=AliasChoices("tags", "topics"))
    keyword: Any = Field(None, validation_alias=AliasChoices("keyword", "keywords"))

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> str:
        return str(value)

    @field_validator("pub_date", mode="after")
    @classmethod
    def _utc(cls, value: dt.datetime) -> dt.datetime:
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)

    def to_mention(self) -> MentionIn:
        author = self.author or _Author()
        channel = (self.channel or "").strip().lower()
        country = (self.country or author.country or "").strip().upper()
        return MentionIn(
            provider=PROVIDER,
            external_id=self.id,
            source=_CHANNELS.get(channel, "other") if _CHANNELS.get(channel, "other") in SOURCES else "other",
            content=self.text or self.title or "",
            published_at=self.pub_date,
            url=self.url,
            language=(self.lang or None) and self.lang[:12],
            author_name=(self.author_name or author.name),
            author_handle=(self.screen_name or author.screen_name),
            author_followers=_non_negative(
                self.followers_count if self.followers_count is not None else author.followers_count
            ),
            author_influence=_influence(self.mRank),
            country=country if len(country) == 2 else None,
            region=self.region or author.region,
            city=self.city or author.city,
            latitude=self.lat if self.lat is not None and -90 <= self.lat <= 90 else None,
            longitude=self.lng if self.lng is not None and -180 <= self.lng <= 180 else None,
            likes=max(0, (self.cmeta or _Engagement()).likes),
            shares=max(0, (self.cmeta or _Engagement()).shares),
            comments=max(0, (self.cmeta or _Engagement()).comments),
            reach=max(0, (self.cmeta or _Engagement()).reach),
            sentiment_score=_sentiment(self.sentiment),
            topics=[t.strip().lower() for t in self.tags if t and t.strip()],
            keywords=_keywords(self.keyword),
            metadata={"mentionlytics_channel": self.channel} if self.channel else None,
        )


def _non_negative(value: int | None) -> int | None:
    return value if value is None or value >= 0 else None


def _influence(rank: float | None) -> float | None:
    """mRank is 0-10 in v1 exports and 0-100 in v2: mapped onto our 0-100."""
    if rank is None or rank < 0:
        return None
    return round(min(100.0, rank * 10 if rank <= 10 else rank), 1)


def _sentiment(value: Any) -> float | None:
    """A numeric score is kept (-1..1, or -100..100 rescaled); a label alone is left to the local scorer."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        score = value / 100 if abs(value) > 1 else value
        return round(max(-1.0, min(1.0, float(score))), 3)
    if isinstance(value, dict):
        return _sentiment(value.get("score"))
    return None


def _keywords(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value.strip().lower()] if value.strip() else []
    if isinstance(value, list):
        return [str(v).strip().lower() for v in value if str(v).strip()]
    return []


def _retry_after_s(response: httpx.Response) -> float | None:
    header = response.headers.get("retry-after")
    if not header:
        return None
    if header.strip().isdigit():
        return float(header)
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


class MentionlyticsSource:
    """The live connector; see the module docstring."""

    provider = PROVIDER

    def __init__(
        self,
        *,
        base_url: str,
        token: str | None,
        refresh_token: str | None = None,
        version: str = "v2",
        project: str = "default",
        per_page: int = 100,
        max_attempts: int = 5,
        backoff_max_s: float = 8.0,
        retry_after_cap_s: float = 60.0,
        rate_limit: int = RATE_LIMIT_PER_MINUTE,
        rate_window_s: int = 60,
        rate_wait_budget_s: float = 60.0,
        timeout_s: float = 10.0,
    ):
        self.base_url = base_url.rstrip("/") + "/"
        self.token = token
        self.refresh_token = refresh_token
        self.version = version
        self.project = project
        self.per_page = per_page
        self.max_attempts = max_attempts
        self.backoff_max_s = backoff_max_s
        self.retry_after_cap_s = retry_after_cap_s
        self.rate_limit = rate_limit
        self.rate_window_s = rate_window_s
        self.rate_wait_budget_s = rate_wait_budget_s
        self.timeout_s = timeout_s
        self.requests_sent = 0

    @classmethod
    def from_settings(cls, **overrides: Any) -> MentionlyticsSource:
        from warroom.core.settings import read_setting
        from warroom.mentions.settings import MENTIONLYTICS_API_VERSION

        settings = get_settings()
        token = settings.mentionlytics_api_token
        refresh = settings.mentionlytics_refresh_token
        options: dict[str, Any] = {
            "base_url": settings.mentionlytics_base_url,
            "token": token.get_secret_value() if token else None,
            "refresh_token": refresh.get_secret_value() if refresh else None,
            "version": read_setting(MENTIONLYTICS_API_VERSION),
            "project": settings.mentionlytics_project,
        }
        return cls(**{**options, **overrides})

    def resume_point(self, until: dt.datetime) -> dt.datetime:
        """Where the next sync starts: the start of ``until``'s day (the API's dates are whole days;
        re-reading today is idempotent and catches mentions the vendor indexes late)."""
        return until.replace(hour=0, minute=0, second=0, microsecond=0)

    def fetch(self, since: dt.datetime, until: dt.datetime, cursor: dict[str, Any] | None) -> SourcePage:
        """One page of mentions of the days ``since`` .. ``until`` (whole days, UTC)."""
        if not self.token:
            raise SourceUnavailable(
                PROVIDER,
                "token_missing",
                "Mentionlytics is not configured: the MENTIONLYTICS_API_TOKEN secret is empty.",
            )
        page_no = int((cursor or {}).get("page_no", 1))
        params = {
            "startDate": since.astimezone(dt.UTC).strftime("%Y%m%d"),
            "endDate": until.astimezone(dt.UTC).strftime("%Y%m%d"),
            "page_no": page_no,
            "per_page": self.per_page,
        }
        sent_before = self.requests_sent
        body = self._get("mentions" if self.version == "v1" else "v2/mentions", params)
        items, has_more = self._items(body)
        mentions = []
        for raw in items:
            try:
                mentions.append(MentionlyticsItem.model_validate(raw).to_mention())
            except ValidationError as error:
                logger.warning(
                    "skipping an unreadable Mentionlytics mention: %s",
                    error.errors(include_input=False, include_url=False)[:2],
                )
        next_cursor = {"page_no": page_no + 1} if has_more else None
        return SourcePage(mentions, next_cursor, requests=self.requests_sent - sent_before)

    def _items(self, body: Any) -> tuple[list[Any], bool]:
        if not isinstance(body, dict):
            raise SourceUnavailable(
                PROVIDER, "bad_response", "Mentionlytics answered something that is not a JSON object."
            )
        items = body.get("mentions")
        if items is None:
            items = body.get("data")
        if not isinstance(items, list):
            raise SourceUnavailable(PROVIDER, "bad_response", "Mentionlytics' answer holds no list of mentions.")
        meta = body.get("meta") if isinstance(body.get("meta"), dict) else None
        has_more = bool(meta.get("has_more")) if meta and "has_more" in meta else len(items) >= self.per_page
        return items, has_more

    # ------------------------------------------------------------------ HTTP: cache, rate limit, retries

    def _cache_suffix(self, path: str, params: dict[str, Any]) -> str:
        key = json.dumps([self.version, self.project, path, params], sort_keys=True)
        return "http:" + hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        suffix = self._cache_suffix(path, params)
        cached = cache.cache.get_json("mentionlytics", suffix)
        if cached is not None:
            return cached
        body = self._with_retries(lambda: self._request(path, params))
        cache.cache.set_json("mentionlytics", body, suffix)
        return body

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Retryable) and error.retry_after_s is not None:
            return min(error.retry_after_s, self.retry_after_cap_s)
        return wait_random_exponential(multiplier=0.25, max=self.backoff_max_s)(state)

    def _with_retries(self, call: Any) -> Any:
        retrying = Retrying(
            retry=retry_if_exception_type(_Retryable),
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            reraise=True,
            before_sleep=lambda s: logger.warning(
                "Mentionlytics attempt %d failed (%s); retrying", s.attempt_number, s.outcome.exception()
            ),
        )
        try:
            return retrying(call)
        except _Retryable as error:
            raise SourceUnavailable(
                PROVIDER, error.cause, f"Mentionlytics is unavailable after {self.max_attempts} attempts: {error}"
            ) from error

    def _take_rate_slot(self) -> None:
        """Block until the shared 100/min window has room (fails open when Redis is unavailable, logged)."""
        deadline = time.monotonic() + self.rate_wait_budget_s
        while True:
            state = ratelimit.hit(PROVIDER, self.project, limit=self.rate_limit, window_s=self.rate_window_s)
            if state is None:
                logger.warning("Mentionlytics rate limiter unavailable (Redis down or erroring); sending without it")
                return
            if state.allowed:
                return
            wait_s = max(0.05, state.reset_epoch - time.time())
            if time.monotonic() + wait_s > deadline:
                raise SourceUnavailable(
                    PROVIDER,
                    "rate_limited",
                    "The Mentionlytics request budget (100/min) is used up; try again shortly.",
                )
            time.sleep(min(wait_s, 1.0))

    def _request(self, path: str, params: dict[str, Any]) -> Any:
        self._take_rate_slot()
        headers = {"Accept": "application/json"}
        query = dict(params)
        if self.version == "v1":
            query["token"] = self.token
        else:
            headers["Authorization"] = f"Bearer {self._access_token()}"
        response = self._send("GET", path, params=query, headers=headers)
        if response.status_code == 401 and self.version == "v2" and self.refresh_token:
            headers["Authorization"] = f"Bearer {self._renew_access_token()}"
            self._take_rate_slot()
            response = self._send("GET", path, params=query, headers=headers)
        return self._json(response)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        self.requests_sent += 1
        try:
            with httpx.Client(base_url=self.base_url, timeout=self.timeout_s) as client:
                return client.request(method, path, **kwargs)
        except httpx.TransportError as error:
            raise _Retryable("unreachable", f"cannot reach Mentionlytics ({type(error).__name__})") from error

    def _json(self, response: httpx.Response) -> Any:
        status = response.status_code
        if status in (401, 403):
            raise SourceUnavailable(
                PROVIDER,
                "token_rejected",
                f"Mentionlytics rejected the API token ({status}): check the MENTIONLYTICS_API_TOKEN secret.",
            )
        if status == 429:
            raise _Retryable("rate_limited", "Mentionlytics answered 429 Too Many Requests", _retry_after_s(response))
        if status >= 500:
            raise _Retryable("server_error", f"Mentionlytics answered {status}", _retry_after_s(response))
        if status >= 400:
            raise SourceUnavailable(PROVIDER, "bad_request", f"Mentionlytics refused the request ({status}).")
        try:
            return response.json()
        except ValueError as error:
            raise _Retryable("bad_response", "Mentionlytics answered malformed JSON") from error

    def _access_token(self) -> str:
        shared = cache.run("get", lambda r: r.get(_TOKEN_KEY))
        return shared or str(self.token)

    def _renew_access_token(self) -> str:
        """Exchange the refresh token for a new one-hour bearer token, shared through Redis."""
        self._take_rate_slot()
        response = self._send("POST", "v2/token/refresh", json={"refresh_token": self.refresh_token})
        if response.status_code in (400, 401, 403):
            raise SourceUnavailable(
                PROVIDER,
                "token_rejected",
                "Mentionlytics rejected the refresh token: check the MENTIONLYTICS_REFRESH_TOKEN secret.",
            )
        body = self._json(response)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not token:
            raise SourceUnavailable(PROVIDER, "bad_response", "Mentionlytics' token refresh answered no access_token.")
        ttl_s = max(60, int(body.get("expires_in", 3600)) - 60)
        cache.run("set", lambda r: r.set(_TOKEN_KEY, token, ex=ttl_s))
        self.token = token
        return token
