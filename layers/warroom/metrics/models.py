"""Request and response models of ``GET /metrics/api`` and ``GET /metrics/system``."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from warroom.core.types import ApiDatetime

Period = Literal["15m", "1h", "6h", "24h", "7d", "30d"]
PERIODS: dict[str, dt.timedelta] = {
    "15m": dt.timedelta(minutes=15),
    "1h": dt.timedelta(hours=1),
    "6h": dt.timedelta(hours=6),
    "24h": dt.timedelta(hours=24),
    "7d": dt.timedelta(days=7),
    "30d": dt.timedelta(days=30),
}
MAX_RANGE = dt.timedelta(days=31)
ApiSort = Literal["requests", "p50", "p95", "p99", "error_rate", "endpoint"]


class ApiMetricsQuery(BaseModel):
    """Either ``period`` (back from now) or ``from`` (and optionally ``to``, default now); default ``period=1h``."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    period: Period | None = Field(None, description="A period ending now: " + ", ".join(PERIODS) + ".")
    from_: ApiDatetime | None = Field(None, alias="from", description="Start (ISO 8601); floored to the minute.")
    to: ApiDatetime | None = Field(None, description="End (ISO 8601, excluded); rounded up to the minute.")
    service: str | None = Field(
        None, min_length=1, max_length=100, pattern=r"^[a-z0-9_-]+$", description="Only this function's endpoints."
    )
    sort: ApiSort = Field("requests", description="Highest first (endpoint: alphabetical).")
    limit: int = Field(100, ge=1, le=500, description="At most this many endpoints.")

    @model_validator(mode="after")
    def _one_range(self) -> ApiMetricsQuery:
        if self.period is not None and (self.from_ is not None or self.to is not None):
            raise ValueError("give either 'period' or 'from'/'to', not both")
        if self.to is not None and self.from_ is None:
            raise ValueError("'to' needs 'from'")
        if self.from_ is not None and self.to is not None:
            if self.to <= self.from_:
                raise ValueError("'to' must be after 'from'")
            if self.to - self.from_ > MAX_RANGE:
                raise ValueError("the range may span at most 31 days")
        return self


class Precision(BaseModel):
    """How exact the percentiles are (see :mod:`warroom.metrics.histogram`)."""

    exact_below_ms: int = Field(description="Percentiles below this are exact.")
    relative_error: float = Field(description="Above it, at most this share from the exact percentile_cont.")
    max_bucket_ms: int = Field(description="Slower requests share the top bucket, read as the period's maximum.")


class LatencyStats(BaseModel):
    requests: int
    errors_4xx: int
    errors_5xx: int
    error_rate: float | None = Field(description="Share of requests answered 5xx (0-1); null without requests.")
    client_error_rate: float | None = Field(description="Share of requests answered 4xx (0-1).")
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    mean_ms: float | None
    min_ms: int | None
    max_ms: int | None


class EndpointMetrics(LatencyStats):
    service: str = Field(description="The function (WarRoomApp name).")
    endpoint: str = Field(description="Method and route, e.g. 'GET /api/v1/alerts/{alert_id}'.")


class ApiMetricsOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: dt.datetime = Field(alias="from", description="Start, whole minute.")
    to: dt.datetime = Field(description="End (excluded), whole minute.")
    service: str | None
    sort: ApiSort
    overall: LatencyStats = Field(description="Every endpoint of the period (of the service, when filtered).")
    endpoints: list[EndpointMetrics]
    total_endpoints: int = Field(description="Endpoints with traffic in the period (the list is cut at 'limit').")
    rolled_up_until: int = Field(description="The rollup watermark (performance_logs.seq); rows after it are read raw.")
    precision: Precision


class QueueState(BaseModel):
    name: str = Field(description="The queue's logical id in template.yaml.")
    status: Literal["ok", "unavailable"]
    dead_letter: bool = Field(description="True for a dead-letter queue (another queue's redrive target).")
    messages: int | None = Field(description="Visible messages (ApproximateNumberOfMessages): the depth.")
    in_flight: int | None = Field(description="Received, not yet deleted (ApproximateNumberOfMessagesNotVisible).")
    delayed: int | None
    dead_letter_queue: str | None = Field(description="Where this queue's failures go.")
    dead_letter_messages: int | None = Field(description="Messages waiting in that dead-letter queue.")
    error: str | None = None


class JobRun(BaseModel):
    job: str
    status: Literal["ok", "failed", "never_run"]
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    duration_ms: float | None
    error: str | None
    last_success_at: dt.datetime | None
    runs: int
    failures: int


class Part(BaseModel):
    """A part of the snapshot that could not be read says so instead of failing the route."""

    status: Literal["ok", "unavailable"]
    error: str | None = None


class WebSocketState(Part):
    connections: int | None


class JobsState(Part):
    items: list[JobRun]


class SourcesState(Part):
    items: list[dict[str, Any]] = Field(description="Each source: last sync outcome (Redis) and cursor (PostgreSQL).")


class QueuesState(Part):
    items: list[QueueState]


class SystemMetricsOut(BaseModel):
    generated_at: dt.datetime
    data_mode: str
    health: dict[str, Any] = Field(description="Overall status and each dependency, as /health answers them.")
    queues: QueuesState
    websockets: WebSocketState
    jobs: JobsState
    sources: SourcesState
