"""Pure units of the layer core: tokens, roles, cursors, error shape."""

from __future__ import annotations

import datetime as dt

import jwt
import pytest

from warroom.core.config import reset_settings
from warroom.core.errors import (
    DependencyUnavailable,
    Forbidden,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
    to_error_body,
)
from warroom.core.pagination import Keyset, PageQuery, SeqPosition, TimeIdPosition
from warroom.core.security import (
    ROLES,
    authenticate,
    decode_access_token,
    issue_access_token,
    require,
    role_at_least,
)

KEY = "k" * 48


@pytest.fixture(autouse=True)
def signing_key(monkeypatch):
    monkeypatch.setenv("JWT_SECRET", KEY)
    reset_settings()
    yield
    reset_settings()


def test_access_token_carries_the_required_claims_and_lives_15_minutes():
    # GIVEN a token issued now
    now = dt.datetime.now(dt.UTC)
    token = issue_access_token("user-1", "manager", now=now)
    # THEN its claims are the contract's and it is pinned to HS256
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, KEY, algorithms=["HS256"], audience="warroom-api")
    assert {"iss", "aud", "sub", "role", "jti", "iat", "exp"} <= set(claims)
    assert claims["exp"] - claims["iat"] == pytest.approx(900, abs=1)
    principal = decode_access_token(token)
    assert (principal.user_id, principal.role) == ("user-1", "manager")


def test_every_token_has_its_own_jti():
    assert (
        decode_access_token(issue_access_token("u", "user")).token_id
        != decode_access_token(issue_access_token("u", "user")).token_id
    )


def test_a_missing_or_short_signing_key_refuses_to_issue(monkeypatch):
    monkeypatch.setenv("JWT_SECRET", "short")
    reset_settings()
    with pytest.raises(DependencyUnavailable):
        issue_access_token("u", "user")


def test_roles_are_ordered():
    assert ROLES == ("readonly", "user", "manager", "admin")
    assert role_at_least("admin", "readonly")
    assert role_at_least("user", "user")
    assert not role_at_least("user", "manager")
    assert not role_at_least("root", "readonly")


def test_require_passes_strong_enough_roles_and_refuses_weaker_ones():
    manager = decode_access_token(issue_access_token("u", "manager"))
    assert require(manager, "user") is manager
    with pytest.raises(Forbidden) as refused:
        require(manager, "admin")
    assert refused.value.status_code == 403


@pytest.mark.parametrize(
    "header", [{}, {"authorization": ""}, {"authorization": "Token abc"}, {"authorization": "Bearer "}]
)
def test_authenticate_refuses_missing_or_malformed_headers(header):
    with pytest.raises(Unauthorized):
        authenticate(header)


def test_error_shape_and_retry_after():
    error = TooManyRequests(retry_after_s=30)
    assert to_error_body(error) == {"error": {"code": "rate_limited", "message": error.message, "details": None}}
    assert error.headers["Retry-After"] == "30"
    assert DependencyUnavailable("database").headers["Retry-After"] == "5"


def test_cursor_round_trip_and_rejects_garbage():
    users = Keyset("users", TimeIdPosition)
    position = TimeIdPosition(t=dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC), id="5f0c1e9e-0000-4000-8000-000000000001")
    assert users.decode(users.encode(position)) == position
    assert users.decode(None) is None
    foreign = Keyset("keys", TimeIdPosition).encode(position)
    for garbage in ("not base64 !!", "bm90IGpzb24", "bm90IGpzb24.AAAA", foreign, users.encode(position)[:-2] + "AA"):
        with pytest.raises(ValidationFailed) as raised:
            users.decode(garbage)
        assert raised.value.code == "invalid_cursor" and raised.value.details[0]["loc"] == ["query", "cursor"]


def test_page_uses_the_extra_row_only_to_say_there_is_more():
    by_seq = Keyset("entries", SeqPosition)
    rows = [{"seq": i} for i in range(4)]
    page = by_seq.page(rows, 3, lambda row: SeqPosition(seq=row["seq"]))
    assert [r["seq"] for r in page.items] == [0, 1, 2]
    assert by_seq.decode(page.next_cursor) == SeqPosition(seq=2)
    assert by_seq.page(rows[:2], 3, lambda row: SeqPosition(seq=row["seq"])).next_cursor is None
    assert page.map(lambda row: row["seq"] * 10).items == [0, 10, 20]


@pytest.mark.parametrize("limit", [0, -1, 201])
def test_page_limit_is_bounded(limit):
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        PageQuery(limit=limit)
    assert PageQuery().limit == 50
