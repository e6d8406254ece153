"""Request and response models of the system function."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_serializer

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
    checked_at: dt.datetime | None = Field(None, description="When the status was observed (a source: its last sync).")
    warning: str | None = Field(None, description="What the vendor warned of at the last sync (an ageing API version).")

    @model_serializer(mode="wrap")
    def _omit_unobserved(self, handler):  # no return annotation: the JSON schema stays that of the fields
        """``checked_at`` only where a status was observed earlier (a source's last sync), not on live probes."""
        data = handler(self)
        for optional in ("checked_at", "warning"):
            if data.get(optional) is None:
                data.pop(optional, None)
        return data


class HealthOut(BaseModel):
    status: Literal["ok", "degraded", "down"]
    data_mode: DataMode
    timestamp: dt.datetime
    version: str
    dependencies: dict[str, DependencyHealth]
