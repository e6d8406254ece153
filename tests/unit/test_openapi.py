"""The OpenAPI document against the routes: every answer declared, every status documented, the document valid."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate
from pydantic import BaseModel

from warroom.core.http import RouteSpec, WarRoomApp, is_json_content_type
from warroom.core.openapi import build_document, error_statuses, functions_dir, load_route_specs


class ItemOut(BaseModel):
    name: str


@pytest.fixture(scope="module")
def specs() -> list[RouteSpec]:
    return load_route_specs(functions_dir())


@pytest.fixture(scope="module")
def document(specs: list[RouteSpec]) -> dict[str, Any]:
    return build_document(specs)


def _operation(document: dict[str, Any], spec: RouteSpec) -> dict[str, Any]:
    return document["paths"][spec.path][spec.method.lower()]


def test_every_route_of_every_function_declares_what_it_answers(specs: list[RouteSpec]) -> None:
    # GIVEN every route of every function
    assert len(specs) > 50

    for spec in specs:
        route = f"{spec.method} {spec.path}"
        # THEN a 204 route has no model, a JSON route answers through its model, anything else names its type
        if spec.status_code == 204:
            assert spec.response is None, route
        elif is_json_content_type(spec.content_type):
            assert spec.response is not None and spec.response_adapter is not None, route
        else:
            assert spec.content_type in {
                "text/html",
                "text/csv",
                "application/javascript",
                "text/plain",
                "application/pdf",
            }, route


def test_a_json_route_without_a_response_model_is_refused_when_declared() -> None:
    # GIVEN an app
    app = WarRoomApp("probe")

    # WHEN routes that answer JSON without a model, or a body on a 204, are declared, THEN they are refused
    with pytest.raises(TypeError, match="declares its response type"):
        app.endpoint("GET", "/probe", role=None)
    with pytest.raises(TypeError, match="204"):
        app.endpoint("DELETE", "/probe", role=None, status_code=204, response=ItemOut)

    # AND a 204 route, a page and a JSON route with its model are accepted
    app.endpoint("DELETE", "/probe/{id}", role=None, status_code=204)
    app.endpoint("GET", "/probe/page", role=None, content_type="text/html")
    app.endpoint("GET", "/probe/item", role=None, response=ItemOut)


def test_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    validate(document)
    assert document["openapi"] == "3.1.0"


def test_login_and_refresh_document_the_401_they_give(document: dict[str, Any]) -> None:
    login = document["paths"]["/api/v1/auth/login"]["post"]["responses"]
    refresh = document["paths"]["/api/v1/auth/refresh"]["post"]["responses"]

    assert {"401", "403", "429", "422"} <= set(login)
    assert {"401", "403", "422"} <= set(refresh)
    assert login["401"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}
    assert "WWW-Authenticate" in login["401"]["headers"]
    assert "Retry-After" in login["429"]["headers"]


def test_every_status_a_route_can_give_is_documented_in_the_error_shape(
    specs: list[RouteSpec], document: dict[str, Any]
) -> None:
    for spec in specs:
        route = f"{spec.method} {spec.path}"
        responses = _operation(document, spec)["responses"]
        own_answers = {other.status_code for other in spec.other_answers}
        # THEN what the declaration implies is there
        if spec.role is not None:
            assert {401, 403, 429, 503} <= error_statuses(spec), route
            assert "X-RateLimit-Remaining" in responses[str(spec.status_code)]["headers"], route
        if spec.body is not None:
            assert {400, 413, 415, 422} <= error_statuses(spec), route
        if spec.query is not None:
            assert 422 in error_statuses(spec), route
        # AND each is answered in the one error shape (or with the route's own body, as health's 503)
        for status in error_statuses(spec) - own_answers:
            answer = responses[str(status)]
            assert answer["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse"), route
            if status in (429, 503):
                assert "Retry-After" in answer["headers"], route


def test_lists_document_the_invalid_cursor(document: dict[str, Any]) -> None:
    answer = document["paths"]["/api/v1/admin/users"]["get"]["responses"]["422"]

    assert "invalid_cursor" in answer["description"]


def test_pages_are_one_generic_model_with_readable_component_names(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    list_users = document["paths"]["/api/v1/admin/users"]["get"]["responses"]["200"]

    assert list_users["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/UserOutPage"}
    assert {
        "UserOutPage",
        "ApiKeyOutPage",
        "SessionOutPage",
        "MentionOutPage",
        "AuditEntryPage",
        "AlertOutPage",
    } <= set(schemas)
    assert schemas["UserOutPage"]["properties"]["items"]["items"] == {"$ref": "#/components/schemas/UserOut"}
    assert not [name for name in schemas if "[" in name or name.startswith("Page_")]


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            return ([node["$ref"]] if "$ref" in node else []) + [r for value in node.values() for r in refs(value)]
        if isinstance(node, list):
            return [r for value in node for r in refs(value)]
        return []

    for ref in refs(document["paths"]) + refs(document["components"]["schemas"]):
        _, section, name = ref.removeprefix("#/").split("/")
        assert name in document["components"][section], ref


def test_non_json_answers_name_their_content_types(document: dict[str, Any]) -> None:
    export = document["paths"]["/api/v1/audit/export"]["get"]["responses"]
    assets = document["paths"]["/api/v1/docs/assets/{name}"]["get"]["responses"]
    health = document["paths"]["/api/v1/health"]["get"]["responses"]

    assert set(export["200"]["content"]) == {"text/csv", "application/json"}
    assert "Location" in export["303"]["headers"]
    assert set(assets["200"]["content"]) == {"application/javascript", "text/css"}
    assert health["503"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/HealthOut"}
