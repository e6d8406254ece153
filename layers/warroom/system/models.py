"""Request and response models of the system function."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from warroom.core.config import DataMode


class DataModeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: DataMode = Field(description="MOCK serves generated data; LIVE calls the real APIs.")


class DataModeOut(BaseModel):
    mode: DataMode
    updated_at: dt.datetime | None = None


class SettingUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: Any = Field(description="The new value; its type depends on the setting.")


class SettingOut(BaseModel):
    key: str
    value: Any
    description: str
    default: Any
    updated_at: dt.datetime | None = None
    updated_by: str | None = None


class SettingsOut(BaseModel):
    items: list[SettingOut]


class DependencyHealth(BaseModel):
    status: Literal["up", "down", "not_configured"]
    latency_ms: float | None = None
    error: str | None = None
    mode: str | None = Field(None, description="How it works right now, when that can change (e.g. the rate limiter).")


class HealthOut(BaseModel):
    status: Literal["ok", "degraded", "down"]
    data_mode: DataMode
    timestamp: dt.datetime
    version: str
    dependencies: dict[str, DependencyHealth]
