"""Signing in over HTTP through ``warroom dev``: login, refresh rotation with reuse detection, logout, emails."""

from __future__ import annotations

import asyncio
import json
import re
import urllib.request

import httpx
import pytest
import websockets

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, next_event

pytestmark = pytest.mark.e2e


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_login_refresh_reuse_and_logout_over_http(local_cloud):
    http = local_cloud.client
    # GIVEN the seeded admin logs in
    login = http.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert login.status_code == 200, login.text
    first = login.json()
    assert first["token_type"] == "bearer" and first["user"]["role"] == "admin"
    # WHEN they read their account and refresh twice
    me = http.get("/api/v1/auth/me", headers=_bearer(first["access_token"]))
    assert me.status_code == 200 and me.json()["email"] == ADMIN_EMAIL
    second = http.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}).json()
    third = http.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}).json()
    assert http.get("/api/v1/auth/me", headers=_bearer(third["access_token"])).status_code == 200
    # AND the first refresh token is replayed
    replay = http.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    # THEN the replay is refused and the whole family with it: the newest refresh and access tokens too
    assert replay.status_code == 401
    assert replay.json()["error"]["details"] == {"reason": "refresh_token_reused"}
    assert http.post("/api/v1/auth/refresh", json={"refresh_token": third["refresh_token"]}).status_code == 401
    assert http.get("/api/v1/auth/me", headers=_bearer(third["access_token"])).status_code == 401

    # GIVEN a new login, watched by an admin's dashboard
    async def sign_in_and_out() -> tuple[dict, dict, dict]:
        url = local_cloud.base_url.replace("http://", "ws://") + f"/ws?token={local_cloud.admin_token()}"
        async with websockets.connect(url) as dashboard, httpx.AsyncClient(base_url=local_cloud.base_url) as client:
            answer = await client.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
            fresh = answer.json()
            logged_in = await next_event(dashboard, "user:login")
            # WHEN they log out
            logout = await client.post("/api/v1/auth/logout", headers=_bearer(fresh["access_token"]))
            assert logout.status_code == 204
            logged_out = await next_event(dashboard, "user:logout")
            return fresh, logged_in, logged_out

    try:
        fresh, logged_in, logged_out = asyncio.run(sign_in_and_out())
    except TimeoutError:
        raise AssertionError(local_cloud.log()) from None
    # THEN the dashboard saw both, and the access and refresh tokens are refused afterwards
    assert logged_in["data"]["user_id"] == fresh["user"]["id"]
    assert logged_out["data"]["user_id"] == fresh["user"]["id"]
    assert http.get("/api/v1/auth/me", headers=_bearer(fresh["access_token"])).status_code == 401
    assert http.post("/api/v1/auth/refresh", json={"refresh_token": fresh["refresh_token"]}).status_code == 401


def test_registration_email_is_sent_and_its_link_logged_for_the_developer(local_cloud):
    http = local_cloud.client
    email = "e2e.volunteer@campaign.example.org"
    # GIVEN an admin opened sign-up (it is closed by default)
    opened = http.put(
        "/api/v1/settings/registration_open",
        json={"value": True},
        headers={"Authorization": f"Bearer {local_cloud.admin_token()}"},
    )
    assert opened.status_code == 200, opened.text
    # WHEN someone registers through warroom dev
    answer = http.post(
        "/api/v1/auth/register", json={"email": email, "password": "quartz lantern meadow orbit", "full_name": "Vol"}
    )
    assert answer.status_code == 201, answer.text
    # THEN the emulator's SES accepted the message (warroom dev verified the sender)
    with urllib.request.urlopen(f"{local_cloud.runtime['AWS_ENDPOINT_URL']}/moto-api/data.json", timeout=10) as r:
        messages = [m for m in json.loads(r.read())["ses"]["Message"] if email in m["destinations"]["ToAddresses"]]
    assert len(messages) == 1
    # AND the link is in warroom dev's log, and its token verifies the address
    found = re.search(rf"email to {re.escape(email)}: .*?/verify-email\?token=([A-Za-z0-9_\-]+)", local_cloud.log())
    assert found, local_cloud.log()[-3000:]
    verified = http.post("/api/v1/auth/email/verify", json={"token": found.group(1)})
    assert verified.status_code == 200 and verified.json()["email_verified"] is True
