"""The OpenAPI 3.1 document, generated from every function's routes and their pydantic models.

Example
-------
>>> spec = openapi_document()
>>> spec["paths"]["/api/v1/health"]["get"]["summary"]
'Health of the system and its dependencies.'

Every route is declared with :meth:`warroom.core.http.WarRoomApp.endpoint`, which records a
:class:`RouteSpec`; this module loads every ``functions/*/app.py``, collects those specs and turns
them into paths, parameters, request bodies, responses (including the error answers each route
can give, in the one error shape) and component schemas. Nothing here is written by hand.

In AWS the system function's package holds only its own code, so ``make build`` writes the
document generated here into the layer as ``warroom/openapi.json``; when that file is present it
is served, otherwise (``warroom dev``, tests) the document is generated from the source tree.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

import warroom
from warroom.core.config import get_settings
from warroom.core.http import RouteSpec, WarRoomApp

BUNDLED_DOCUMENT = Path(warroom.__file__).parent / "openapi.json"
_PATH_PARAM = re.compile(r"{([^}+]+)\+?}")
_ERROR_DESCRIPTIONS = {
    400: "Malformed request (for example invalid JSON or cursor).",
    401: "Missing, expired or invalid access token.",
    403: "The caller's role is too weak.",
    404: "Not found.",
    409: "Conflicts with the current state.",
    413: "Request body too large.",
    415: "Request body is not JSON.",
    422: "Invalid fields; `details` lists them.",
    429: "Rate limited; see `Retry-After`.",
    503: "A dependency is unavailable; see `Retry-After`.",
}


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    """The one error shape of every endpoint."""

    error: ErrorBody


def functions_dir() -> Path:
    """Where the function sources are: ``WARROOM_FUNCTIONS_DIR`` or the source tree's ``functions/``."""
    configured = get_settings().functions_dir
    return Path(configured) if configured else Path(warroom.__file__).resolve().parents[2] / "functions"


def load_route_specs(directory: Path) -> list[RouteSpec]:
    """The routes of every function app under ``directory``, loaded by file path (each is its own ``app``)."""
    specs: list[RouteSpec] = []
    for app_file in sorted(directory.glob("*/app.py")):
        module_name = f"warroom_openapi_{app_file.parent.name}"
        spec = importlib.util.spec_from_file_location(module_name, app_file)
        if spec is None or spec.loader is None:
            continue
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        app = getattr(module, "app", None)
        if isinstance(app, WarRoomApp):
            specs.extend(app.route_specs)
    return specs


def _schema_ref(annotation: Any, definitions: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema for ``annotation``, with its models moved into ``components.schemas``."""
    schema = TypeAdapter(annotation).json_schema(ref_template="#/components/schemas/{model}")
    definitions.update(schema.pop("$defs", {}))
    return schema


def build_document(specs: list[RouteSpec], version: str = warroom.__version__) -> dict[str, Any]:
    """OpenAPI 3.1 for ``specs``."""
    models: set[type[BaseModel]] = {ErrorResponse}
    for spec in specs:
        models.update(m for m in (spec.body, spec.query) if m is not None)
    _, top = models_json_schema(
        [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    paths: dict[str, dict[str, Any]] = {}
    for spec in sorted(specs, key=lambda s: (s.path, s.method)):
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "War Room API",
            "version": version,
            "description": "Real-time intelligence backend of a campaign war room. Every error has the shape "
            '`{"error": {"code", "message", "details"}}`; lists answer `{"items", "next_cursor"}`.',
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "apiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
    }


def _operation(spec: RouteSpec, schemas: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": f"{spec.tags[0]}_{spec.view_name}",
        "summary": spec.summary,
        "tags": list(spec.tags),
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _PATH_PARAM.findall(spec.path)
        ],
        "responses": {},
    }
    if spec.description:
        operation["description"] = spec.description
    if spec.query is not None:
        query_schema = spec.query.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(query_schema.pop("$defs", {}))
        required = set(query_schema.get("required", []))
        for name, prop in query_schema.get("properties", {}).items():
            parameter = {"name": name, "in": "query", "required": name in required, "schema": prop}
            if "description" in prop:
                parameter["description"] = prop["description"]
            operation["parameters"].append(parameter)
    if spec.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{spec.body.__name__}"}}},
        }
    success: dict[str, Any] = {"description": "Success."}
    if spec.status_code != 204:
        schema = _schema_ref(spec.response, schemas) if spec.response is not None else {"type": "object"}
        success["content"] = {spec.content_type: {"schema": schema}}
    operation["responses"][str(spec.status_code)] = success
    statuses = set(spec.errors) | {503}
    if spec.role is not None:
        operation["security"] = [{"bearerAuth": []}, {"apiKeyAuth": []}]
        operation["x-required-role"] = spec.role
        statuses |= {401, 403, 429}
    if spec.query is not None:
        statuses |= {422}
    if spec.body is not None:
        statuses |= {400, 413, 415, 422}
    for status in sorted(statuses):
        operation["responses"][str(status)] = {
            "description": _ERROR_DESCRIPTIONS.get(status, "Error."),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
        }
    return operation


@functools.cache
def openapi_document() -> str:
    """The served document as JSON text: the bundled one in AWS, else generated from the sources."""
    if BUNDLED_DOCUMENT.exists():
        return BUNDLED_DOCUMENT.read_text()
    return json.dumps(build_document(load_route_specs(functions_dir())), separators=(",", ":"))
