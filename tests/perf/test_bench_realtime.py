"""Realtime benchmarks (``make bench``), each against a baseline measured in the same run.

1. Broadcast fan-out to 1,000 WebSocket connections of ``warroom dev`` (messages per second), through the
   real path: an admin's HTTP data-mode change -> broadcast -> fan-out queue -> fan-out function ->
   Management API -> sockets. Baseline: the same 1,000 posts made one after another from a single thread.
2. Latency from the HTTP data-mode change to its receipt on a socket (p50 / p95), against the latency of a
   plain authenticated GET of the data mode.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time

import boto3
import httpx
import websockets

from tests.e2e.conftest import start_local_cloud

CONNECTIONS = 1000
ROUNDS = 40


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _receive(socket, event: str) -> float:
    while True:
        frame = json.loads(await socket.recv())
        if frame["event"] == event:
            return time.perf_counter()


def test_broadcast_fan_out_to_1000_connections(tmp_path):
    cloud = start_local_cloud(tmp_path / "fanout", "--no-reload", "--schedules", "off")
    token = cloud.admin_token()
    ws_url = cloud.base_url.replace("http://", "ws://") + f"/ws?token={token}"
    headers = {"Authorization": f"Bearer {token}"}

    async def scenario() -> tuple[float, float]:
        sockets = []
        for start in range(0, CONNECTIONS, 100):
            sockets += await asyncio.gather(
                *(websockets.connect(ws_url, max_queue=None) for _ in range(start, min(CONNECTIONS, start + 100)))
            )
        try:
            async with httpx.AsyncClient(base_url=cloud.base_url, timeout=60) as http:
                # The first broadcast warms the fan-out function (its cold start); the second is measured.
                for mode in ("LIVE", "MOCK"):
                    started = time.perf_counter()
                    waiting = [asyncio.create_task(_receive(s, "system:data-mode-change")) for s in sockets]
                    answer = await http.put("/api/v1/settings/data-mode", json={"mode": mode}, headers=headers)
                    assert answer.status_code == 200
                    put_ms = (time.perf_counter() - started) * 1000
                    arrivals = await asyncio.wait_for(asyncio.gather(*waiting), 120)
                fanout_s = max(arrivals) - started
                print(
                    f"\nPUT answered in {put_ms:.0f} ms; first socket reached after "
                    f"{(min(arrivals) - started) * 1000:.0f} ms"
                )
            # Baseline: the same number of posts, one after another, from one thread.
            await sockets[0].send(json.dumps({"action": "ping"}))
            connection_id = json.loads(await sockets[0].recv())["data"]["connection_id"]
            client = boto3.client(
                "apigatewaymanagementapi",
                endpoint_url=cloud.base_url + "/live",
                region_name="us-east-1",
                aws_access_key_id="x",
                aws_secret_access_key="x",
            )
            reader = asyncio.create_task(_drain(sockets[0], CONNECTIONS))
            started = time.perf_counter()
            await asyncio.to_thread(_post_sequentially, client, connection_id, CONNECTIONS)
            await asyncio.wait_for(reader, 120)
            sequential_s = time.perf_counter() - started
            return fanout_s, sequential_s
        finally:
            await asyncio.gather(*(s.close() for s in sockets))

    try:
        fanout_s, sequential_s = asyncio.run(scenario())
    finally:
        cloud.stop()
    print(f"\nbroadcast to {CONNECTIONS} sockets: {fanout_s * 1000:.0f} ms, {CONNECTIONS / fanout_s:,.0f} messages/s")
    print(
        f"baseline, {CONNECTIONS} posts in sequence from one thread: {sequential_s * 1000:.0f} ms, "
        f"{CONNECTIONS / sequential_s:,.0f} messages/s"
    )
    print(f"ratio fan-out / sequential throughput: {sequential_s / fanout_s:.2f}x")
    assert fanout_s > 0


async def _drain(socket, count: int) -> None:
    for _ in range(count):
        await socket.recv()


def _post_sequentially(client, connection_id: str, count: int) -> None:
    for index in range(count):
        client.post_to_connection(ConnectionId=connection_id, Data=json.dumps({"event": "bench", "n": index}).encode())


def test_latency_from_http_change_to_socket(tmp_path):
    cloud = start_local_cloud(tmp_path / "latency", "--no-reload", "--schedules", "off")
    token = cloud.admin_token()
    headers = {"Authorization": f"Bearer {token}"}

    async def scenario() -> tuple[list[float], list[float]]:
        push, plain = [], []
        async with (
            websockets.connect(cloud.base_url.replace("http://", "ws://") + f"/ws?token={token}") as socket,
            httpx.AsyncClient(base_url=cloud.base_url) as http,
        ):
            for index in range(ROUNDS):
                mode = "LIVE" if index % 2 == 0 else "MOCK"
                started = time.perf_counter()
                waiting = asyncio.create_task(_receive(socket, "system:data-mode-change"))
                await http.put("/api/v1/settings/data-mode", json={"mode": mode}, headers=headers)
                push.append(await asyncio.wait_for(waiting, 10) - started)
                started = time.perf_counter()
                await http.get("/api/v1/settings/data-mode", headers=headers)
                plain.append(time.perf_counter() - started)
        return push, plain

    try:
        push, plain = asyncio.run(scenario())
    finally:
        cloud.stop()
    print(
        f"\nHTTP data-mode change -> socket receipt over {ROUNDS} rounds: p50 {statistics.median(push) * 1000:.1f} ms, "
        f"p95 {_percentile(push, 0.95) * 1000:.1f} ms"
    )
    print(
        f"baseline GET /settings/data-mode: p50 {statistics.median(plain) * 1000:.1f} ms, "
        f"p95 {_percentile(plain, 0.95) * 1000:.1f} ms"
    )
    print(f"ratio p50 push / plain GET: {statistics.median(push) / statistics.median(plain):.2f}x")
    assert push
