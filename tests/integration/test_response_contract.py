"""The declared response model is the contract: every answer is validated and serialised through it.

A probe app declares routes the way the functions do and is called with real API Gateway events.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice import Response
from pydantic import BaseModel

from localcloud.gateway import build_proxy_event
from localcloud.template import ApiRoute
from warroom.core.http import WarRoomApp
from warroom.core.pagination import Page

GENERIC_500 = {"error": {"code": "internal_error", "message": "An internal error occurred.", "details": None}}


class UserOut(BaseModel):
    id: str
    email: str


class SomeoneElse(BaseModel):
    id: str
    email: str
    password_hash: str


answers: dict[str, Any] = {}
probe = WarRoomApp("contract-probe")


@probe.endpoint("GET", "/probe/user", role=None, response=UserOut)
def get_user() -> Any:
    return answers["user"]


@probe.endpoint("GET", "/probe/users", role=None, response=Page[UserOut])
def list_users() -> Any:
    return answers["users"]


@probe.endpoint("DELETE", "/probe/user", role=None, status_code=204)
def delete_user() -> Any:
    return answers["deleted"]


@probe.endpoint("GET", "/probe/page", role=None, content_type="text/html")
def page() -> Any:
    return answers["page"]


def _call(method: str, path: str) -> tuple[int, dict[str, str], Any]:
    event = build_proxy_event(method, path, b"", [], b"", ApiRoute("Probe", method, path), {}, "198.51.100.7", "x")
    result = probe(event, None)
    body = result["body"]
    is_json = result["headers"].get("Content-Type") == "application/json"
    return result["statusCode"], result["headers"], json.loads(body) if body and is_json else body


@pytest.mark.parametrize(
    "answer",
    [
        {"id": "u1", "email": "ana@example.org", "internal_note": "dropped"},
        UserOut(id="u1", email="ana@example.org"),
        SomeoneElse(id="u1", email="ana@example.org", password_hash="$2b$12$secret"),
    ],
    ids=["dict with an extra key", "the declared model", "another model"],
)
def test_an_answer_that_fits_is_sent_as_the_declared_model_shapes_it(services, answer: Any) -> None:
    # GIVEN a view answering a dict, the declared model or another model with more fields
    answers["user"] = answer

    # WHEN it is called
    status, headers, body = _call("GET", "/probe/user")

    # THEN the answer has exactly the declared fields: nothing else leaks
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert body == {"id": "u1", "email": "ana@example.org"}


def test_a_page_of_anything_is_validated_as_the_declared_page(services) -> None:
    # GIVEN a list function's Page[Any] of dicts and models
    answers["users"] = Page[Any](
        items=[{"id": "u1", "email": "a@example.org", "extra": 1}, UserOut(id="u2", email="b@example.org")],
        next_cursor="c2",
    )

    status, _, body = _call("GET", "/probe/users")

    assert status == 200
    assert body == {
        "items": [{"id": "u1", "email": "a@example.org"}, {"id": "u2", "email": "b@example.org"}],
        "next_cursor": "c2",
    }


@pytest.mark.parametrize(
    "route, key, answer",
    [
        ("/probe/user", "user", {"id": "u1"}),
        ("/probe/user", "user", {"id": "u1", "email": ["not", "a", "string"]}),
        ("/probe/user", "user", None),
        ("/probe/users", "users", Page[Any](items=[{"id": "u1", "email": None}])),
        ("/probe/users", "users", [{"id": "u1", "email": "a@example.org"}]),
    ],
    ids=["missing field", "wrong type", "nothing", "bad item in a page", "a bare list"],
)
def test_an_off_schema_answer_is_logged_and_becomes_the_generic_500(services, caplog, route, key, answer) -> None:
    # GIVEN a view whose answer does not fit its declared model (a server bug)
    answers[key] = answer

    # WHEN it is called
    status, _, body = _call("GET", route)

    # THEN the client gets the generic 500, never the off-schema body
    assert status == 500
    assert body == GENERIC_500
    # AND the log names the route and the failing fields, not their values
    logged = caplog.text
    assert "answered off its response model" in logged and route in logged
    assert "not" not in json.dumps(body)


def test_a_204_route_that_answers_a_body_is_a_500(services, caplog) -> None:
    answers["deleted"] = {"deleted": True}

    status, _, body = _call("DELETE", "/probe/user")

    assert (status, body) == (500, GENERIC_500)
    assert "answered off its declaration" in caplog.text


def test_a_204_route_answers_no_body(services) -> None:
    answers["deleted"] = None

    status, _, body = _call("DELETE", "/probe/user")

    assert (status, body) == (204, "")


def test_responses_pass_untouched(services) -> None:
    # GIVEN a view that builds its own answer (a page, a file, a redirect)
    answers["page"] = Response(body="<p>hi</p>", status_code=200, headers={"Content-Type": "text/html"})
    answers["user"] = Response(body="", status_code=303, headers={"Location": "https://example.org/export.csv"})

    page_status, page_headers, page_body = _call("GET", "/probe/page")
    redirect_status, redirect_headers, _ = _call("GET", "/probe/user")

    assert (page_status, page_headers["Content-Type"], page_body) == (200, "text/html", "<p>hi</p>")
    assert (redirect_status, redirect_headers["Location"]) == (303, "https://example.org/export.csv")


def test_a_nul_character_in_a_query_or_a_body_is_a_422_not_a_database_error(invoke, token_for) -> None:
    # GIVEN text with a NUL character, which no PostgreSQL text column can hold
    manager = token_for("manager")

    # WHEN it is sent as a filter and as a field
    listed = invoke("AuditFunction", "audit_list", token=manager, query={"action": ["user\x00create"]})
    created = invoke("AlertsFunction", "alerts_create", token=manager, body={"title": "Leak\x00ed", "severity": 5})

    # THEN both are 422 naming the field, as any invalid field is
    assert (listed.status, listed.error_code) == (422, "validation_error")
    assert listed.body["error"]["details"] == [
        {"loc": ["query", "action"], "msg": "must not contain NUL characters", "type": "nul_character"}
    ]
    assert (created.status, created.body["error"]["details"][0]["loc"]) == (422, ["body", "title"])
