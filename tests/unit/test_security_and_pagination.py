"""Pure units of the layer core: tokens, roles, cursors, error shape."""

from __future__ import annotations

import datetime as dt

import jwt
import pytest

from warroom.auth.guard import authenticate_request
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
    decode_access_token,
    issue_access_token,
    require,
    role_at_least,
    verify_access_token_claims,
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
        authenticate_request(header)


def test_a_route_with_a_role_needs_an_app_with_an_authenticator():
    from pydantic import BaseModel

    from warroom.core.http import WarRoomApp

    class Out(BaseModel):
        ok: bool

    # GIVEN an app without an authenticator THEN public routes are fine and a route with a role fails at declaration
    anonymous = WarRoomApp("no-auth")
    anonymous.endpoint("GET", "/public", role=None, response=Out)(lambda: {"ok": True})
    with pytest.raises(TypeError, match="authenticate="):
        anonymous.endpoint("GET", "/private", role="readonly", response=Out)
    WarRoomApp("auth", authenticate=authenticate_request).endpoint("GET", "/private", role="readonly", response=Out)


def test_a_remembered_token_still_expires_and_dies_with_its_signing_key(monkeypatch):
    import math
    import time

    # GIVEN a token whose 5 s leeway ends at the next whole second (exp is a whole second), accepted once
    # (no Redis in unit tests: nothing else is checked), and another token
    if time.time() % 1 > 0.7:
        time.sleep(1 - time.time() % 1 + 0.01)
    leeway_ends = math.floor(time.time()) + 1
    issued = dt.datetime.fromtimestamp(leeway_ends - 6, dt.UTC)
    almost = issue_access_token("u", "user", ttl_s=1, now=issued)
    other = issue_access_token("v", "user")
    assert authenticate_request({"authorization": f"Bearer {almost}"}).principal.user_id == "u"
    assert authenticate_request({"authorization": f"Bearer {other}"}).principal.user_id == "v"
    # WHEN its time passes, and when the signing key changes
    time.sleep(max(0.0, leeway_ends - time.time()) + 0.05)
    with pytest.raises(Unauthorized) as expired:
        authenticate_request({"authorization": f"Bearer {almost}"})
    monkeypatch.setenv("JWT_SECRET", "another key of at least thirty-two characters")
    reset_settings()
    # THEN each is refused, though both verified before
    with pytest.raises(Unauthorized) as foreign:
        authenticate_request({"authorization": f"Bearer {other}"})
    assert expired.value.details["reason"] == "token_expired"
    assert foreign.value.details["reason"] == "token_invalid"


def _forged(claims: dict, *, key: str = KEY, algorithm: str = "HS256", headers: dict | None = None) -> str:
    now = dt.datetime.now(dt.UTC)
    base = {
        "iss": "warroom",
        "aud": "warroom-api",
        "sub": "u",
        "role": "user",
        "jti": "j",
        "iat": now.timestamp(),
        "exp": now + dt.timedelta(minutes=5),
    }
    return jwt.encode({k: v for k, v in {**base, **claims}.items() if v is not None}, key, algorithm, headers=headers)


def _reason(token: str) -> str:
    with pytest.raises(Unauthorized) as refused:
        decode_access_token(token)
    return refused.value.details["reason"]


@pytest.mark.parametrize(
    "token",
    [
        _forged({}, key="another key of at least thirty-two chars"),  # not our signature
        _forged({}, algorithm="HS384"),  # our key, another algorithm: pinned to HS256
        _forged({}, headers={"crit": ["exp"]}),  # an extension we do not implement
        _forged({"aud": "someone-else"}),
        _forged({"aud": ["other", "another"]}),
        _forged({"iss": "elsewhere"}),
        _forged({"role": "root"}),
        _forged({"role": None}),
        _forged({"jti": None}),
        _forged({"sub": 42}),
        _forged({"iat": "yesterday"}),
        _forged({"iat": dt.datetime.now(dt.UTC).timestamp() + 3600}),  # issued in the future
        _forged({"nbf": dt.datetime.now(dt.UTC).timestamp() + 3600}),  # not valid yet
        "not.a.token",
        "only-one-part",
        "a.b.c.d",
    ],
)
def test_forged_or_foreign_tokens_are_invalid(token):
    assert _reason(token) == "token_invalid"


def test_alg_none_and_tampered_tokens_are_invalid():
    # GIVEN a valid token
    header, payload, signature = issue_access_token("u", "user").split(".")
    unsigned = jwt.encode({"sub": "u", "role": "admin"}, None, algorithm="none")
    admin_claims = jwt.utils.base64url_encode(b'{"sub":"u","role":"admin"}').decode()
    # WHEN its signature is dropped, its payload replaced, or junk padded on THEN each is invalid
    for token in (
        unsigned,
        f"{header}.{payload}.",
        f"{header}.{admin_claims}.{signature}",
        f"{header}.{payload}.{signature}==",
    ):
        assert _reason(token) == "token_invalid"
    assert _reason(f"{header}.{payload}.{signature[:-2]}!!") == "token_invalid"


def test_an_expired_token_says_so_after_the_leeway():
    # GIVEN tokens that expired 3 s ago (inside the 5 s leeway) and 10 s ago
    now = dt.datetime.now(dt.UTC)
    recent = issue_access_token("u", "user", ttl_s=60, now=now - dt.timedelta(seconds=63))
    old = issue_access_token("u", "user", ttl_s=60, now=now - dt.timedelta(seconds=70))
    # THEN the first still passes, the second is token_expired
    assert decode_access_token(recent).user_id == "u"
    assert _reason(old) == "token_expired"


def test_the_verifier_agrees_with_pyjwt_on_a_valid_token():
    # GIVEN a token with a session, and an audience list that includes ours
    token = issue_access_token("user-7", "admin", session_id="s-1")
    listed = _forged({"aud": ["other", "warroom-api"]})
    # THEN the claims are exactly what PyJWT reads
    assert verify_access_token_claims(token) == jwt.decode(token, KEY, algorithms=["HS256"], audience="warroom-api")
    assert decode_access_token(token).session_id == "s-1"
    assert decode_access_token(listed).user_id == "u"


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
