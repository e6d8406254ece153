"""Request and response models of the Alert Center and the crisis simulator."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from warroom.core.pagination import PageQuery
from warroom.core.types import ApiDatetime
from warroom.mentions.models import MentionOut, PeriodQuery

Status = Literal["active", "acknowledged", "resolved"]
Dimension = Literal["all", "source", "topic", "keyword"]
Scenario = Literal["crisis", "viral-positive", "slow-burn"]


class AlertListQuery(PeriodQuery, PageQuery):
    """Filters of ``GET /alerts`` (newest first); ``from`` / ``to`` bound the detection time."""

    status: Status | None = None
    severity_min: int | None = Field(None, ge=1, le=10)
    severity_max: int | None = Field(None, ge=1, le=10)
    from_: ApiDatetime | None = Field(None, alias="from", description="Detected at or after (ISO 8601; 1970-2100).")
    to: ApiDatetime | None = Field(None, description="Detected before (ISO 8601; 1970-2100).")

    @field_validator("severity_max")
    @classmethod
    def _max_above_min(cls, value: int | None, info: ValidationInfo) -> int | None:
        low = info.data.get("severity_min")
        if value is not None and low is not None and low > value:
            raise ValueError("'severity_max' must not be below 'severity_min'")
        return value


class Subject(BaseModel):
    dimension: Dimension | Literal["campaign"] = Field(
        description="A rollup dimension for detected crises; `campaign` (value `<campaign id>:<reason>`) for"
        " campaign alerts."
    )
    value: str


class AlertOut(BaseModel):
    """An alert (a ``crisis_events`` row). ``crisis:detected`` / ``crisis:resolved`` carry its ``id``."""

    id: uuid.UUID
    kind: Literal["detected", "manual", "campaign"] = Field(
        description="`detected` (a mention surge), `manual` (raised by staff), `campaign` (paid media: pacing,"
        " delivery, cost)."
    )
    status: Status
    severity: int
    title: str
    subject: Subject | None = Field(None, description="What the crisis is about; empty for manual alerts.")
    detected_at: dt.datetime
    updated_at: dt.datetime
    last_evidence_at: dt.datetime | None = None
    acknowledged_at: dt.datetime | None = None
    acknowledged_by: uuid.UUID | None = None
    resolved_at: dt.datetime | None = None
    resolved_by: uuid.UUID | None = None
    created_by: uuid.UUID | None = None
    linked_mentions: int = Field(0, description="Mentions linked to this crisis (crisis_id filter of the list).")
    trigger: dict[str, Any] = Field(
        default_factory=dict,
        description="Why it fired: rule, baseline, observed, negative share, window, sample mention ids.",
    )


class TimelineEntry(BaseModel):
    change: Literal["detected", "created", "updated", "acknowledged", "resolved"]
    status: Status
    severity: int | None = None
    changed_by: uuid.UUID | None = Field(None, description="Empty when the detector made the change.")
    changed_at: dt.datetime
    note: str | None = None


class AlertDetail(AlertOut):
    timeline: list[TimelineEntry]
    sample_mentions: list[MentionOut]


class AlertCreate(BaseModel):
    """A manual crisis (``POST /alerts``), optionally linked to mentions that show it."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=3, max_length=300)
    severity: int = Field(ge=1, le=10)
    description: str | None = Field(None, max_length=5000)
    mention_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)

    @field_validator("title")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the title must not be blank")
        return value.strip()


class AlertTransition(BaseModel):
    """Optional note for acknowledge / resolve (kept in the timeline)."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(None, max_length=2000)


class SimulateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scenario: Scenario
    topic: str | None = Field(None, description="A mock topic (e.g. healthcare); a fixed one when empty.")


class SimulateOut(BaseModel):
    scenario: Scenario
    topic: str
    fetched: int
    inserted: int
    window_start: dt.datetime | None
    window_end: dt.datetime | None
    opened: list[uuid.UUID] = Field(description="Alerts this scenario opened (crisis:detected was broadcast).")
    updated: list[uuid.UUID]
