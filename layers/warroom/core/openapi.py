"""The OpenAPI 3.1 document, generated from every function's routes and their pydantic models.

Example
-------
>>> spec = openapi_document()
>>> spec["paths"]["/api/v1/health"]["get"]["summary"]
'Health of the system and its dependencies.'

Every route is declared with :meth:`warroom.core.http.WarRoomApp.endpoint`, which records a
:class:`RouteSpec`; this module loads every ``functions/*/app.py``, collects those specs and turns
them into paths, parameters, request bodies, responses and component schemas. Nothing here is
written by hand.

Every status a route can give is documented, derived from its declaration (:func:`error_statuses`):
401/403/429/503 on authenticated routes, 422 on routes with a query or a body (and a list's
``invalid_cursor``), 400/413/415 on routes with a body, plus the route's own ``errors``; all in the
one error shape, with ``Retry-After`` on 429/503, ``WWW-Authenticate`` on 401 and ``X-RateLimit-*``
on what an authenticated route answers after its quota. Answers are documented with the schema they
are serialised through (pydantic's serialization mode); bodies and queries with the one they are
validated by.

In AWS the system function's package holds only its own code, so ``make build`` writes the
document generated here into the layer as ``warroom/openapi.json``; when that file is present it
is served, otherwise (``warroom dev``, tests) the document is generated from the source tree.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode

import warroom
from warroom.core.config import get_settings
from warroom.core.http import RouteSpec, WarRoomApp, is_json_content_type
from warroom.core.pagination import PageQuery

BUNDLED_DOCUMENT = Path(warroom.__file__).parent / "openapi.json"
REF_TEMPLATE = "#/components/schemas/{model}"
_PATH_PARAM = re.compile(r"{([^}+]+)\+?}")
_GENERIC_NAME = re.compile(r"^([A-Za-z_]\w*)\[([A-Za-z_]\w*)\]$")
_ERROR_DESCRIPTIONS = {
    400: "Malformed request: the body is not valid JSON, or a required body is missing.",
    401: "Missing, expired, revoked or invalid credentials; see `WWW-Authenticate`.",
    403: "Not allowed: the caller's role is too weak, or the account or key may not do this.",
    404: "Not found.",
    409: "Conflicts with the current state.",
    413: "Request body too large.",
    415: "Request body is not JSON.",
    422: "Invalid fields; `details` lists them.",
    429: "Rate limited; see `Retry-After`.",
    503: "A dependency is unavailable; see `Retry-After`.",
}
_HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-Id": {"description": "The request's id (API Gateway's), as the logs name it.", "type": "string"},
    "X-RateLimit-Limit": {"description": "Requests allowed per window to this caller.", "type": "integer"},
    "X-RateLimit-Remaining": {"description": "Requests left in the current window.", "type": "integer"},
    "X-RateLimit-Reset": {"description": "When the window has room again (Unix seconds).", "type": "integer"},
    "Retry-After": {"description": "Seconds to wait before trying again.", "type": "integer"},
    "WWW-Authenticate": {"description": "The scheme to authenticate with (`Bearer`).", "type": "string"},
    "Location": {"description": "Where the answer is.", "type": "string"},
}
_RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    """The one error shape of every endpoint."""

    error: ErrorBody


class ComponentNames(GenerateJsonSchema):
    """Readable component names for generic models: ``Page[UserOut]`` becomes ``UserOutPage``."""

    def normalize_name(self, name: str) -> str:
        generic = _GENERIC_NAME.match(name)
        if generic:
            return f"{generic.group(2)}{generic.group(1)}"
        return super().normalize_name(name)


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


def error_statuses(spec: RouteSpec) -> set[int]:
    """Every error status ``spec`` can answer: implied by its declaration, plus its own ``errors``."""
    statuses = set(spec.errors)
    if spec.role is not None:
        # Authentication reads the revocation list and API keys; the quota counts in Redis.
        statuses |= {401, 403, 429, 503}
    if spec.query is not None or "{" in spec.path:
        # A path parameter holding a control character is refused before the view (warroom.core.types).
        statuses.add(422)
    if spec.body is not None:
        statuses |= {400, 413, 415, 422}
    return statuses


def build_document(specs: list[RouteSpec], version: str = warroom.__version__) -> dict[str, Any]:
    """OpenAPI 3.1 for ``specs``."""
    schemas = _Schemas(specs)
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
            "schemas": schemas.components,
            "headers": {
                name: {"description": header["description"], "schema": {"type": header["type"]}}
                for name, header in _HEADERS.items()
            },
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "apiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
    }


class _Schemas:
    """Every schema of the document, generated together so each model has one component name.

    A model used both as a body and in an answer whose two schemas differ gets ``-Input`` and
    ``-Output`` components (pydantic's naming); all others keep their own name.
    """

    def __init__(self, specs: list[RouteSpec]):
        inputs: list[tuple[Any, JsonSchemaMode, TypeAdapter[Any]]] = [
            ("error", "serialization", TypeAdapter(ErrorResponse))
        ]
        for index, spec in enumerate(specs):
            if spec.body is not None:
                inputs.append((("body", index), "validation", TypeAdapter(spec.body)))
            if spec.query is not None:
                inputs.append((("query", index), "validation", TypeAdapter(spec.query)))
            if spec.response is not None:
                adapter = spec.response_adapter or TypeAdapter(spec.response)
                inputs.append((("response", index), "serialization", adapter))
            for other_index, other in enumerate(spec.other_answers):
                if other.schema is not None:
                    inputs.append((("other", index, other_index), "serialization", TypeAdapter(other.schema)))
        self._index = {id(spec): index for index, spec in enumerate(specs)}
        by_key, top = TypeAdapter.json_schemas(inputs, ref_template=REF_TEMPLATE, schema_generator=ComponentNames)
        self._by_key = {key: schema for (key, _mode), schema in by_key.items()}
        self.components: dict[str, Any] = dict(sorted(top.get("$defs", {}).items()))

    def of(self, kind: str, spec: RouteSpec, *more: int) -> dict[str, Any] | None:
        """The schema (usually a ``$ref``) of ``spec``'s body, query, response or n-th other answer."""
        return self._by_key.get((kind, self._index[id(spec)], *more))

    @property
    def error(self) -> dict[str, Any]:
        return self._by_key["error"]

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        """The schema a ``$ref`` points at (or the schema itself)."""
        ref = schema.get("$ref")
        return self.components[ref.rsplit("/", 1)[1]] if ref else schema


def _header_refs(names: Iterable[str]) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is present or absent, never null: drop the ``null`` branch of an optional one."""
    branches = schema.get("anyOf")
    if not branches:
        return schema
    kept = [branch for branch in branches if branch != {"type": "null"}]
    rest = {key: value for key, value in schema.items() if key != "anyOf"}
    if rest.get("default", ...) is None:
        del rest["default"]
    return {**kept[0], **rest} if len(kept) == 1 else {**rest, "anyOf": kept}


def _parameters(spec: RouteSpec, schemas: _Schemas) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAM.findall(spec.path)
    ]
    query_ref = schemas.of("query", spec)
    if query_ref is None:
        return parameters
    query_schema = schemas.resolve(query_ref)
    required = set(query_schema.get("required", []))
    for name, prop in query_schema.get("properties", {}).items():
        parameter = {"name": name, "in": "query", "required": name in required, "schema": _without_null(prop)}
        if "description" in prop:
            parameter["description"] = prop["description"]
        parameters.append(parameter)
    return parameters


def _answer_content(content_type: str, schema: dict[str, Any] | None) -> dict[str, Any]:
    if schema is None:
        schema = {"type": "object"} if is_json_content_type(content_type) else {"type": "string"}
    return {content_type: {"schema": schema}}


def _operation(spec: RouteSpec, schemas: _Schemas) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": f"{spec.tags[0]}_{spec.view_name}",
        "summary": spec.summary,
        "tags": list(spec.tags),
        "parameters": _parameters(spec, schemas),
        "responses": {},
    }
    if spec.description:
        operation["description"] = spec.description
    body_ref = schemas.of("body", spec)
    if body_ref is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body_ref}}}
    authenticated = spec.role is not None
    if authenticated:
        # A bearer-only route (administration, a person's own sessions) refuses API keys with 403.
        operation["security"] = [{"bearerAuth": []}] if spec.bearer_only else [{"bearerAuth": []}, {"apiKeyAuth": []}]
        operation["x-required-role"] = spec.role
    # Every answer after authentication carries the caller's quota (a 401 comes before it).
    after_quota = ("X-Request-Id", *_RATE_LIMIT_HEADERS) if authenticated else ("X-Request-Id",)
    responses: dict[str, Any] = operation["responses"]
    success: dict[str, Any] = {"description": "Success.", "headers": _header_refs(after_quota)}
    if spec.status_code != 204:
        success["content"] = _answer_content(spec.content_type, schemas.of("response", spec))
    responses[str(spec.status_code)] = success
    for other_index, other in enumerate(spec.other_answers):
        answer = responses.setdefault(
            str(other.status_code), {"description": other.description or "Success.", "headers": {}}
        )
        answer["headers"].update(_header_refs((*after_quota, *other.headers)))
        answer.setdefault("content", {}).update(
            _answer_content(other.content_type, schemas.of("other", spec, other_index))
        )
    for status in sorted(error_statuses(spec)):
        if str(status) in responses:
            continue  # the route answers this status with a body of its own (health's 503)
        headers = ("X-Request-Id",) if status == 401 else after_quota
        if status == 401:
            headers = (*headers, "WWW-Authenticate")
        if status in (429, 503):
            headers = (*headers, "Retry-After")
        description = _ERROR_DESCRIPTIONS.get(status, "Error.")
        if status == 422 and spec.query is not None and issubclass(spec.query, PageQuery):
            description += " A `cursor` this list did not hand out is `invalid_cursor`."
        responses[str(status)] = {
            "description": description,
            "headers": _header_refs(headers),
            "content": {"application/json": {"schema": schemas.error}},
        }
    return operation


@functools.cache
def openapi_document() -> str:
    """The served document as JSON text: the bundled one in AWS, else generated from the sources."""
    if BUNDLED_DOCUMENT.exists():
        return BUNDLED_DOCUMENT.read_text()
    return json.dumps(build_document(load_route_specs(functions_dir())), separators=(",", ":"))
