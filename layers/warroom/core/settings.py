"""Typed global settings: what a setting is, and how code reads one. Domains declare; ``system`` composes.

Example
-------
>>> # warroom/crisis/settings.py -- a domain declares its keys as values
>>> CRISIS_COOLDOWN_MINUTES = define_setting("crisis_cooldown_minutes", Annotated[int, Field(ge=0)], 30, "...")
>>> SETTINGS = (CRISIS_COOLDOWN_MINUTES, ...)
>>> # anywhere in that domain -- read through the definition, never through a key string
>>> read_settings([CRISIS_COOLDOWN_MINUTES])["crisis_cooldown_minutes"]

Values live as JSONB in the ``settings`` table (the durable copy); a key never stored reads as its
default. There is no global registry filled by imports: :mod:`warroom.system.settings` lists every
domain's ``SETTINGS`` explicitly, and that list is what the settings routes know. No secret is ever
a setting (secrets live in Secrets Manager).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import psycopg
from pydantic import AfterValidator, Field, TypeAdapter

from warroom.core.config import DataMode, get_settings
from warroom.core.db import connection


@dataclass(frozen=True)
class SettingDefinition:
    """One known setting: its key, pydantic type, default (or a function giving it) and description."""

    key: str
    adapter: TypeAdapter[Any] = field(compare=False, repr=False)
    default: Any
    description: str
    default_factory: Callable[[], Any] | None = field(default=None, compare=False, repr=False)

    def default_value(self) -> Any:
        return self.default_factory() if self.default_factory is not None else self.default


def define_setting(
    key: str, value_type: Any, default: Any, description: str, *, default_factory: Callable[[], Any] | None = None
) -> SettingDefinition:
    """A setting of type ``value_type`` (any pydantic type) named ``key``."""
    return SettingDefinition(key, TypeAdapter(value_type), default, description, default_factory)


def read_settings(definitions: Sequence[SettingDefinition], conn: psycopg.Connection | None = None) -> dict[str, Any]:
    """The current values of ``definitions`` by key, in one query (in ``conn`` when given)."""
    if conn is None:
        with connection() as own:
            return read_settings(definitions, own)
    keys = [definition.key for definition in definitions]
    rows = {r["key"]: r["value"] for r in conn.execute("SELECT key, value FROM settings WHERE key = ANY(%s)", (keys,))}
    return {d.key: rows[d.key] if d.key in rows else d.default_value() for d in definitions}


def read_setting(definition: SettingDefinition) -> Any:
    """The current value of one setting."""
    return read_settings([definition])[definition.key]


def _valid_timezone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r}") from error
    return name


# The platform's own settings: the data mode every source obeys and the campaign's time zone.
DATA_MODE = define_setting(
    "data_mode",
    DataMode,
    None,
    "MOCK serves generated data, LIVE the real APIs (admin only; audited and broadcast).",
    default_factory=lambda: get_settings().default_data_mode,
)
TIMEZONE = define_setting(
    "timezone",
    Annotated[str, AfterValidator(_valid_timezone)],
    "UTC",
    "IANA time zone of the campaign, used by daily jobs such as the 06:00 brief.",
)
RETENTION_PERFORMANCE_LOGS_DAYS = define_setting(
    "retention_performance_logs_days",
    Annotated[int, Field(ge=1, le=3650)],
    30,
    "Request timings (performance_logs) older than this many days are pruned by the daily retention job.",
)
# The metrics job's (warroom.metrics.rollups), declared here beside the timings' retention because the settings
# registry (warroom.system) ranks below the metrics domain.
METRICS_RAW_RETENTION_HOURS = define_setting(
    "metrics_raw_retention_hours",
    Annotated[int, Field(ge=1, le=24 * 90)],
    48,
    "Request timings already rolled up are pruned by the 1-minute metrics job after this many hours"
    " (/metrics/api reads the rollups, so older periods stay answerable).",
)
METRICS_ROLLUP_RETENTION_DAYS = define_setting(
    "metrics_rollup_retention_days",
    Annotated[int, Field(ge=1, le=3650)],
    90,
    "Per-minute, 10-minute and hour API metric rollups older than this many days are pruned by the metrics job.",
)
SETTINGS = (
    DATA_MODE,
    TIMEZONE,
    RETENTION_PERFORMANCE_LOGS_DAYS,
    METRICS_RAW_RETENTION_HOURS,
    METRICS_ROLLUP_RETENTION_DAYS,
)
