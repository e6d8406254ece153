"""A dashboard socket lives no longer than its user's access: logout, a role change, deactivation, a revoked
key and an expired token each end it, through ``warroom dev``'s real WebSocket and Management API."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
import websockets

from tests.e2e.conftest import next_reply

pytestmark = pytest.mark.e2e
PASSWORD = "harbour-violet-crayon-ninety"


def _ws(local_cloud, **query: str) -> str:
    params = "&".join(f"{k}={v}" for k, v in query.items())
    return local_cloud.base_url.replace("http://", "ws://") + f"/ws?{params}"


def _admin(local_cloud) -> dict[str, str]:
    return {"Authorization": f"Bearer {local_cloud.admin_token()}"}


def _new_user(local_cloud, role: str = "manager") -> tuple[str, str]:
    email = f"watch-{uuid.uuid4().hex[:8]}@campaign.org"
    created = local_cloud.client.post(
        "/api/v1/admin/users", headers=_admin(local_cloud), json={"email": email, "password": PASSWORD, "role": role}
    )
    assert created.status_code == 201, created.text
    return created.json()["id"], email


def _login(local_cloud, email: str) -> str:
    answer = local_cloud.client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


async def _closed_after(url: str, action) -> bool:
    """Open a socket, ping it, run ``action`` (a blocking call) and say whether the server then closed it."""
    async with websockets.connect(url) as socket:
        await socket.send(json.dumps({"action": "ping"}))
        assert (await next_reply(socket))["event"] == "pong"
        await asyncio.to_thread(action)
        try:
            await asyncio.wait_for(socket.wait_closed(), 10)  # a deadline for a failure, not a synchronisation
        except TimeoutError:
            return False
        return True


@pytest.mark.parametrize("ending", ["logout", "logout_all", "role_change", "deactivation", "session_revoked"])
def test_the_socket_closes_when_its_users_access_ends(local_cloud, ending):
    user_id, email = _new_user(local_cloud)
    token = _login(local_cloud, email)
    bearer = {"Authorization": f"Bearer {token}"}
    client = local_cloud.client

    def end_access() -> None:
        if ending == "logout":
            assert client.post("/api/v1/auth/logout", headers=bearer).status_code == 204
        elif ending == "logout_all":
            assert client.post("/api/v1/auth/logout-all", headers=bearer).status_code == 204
        elif ending == "role_change":
            changed = client.patch(
                f"/api/v1/admin/users/{user_id}", headers=_admin(local_cloud), json={"role": "readonly"}
            )
            assert changed.status_code == 200, changed.text
        elif ending == "deactivation":
            assert client.delete(f"/api/v1/admin/users/{user_id}", headers=_admin(local_cloud)).status_code == 204
        else:  # the user revokes this session from another device
            other = {"Authorization": f"Bearer {_login(local_cloud, email)}"}
            sessions = client.get("/api/v1/auth/sessions", headers=other).json()["items"]
            this = next(s["id"] for s in sessions if not s["current"])
            assert client.delete(f"/api/v1/auth/sessions/{this}", headers=other).status_code == 204

    assert asyncio.run(_closed_after(_ws(local_cloud, token=token), end_access)), ending

    # AND the old token opens no new socket
    async def reconnect() -> int:
        try:
            async with websockets.connect(_ws(local_cloud, token=token)):
                return 101
        except websockets.InvalidStatus as refused:
            return refused.response.status_code

    assert asyncio.run(reconnect()) == 401


def test_a_revoked_keys_socket_closes(local_cloud):
    admin = _admin(local_cloud)
    key = local_cloud.client.post("/api/v1/admin/api-keys", headers=admin, json={"name": "wall", "role": "readonly"})
    assert key.status_code == 201, key.text

    def revoke() -> None:
        assert local_cloud.client.delete(f"/api/v1/admin/api-keys/{key.json()['id']}", headers=admin).status_code == 204

    assert asyncio.run(_closed_after(_ws(local_cloud, api_key=key.json()["key"]), revoke))


def test_an_auth_frame_renews_the_socket_and_another_users_token_is_refused(local_cloud):
    _, email = _new_user(local_cloud, role="user")
    _, other_email = _new_user(local_cloud, role="user")

    async def scenario():
        async with websockets.connect(_ws(local_cloud, token=_login(local_cloud, email))) as socket:
            await socket.send(json.dumps({"action": "auth", "token": _login(local_cloud, email)}))
            renewed = await next_reply(socket)
            await socket.send(json.dumps({"action": "auth", "token": _login(local_cloud, other_email)}))
            foreign = await next_reply(socket)
            await socket.send(json.dumps({"action": "auth", "token": "not-a-token"}))
            bad = await next_reply(socket)
            return renewed, foreign, bad

    renewed, foreign, bad = asyncio.run(scenario())
    assert renewed["event"] == "authenticated" and renewed["data"]["role"] == "user"
    assert foreign["event"] == "error" and foreign["data"]["code"] == "forbidden"
    assert bad["event"] == "error" and bad["data"]["code"] == "unauthorized"
