"""Global settings: every domain's declared settings composed into the one registry the routes know.

Example
-------
>>> list_settings()                       # every known setting, stored value or default
>>> update_setting("timezone", "Europe/Madrid", actor=ctx.actor())

What a setting is and how code reads one is :mod:`warroom.core.settings`; each domain declares its
own in its ``settings`` module (``SETTINGS``), and :data:`REGISTRY` lists them here explicitly, so the
set of keys does not depend on what happened to be imported. Values are stored as JSONB in
``settings`` (the durable copy) and validated by the key's pydantic type, so a bad value gets a 422
and changes nothing. Unknown keys are 404: settings are a fixed vocabulary that code reads, not a
free-form store. No secret is ever a setting (secrets live in Secrets Manager).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from psycopg.types.json import Jsonb
from pydantic import ValidationError

from warroom.audit import record_audit, set_actor
from warroom.auth import settings as auth_settings
from warroom.campaigns import settings as campaign_settings
from warroom.core import settings as core_settings
from warroom.core.data_mode import invalidate_cached_data_mode
from warroom.core.db import connection
from warroom.core.errors import NotFound, ValidationFailed
from warroom.core.settings import SettingDefinition
from warroom.crisis import settings as crisis_settings
from warroom.documents import settings as document_settings
from warroom.mentions import settings as mention_settings
from warroom.reports import settings as report_settings
from warroom.system.data_mode import after_data_mode_change
from warroom.system.models import SettingOut
from warroom.webhooks import incoming_settings as incoming_webhook_settings

REGISTRY: dict[str, SettingDefinition] = {
    definition.key: definition
    for definition in (
        *core_settings.SETTINGS,
        *auth_settings.SETTINGS,
        *mention_settings.SETTINGS,
        *campaign_settings.SETTINGS,
        *document_settings.SETTINGS,
        *crisis_settings.SETTINGS,
        *report_settings.SETTINGS,
        *incoming_webhook_settings.SETTINGS,
    )
}
# What must happen inside the change's transaction, before it commits (drop copies that would go stale).
BEFORE_COMMIT: dict[str, Callable[[], None]] = {core_settings.DATA_MODE.key: invalidate_cached_data_mode}
# What must follow a committed change: ``on_change(new, old)``.
AFTER_CHANGE: dict[str, Callable[[Any, Any], None]] = {core_settings.DATA_MODE.key: after_data_mode_change}


def _definition(key: str) -> SettingDefinition:
    definition = REGISTRY.get(key)
    if definition is None:
        raise NotFound(f"There is no setting named '{key}'.", details={"known": sorted(REGISTRY)})
    return definition


def _to_out(definition: SettingDefinition, row: dict[str, Any] | None) -> SettingOut:
    default = definition.default_value()
    return SettingOut(
        key=definition.key,
        value=row["value"] if row else default,
        description=definition.description,
        default=default,
        updated_at=row["updated_at"] if row else None,
        updated_by=str(row["updated_by"]) if row and row["updated_by"] else None,
    )


def list_settings() -> list[SettingOut]:
    """Every known setting with its current value."""
    with connection() as conn:
        rows = {r["key"]: r for r in conn.execute("SELECT key, value, updated_at, updated_by FROM settings")}
    return [_to_out(d, rows.get(key)) for key, d in sorted(REGISTRY.items())]


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
        old_value = old["value"] if old else definition.default_value()
        record_audit(conn, "settings.update", "settings", key, {"old": old_value, "new": value}, actor)
        before_commit = BEFORE_COMMIT.get(key)
        if before_commit is not None:
            before_commit()
    on_change = AFTER_CHANGE.get(key)
    if on_change is not None:
        on_change(value, old_value)
    return _to_out(definition, row), old_value
