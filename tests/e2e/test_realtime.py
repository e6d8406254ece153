"""The WebSocket API of ``warroom dev``: connect with a token, ping, and receive broadcasts."""

from __future__ import annotations

import asyncio
import json

import boto3
import httpx
import pytest
import websockets

from tests.e2e.conftest import next_event

pytestmark = pytest.mark.e2e


def _ws_url(local_cloud, token: str) -> str:
    return local_cloud.base_url.replace("http://", "ws://") + f"/ws?token={token}"


def test_a_bad_token_never_opens_a_socket(local_cloud):
    async def attempt():
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(_ws_url(local_cloud, "not-a-token")):
                pass
        return refused.value.response.status_code

    assert asyncio.run(attempt()) == 401


def test_ping_pong_and_data_mode_change_reaches_every_client(local_cloud):
    admin = local_cloud.admin_token()

    async def scenario():
        async with (
            websockets.connect(_ws_url(local_cloud, admin)) as first,
            websockets.connect(_ws_url(local_cloud, admin)) as second,
        ):
            # GIVEN two connected dashboards that ping
            await first.send(json.dumps({"action": "ping"}))
            pong = await next_event(first, "pong")
            # WHEN an admin changes the data mode over HTTP
            async with httpx.AsyncClient(base_url=local_cloud.base_url) as http:
                changed = await http.put(
                    "/api/v1/settings/data-mode", json={"mode": "LIVE"}, headers={"Authorization": f"Bearer {admin}"}
                )
                assert changed.status_code == 200
                received = [await next_event(s, "system:data-mode-change") for s in (first, second)]
                await http.put(
                    "/api/v1/settings/data-mode", json={"mode": "MOCK"}, headers={"Authorization": f"Bearer {admin}"}
                )
            return pong, received

    try:
        pong, received = asyncio.run(scenario())
    except TimeoutError:
        raise AssertionError(local_cloud.log()) from None
    # THEN the pong came back and both clients got the new mode in the one envelope
    assert pong["data"]["connection_id"]
    for frame in received:
        assert frame["data"]["mode"] == "LIVE"
        assert set(frame) == {"event", "data", "timestamp"}


def test_a_malformed_frame_gets_an_error_and_the_socket_stays_open(local_cloud):
    async def scenario():
        async with websockets.connect(_ws_url(local_cloud, local_cloud.admin_token())) as socket:
            await socket.send("{{{")
            error = await next_event(socket, "error")
            await socket.send(json.dumps({"action": "ping"}))
            return error, await next_event(socket, "pong")

    error, pong = asyncio.run(scenario())
    assert error["data"]["code"] == "bad_request"
    assert pong["event"] == "pong"


def test_management_api_speaks_to_boto3_and_gone_connections_are_cleaned_up(local_cloud):
    endpoint = local_cloud.base_url + "/live"
    client = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=endpoint,
        region_name="us-east-1",
        **local_cloud.aws_credentials(),
    )

    async def scenario():
        async with websockets.connect(_ws_url(local_cloud, local_cloud.admin_token())) as socket:
            await socket.send(json.dumps({"action": "ping"}))
            connection_id = (await next_event(socket, "pong"))["data"]["connection_id"]
            info = await asyncio.to_thread(client.get_connection, ConnectionId=connection_id)
            await asyncio.to_thread(client.post_to_connection, ConnectionId=connection_id, Data=b'{"event":"hello"}')
            hello = await next_event(socket, "hello")
            await asyncio.to_thread(client.delete_connection, ConnectionId=connection_id)
            await asyncio.wait_for(socket.wait_closed(), 5)
            return info, hello, connection_id

    info, hello, connection_id = asyncio.run(scenario())
    assert info["Identity"]["SourceIp"] == "127.0.0.1"
    assert hello == {"event": "hello"}
    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId=connection_id, Data=b"x")
