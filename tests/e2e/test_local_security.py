"""What an attacker on the local cloud's port cannot do: forge the source address, or speak for the functions."""

from __future__ import annotations

import asyncio
import json
import uuid

import boto3
import psycopg
import pytest
import websockets

from tests.e2e.conftest import next_reply

pytestmark = pytest.mark.e2e


def test_x_forwarded_for_is_not_the_source_address(local_cloud):
    # GIVEN a failed login sent with a forged X-Forwarded-For
    email = f"nobody-{uuid.uuid4().hex[:8]}@example.org"
    answer = local_cloud.client.post(
        "/api/v1/auth/login",
        json={"email": email, "password": "not-the-password-at-all"},
        headers={"X-Forwarded-For": "203.0.113.7"},
    )
    assert answer.status_code == 401
    # THEN the audit trail (and so the per-address lockout) sees the connection's address, as API Gateway would
    with psycopg.connect(local_cloud.runtime["DATABASE_URL"]) as conn:
        (ip,) = conn.execute(
            "SELECT host(ip_address) FROM audit_logs WHERE action = 'auth.login_failed' ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    assert ip == "127.0.0.1"


def test_only_the_local_clouds_own_signature_opens_the_management_api(local_cloud):
    endpoint = local_cloud.base_url + "/live"
    stranger = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="AKIASTRANGER0000",
        aws_secret_access_key="a-key-this-cloud-never-issued",
    )
    ours = boto3.client(
        "apigatewaymanagementapi", endpoint_url=endpoint, region_name="us-east-1", **local_cloud.aws_credentials()
    )

    async def scenario():
        url = local_cloud.base_url.replace("http://", "ws://") + f"/ws?token={local_cloud.admin_token()}"
        async with websockets.connect(url) as socket:
            await socket.send(json.dumps({"action": "ping"}))
            connection_id = (await next_reply(socket))["data"]["connection_id"]
            # an anonymous POST and GET, and a request signed with another key, are refused
            anonymous_post = await asyncio.to_thread(
                local_cloud.client.post, f"/@connections/{connection_id}", content=b'{"event":"crisis:detected"}'
            )
            anonymous_get = await asyncio.to_thread(local_cloud.client.get, f"/@connections/{connection_id}")
            with pytest.raises(stranger.exceptions.ForbiddenException):
                await asyncio.to_thread(stranger.post_to_connection, ConnectionId=connection_id, Data=b"forged")
            # the cloud's own signature works, and it is the only frame the socket got
            await asyncio.to_thread(ours.post_to_connection, ConnectionId=connection_id, Data=b'{"event":"genuine"}')
            # (the cloud's own broadcasts, full envelopes, may arrive in between; the forged frames are not)
            received = [json.loads(await asyncio.wait_for(socket.recv(), 5))]
            while received[-1] != {"event": "genuine"}:
                assert "timestamp" in received[-1], received[-1]
                received.append(json.loads(await asyncio.wait_for(socket.recv(), 5)))
            return anonymous_post, anonymous_get, received[-1]

    anonymous_post, anonymous_get, received = asyncio.run(scenario())
    assert anonymous_post.status_code == 403 and anonymous_get.status_code == 403
    assert "sourceIp" not in anonymous_get.text
    assert received == {"event": "genuine"}
