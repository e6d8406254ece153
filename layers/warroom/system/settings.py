"""Global settings: a registry of known keys, each with a type, a default and a description.

Example
-------
>>> list_settings()                       # every known setting, stored value or default
>>> update_setting("timezone", "Europe/Madrid", actor=ctx.actor())

Values are stored as JSONB in ``settings`` (the durable copy) and validated by the key's pydantic
type, so a bad value gets a 422 and changes nothing. Unknown keys are 404: settings are a fixed
vocabulary that code reads, not a free-form store. Later domains add their keys with
:func:`register_setting`. No secret is ever a setting (secrets live in Secrets Manager).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import psycopg
from psycopg.types.json import Jsonb
from pydantic import AfterValidator, TypeAdapter, ValidationError

from warroom.audit import record_audit, set_actor
from warroom.core.config import DataMode, get_settings
from warroom.core.db import connection
from warroom.core.errors import NotFound, ValidationFailed
from warroom.system.data_mode import after_data_mode_change
from warroom.system.models import SettingOut


def _valid_timezone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r}") from error
    return name


@dataclass(frozen=True)
class SettingDefinition:
    key: str
    adapter: TypeAdapter
    default: Any
    description: str
    on_change: Callable[[Any, Any], None] | None = None


REGISTRY: dict[str, SettingDefinition] = {}


def register_setting(
    key: str, value_type: Any, default: Any, description: str, on_change: Callable[[Any, Any], None] | None = None
) -> None:
    """Make ``key`` a known setting of type ``value_type``; ``on_change(new, old)`` runs after commit."""
    REGISTRY[key] = SettingDefinition(key, TypeAdapter(value_type), default, description, on_change)


register_setting(
    "data_mode",
    DataMode,
    None,
    "MOCK serves generated data, LIVE the real APIs (admin only; audited and broadcast).",
    on_change=after_data_mode_change,
)
register_setting("registration_open", bool, True, "Whether people may create their own (readonly) accounts.")
register_setting(
    "timezone",
    Annotated[str, AfterValidator(_valid_timezone)],
    "UTC",
    "IANA time zone of the campaign, used by daily jobs such as the 06:00 brief.",
)


def _definition(key: str) -> SettingDefinition:
    definition = REGISTRY.get(key)
    if definition is None:
        raise NotFound(f"There is no setting named '{key}'.", details={"known": sorted(REGISTRY)})
    return definition


def _default(definition: SettingDefinition) -> Any:
    return get_settings().default_data_mode if definition.key == "data_mode" else definition.default


def _to_out(definition: SettingDefinition, row: dict[str, Any] | None) -> SettingOut:
    return SettingOut(
        key=definition.key,
        value=row["value"] if row else _default(definition),
        description=definition.description,
        default=_default(definition),
        updated_at=row["updated_at"] if row else None,
        updated_by=str(row["updated_by"]) if row and row["updated_by"] else None,
    )


def list_settings() -> list[SettingOut]:
    """Every known setting with its current value."""
    with connection() as conn:
        rows = {r["key"]: r for r in conn.execute("SELECT key, value, updated_at, updated_by FROM settings")}
    return [_to_out(d, rows.get(key)) for key, d in sorted(REGISTRY.items())]


def read_setting(key: str) -> Any:
    """The current value of ``key`` (its default when never set)."""
    definition = _definition(key)
    with connection() as conn:
        row = conn.execute("SELECT value FROM settings WHERE key = %s", (key,)).fetchone()
    return row["value"] if row else _default(definition)


def read_settings(keys: list[str], conn: psycopg.Connection | None = None) -> dict[str, Any]:
    """The current values of several keys in one query (defaults for those never set), in ``conn`` if given."""
    definitions = {key: _definition(key) for key in keys}
    if conn is None:
        with connection() as own:
            return read_settings(keys, own)
    rows = {r["key"]: r["value"] for r in conn.execute("SELECT key, value FROM settings WHERE key = ANY(%s)", (keys,))}
    return {key: rows[key] if key in rows else _default(definition) for key, definition in definitions.items()}


def validate_setting(key: str, value: Any) -> Any:
    """``value`` checked against the key's type; 404 for an unknown key, 422 for a bad value."""
    definition = _definition(key)
    try:
        return definition.adapter.validate_python(value)
    except ValidationError as error:
        details = [
            {"loc": ["body", "value", *e["loc"]], "msg": e["msg"], "type": e["type"]}
            for e in error.errors(include_url=False, include_input=False, include_context=False)
        ]
        raise ValidationFailed(f"That is not a valid value for '{key}'.", details=details) from error


def write_setting(key: str, value: Any, actor: dict[str, Any]) -> tuple[SettingOut, Any]:
    """Store a validated value and audit the change; returns the new setting and the old value."""
    definition = _definition(key)
    value = validate_setting(key, value)
    with connection() as conn:
        set_actor(conn, actor.get("user_id"))
        old = conn.execute("SELECT value FROM settings WHERE key = %s FOR UPDATE", (key,)).fetchone()
        row = conn.execute(
            "INSERT INTO settings (key, value, updated_by) VALUES (%s, %s, %s)"
            " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_by = EXCLUDED.updated_by"
            " RETURNING key, value, updated_at, updated_by",
            (key, Jsonb(value), actor.get("user_id")),
        ).fetchone()
        old_value = old["value"] if old else _default(definition)
        record_audit(conn, "settings.update", "settings", key, {"old": old_value, "new": value}, actor)
    if definition.on_change is not None:
        definition.on_change(value, old_value)
    return _to_out(definition, row), old_value


# Domains register their settings in their own module; loading them here makes every function know every key.
from warroom.crisis import settings as _crisis_settings  # noqa: E402, F401
from warroom.mentions import settings as _mention_settings  # noqa: E402, F401
