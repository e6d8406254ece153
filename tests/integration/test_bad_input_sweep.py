"""Every route of the OpenAPI document, fed crafted input through its real handler: nothing answers 5xx.

The cases come from the document itself, so a new route is swept the day it is added: each query parameter
and path parameter gets NUL, other control characters, non-ASCII digits, extreme dates and oversized numbers;
each JSON body gets the same in every property its schema names, a lone surrogate, and 100,000 levels of
nesting. Every answer must be a 4xx (or a 2xx where the input happens to be acceptable), never a 5xx, and its
status one the document lists for that operation.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from localcloud.gateway import build_proxy_event
from localcloud.template import ApiRoute, load_template, read_api_routes, read_functions
from tests.conftest import PROJECT_ROOT
from tests.integration.auth_support import create_account, open_session_for
from warroom.core.openapi import build_document, functions_dir, load_route_specs

QUERY_VALUES = [
    "a\x00b",
    "a\x1bb",
    "\u0661\u0662\u0663\u0664\u0665\u0666",  # Arabic-Indic digits: \d matches them, [0-9] does not
    "0001-01-01",
    "9999-12-31T23:59:59Z",
    "99999999999999999999999999",
    "-1",
    "x" * 5000,
]
PATH_VALUES = ["a\x00b", "a\nb", "\u0661\u0662\u0663", "x" * 2000]
DEEP_BODY = "[" * 100_000 + "]" * 100_000


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _crafted(schema: dict[str, Any], document: dict[str, Any], text: str) -> Any:
    """A value of the schema's shape whose strings are ``text`` and whose numbers are out of any range."""
    schema = _resolve(schema, document)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [option for option in schema[key] if _resolve(option, document).get("type") != "null"]
            return _crafted(options[0], document, text) if options else None
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {name: _crafted(sub, document, text) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [_crafted(schema.get("items", {}), document, text)]
    if kind == "integer":
        return 10**30
    if kind == "number":
        return 1e308
    if kind == "boolean":
        return text
    return text


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    document = build_document(load_route_specs(functions_dir()))
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


OPERATIONS = _operations()
DOCUMENT = build_document(load_route_specs(functions_dir()))


def _cases(method: str, path: str, operation: dict[str, Any]) -> list[dict[str, Any]]:
    parameters = operation.get("parameters", [])
    path_names = [p["name"] for p in parameters if p["in"] == "path"]
    good_path = {name: "00000000-0000-4000-8000-000000000000" for name in path_names}
    cases = []
    for parameter in (p for p in parameters if p["in"] == "query"):
        cases += [{"path": good_path, "query": {parameter["name"]: value}} for value in QUERY_VALUES]
    for name in path_names:
        cases += [{"path": {**good_path, name: value}, "query": {}} for value in PATH_VALUES]
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None:
        for text in ("a\x00b", "a\x07b", "\u0661\u0662\u0663\u0664\u0665\u0666"):
            cases.append({"path": good_path, "query": {}, "body": json.dumps(_crafted(body["schema"], DOCUMENT, text))})
        properties = _resolve(body["schema"], DOCUMENT).get("properties", {})
        surrogate = "{" + ",".join(f'"{name}": "\\ud800"' for name in properties) + "}"
        cases += [
            {"path": good_path, "query": {}, "body": surrogate},
            {"path": good_path, "query": {}, "body": DEEP_BODY},
            {"path": good_path, "query": {}, "body": '{"a": ' * 5000 + "1" + "}" * 5000},
        ]
    return cases


@pytest.fixture
def admin_token(db) -> str:
    return open_session_for(create_account(db, role="admin")).access_token


@pytest.fixture(scope="module")
def route_functions() -> dict[tuple[str, str], ApiRoute]:
    functions = read_functions(load_template(PROJECT_ROOT / "template.yaml"), PROJECT_ROOT)
    return {(route.method, route.path): route for route in read_api_routes(functions)}


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS])
def test_no_crafted_input_reaches_a_5xx(
    services, lambda_runtime, admin_token, route_functions, method, path, operation
):
    route = route_functions[(method, path)]
    failures = []
    for case in _cases(method, path, operation):
        raw_path = path
        for name, value in case["path"].items():
            raw_path = raw_path.replace("{" + name + "}", quote(value, safe=""))
        query = "&".join(f"{quote(k)}={quote(v)}" for k, v in case["query"].items()).encode()
        body = case.get("body", "").encode("utf-8", "surrogatepass")
        headers = [("Authorization", f"Bearer {admin_token}"), ("User-Agent", "sweep")]
        if body:
            headers.append(("Content-Type", "application/json"))
        event = build_proxy_event(
            method, raw_path, query, headers, body, route, case["path"], "198.51.100.1", "localhost"
        )
        result = lambda_runtime.invoke(route.function, event)
        if str(result["statusCode"]) not in operation["responses"]:
            failures.append((result["statusCode"], "not in the document", case.get("query"), list(case["path"])))
        if result["statusCode"] >= 500:
            shown = {k: (v[:40] + "..." if isinstance(v, str) and len(v) > 40 else v) for k, v in case.items()}
            failures.append((result["statusCode"], shown, (result.get("body") or "")[:200]))
    assert failures == []
