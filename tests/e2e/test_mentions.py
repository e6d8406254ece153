"""Social listening in ``warroom dev`` (MOCK): the back-filled history is served and KPIs reach a socket."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest
import websockets

from tests.conftest import PROJECT_ROOT
from tests.e2e.conftest import _BACKING_VARIABLES

pytestmark = pytest.mark.e2e


def _trigger(local_cloud, function: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in _BACKING_VARIABLES}
    return subprocess.run(
        [sys.executable, "-m", "localcloud.cli", "trigger", function, "--state-dir", str(local_cloud.state_dir)],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=90,
    )


def test_history_is_served_and_a_kpi_update_reaches_a_connected_dashboard(local_cloud):
    token = local_cloud.admin_token()
    headers = {"Authorization": f"Bearer {token}"}

    # GIVEN the cloud's first start back-filled mock history
    listed = local_cloud.client.get("/api/v1/mentionlytics/mentions", params={"limit": 5}, headers=headers)
    assert listed.status_code == 200, listed.text
    assert len(listed.json()["items"]) == 5 and listed.json()["next_cursor"]
    assert listed.json()["items"][0]["provider"] == "mock"
    daily = local_cloud.client.get("/api/v1/mentionlytics/sentiment", params={"interval": "day"}, headers=headers)
    assert sum(point["mentions"] for point in daily.json()["series"]) > 1000

    async def scenario():
        url = local_cloud.base_url.replace("http://", "ws://") + f"/ws?token={token}"
        async with websockets.connect(url) as socket:
            await socket.send(json.dumps({"action": "ping"}))
            async with asyncio.timeout(10):
                while json.loads(await socket.recv())["event"] != "pong":
                    pass
            # WHEN the KPI refresh schedule fires
            fired = await asyncio.to_thread(_trigger, local_cloud, "KpiRefreshFunction")
            assert fired.returncode == 0, fired.stderr
            # THEN the dashboard receives the new KPIs
            async with asyncio.timeout(10):
                while True:
                    frame = json.loads(await socket.recv())
                    if frame["event"] == "dashboard:kpi-update":
                        return frame, json.loads(fired.stdout)

    frame, result = asyncio.run(scenario())
    assert frame["data"]["mentions_24h"] == result["mentions_24h"] > 0
    # AND the dashboard route answers the KPIs too (from the cache the refresh filled, or recomputed)
    dashboard = local_cloud.client.get("/api/v1/metrics/dashboard", headers=headers)
    assert dashboard.status_code == 200 and set(dashboard.json()) == set(result)
