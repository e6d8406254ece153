"""System: health, the API's own description, global settings and the data mode."""

from __future__ import annotations

from typing import Any

from chalice import Response

from warroom.auth.guard import authenticate_request
from warroom.core.data_mode import get_data_mode
from warroom.core.http import OtherAnswer, RequestContext, WarRoomApp
from warroom.core.openapi import openapi_document
from warroom.system.docs import DOCS_CSP, DOCS_PAGE, docs_asset
from warroom.system.health import check_health
from warroom.system.models import DataModeBody, DataModeOut, HealthOut, SettingOut, SettingsOut, SettingUpdate
from warroom.system.settings import list_settings, write_setting

app = WarRoomApp("system", authenticate=authenticate_request)


@app.endpoint(
    "GET",
    "/api/v1/health",
    role=None,
    response=HealthOut,
    other_answers=(OtherAnswer(503, HealthOut, description="PostgreSQL does not answer: `status` is `down`."),),
)
def health() -> Response:
    """Health of the system and its dependencies.

    200 while PostgreSQL answers (``degraded`` when Redis or AWS do not), 503 when it does not.
    """
    document, status = check_health()
    return Response(
        body=document.model_dump_json(),
        status_code=status,
        headers={"Content-Type": "application/json", "Cache-Control": "no-store"},
    )


@app.endpoint("GET", "/api/v1/openapi.json", role=None, response=dict[str, Any])
def openapi() -> Response:
    """This API's OpenAPI 3.1 document, generated from the routes."""
    return Response(body=openapi_document(), headers={"Content-Type": "application/json"})


@app.endpoint("GET", "/api/v1/docs", role=None, content_type="text/html")
def docs() -> Response:
    """Interactive API documentation (Swagger UI)."""
    return Response(
        body=DOCS_PAGE, headers={"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": DOCS_CSP}
    )


@app.endpoint(
    "GET",
    "/api/v1/docs/assets/{name}",
    role=None,
    content_type="application/javascript",
    other_answers=(OtherAnswer(200, str, content_type="text/css", description="The stylesheet."),),
    errors=(404,),
)
def docs_assets(name: str) -> Response:
    """A static file of the documentation page."""
    content, content_type = docs_asset(name)
    return Response(body=content, headers={"Content-Type": content_type, "Cache-Control": "public, max-age=86400"})


@app.endpoint("GET", "/api/v1/settings", role="readonly", response=SettingsOut)
def get_settings_list() -> SettingsOut:
    """Every global setting with its value, default and description."""
    return SettingsOut(items=list_settings())


@app.endpoint(
    "PUT",
    "/api/v1/settings/{key}",
    role="admin",
    bearer_only=True,
    body=SettingUpdate,
    response=SettingOut,
    errors=(404,),
)
def put_setting(key: str, body: SettingUpdate, ctx: RequestContext) -> SettingOut:
    """Change one global setting (admin; audited)."""
    setting, _ = write_setting(key, body.value, ctx.actor())
    return setting


@app.endpoint("GET", "/api/v1/settings/data-mode", role="readonly", response=DataModeOut)
def get_mode() -> DataModeOut:
    """The current data mode: MOCK or LIVE."""
    return DataModeOut(mode=get_data_mode())


@app.endpoint(
    "PUT", "/api/v1/settings/data-mode", role="admin", bearer_only=True, body=DataModeBody, response=DataModeOut
)
def put_mode(body: DataModeBody, ctx: RequestContext) -> DataModeOut:
    """Switch the data mode (admin; audited; broadcast as system:data-mode-change)."""
    setting, _ = write_setting("data_mode", body.mode, ctx.actor())
    return DataModeOut(mode=setting.value, updated_at=setting.updated_at)
