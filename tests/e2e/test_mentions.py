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


def test_an_ingest_of_new_mentions_reaches_a_connected_dashboard_as_a_mention_stream(local_cloud):
    import datetime as dt

    import psycopg

    from warroom.mentions.sources.mock import MockSource

    token = local_cloud.admin_token()
    headers = {"Authorization": f"Bearer {token}"}
    assert local_cloud.client.put("/api/v1/settings/data-mode", json={"mode": "MOCK"}, headers=headers).is_success
    # GIVEN the hour of mock mentions just before the back-filled history: known mentions, not stored yet
    with psycopg.connect(local_cloud.runtime["DATABASE_URL"], autocommit=True) as conn:
        (oldest,) = conn.execute("SELECT min(published_at) FROM mentions WHERE provider = 'mock'").fetchone()
        before = {row[0] for row in conn.execute("SELECT external_id FROM mentions WHERE provider = 'mock'")}
        since = oldest.replace(second=0, microsecond=0) - dt.timedelta(hours=1)
        known = {m.external_id for m in MockSource().fetch(since, oldest, None).mentions}
        assert known and not known & before
        # ... and the mock source's cursor moved back so that the next sync starts there
        conn.execute(
            "UPDATE ingest_cursors SET cursor = %s WHERE provider = 'mock' AND project = 'default'",
            (json.dumps({"since": since.isoformat()}),),
        )

    async def scenario():
        url = local_cloud.base_url.replace("http://", "ws://") + f"/ws?token={token}"
        async with websockets.connect(url) as socket:
            await socket.send(json.dumps({"action": "ping"}))
            async with asyncio.timeout(10):
                while json.loads(await socket.recv())["event"] != "pong":
                    pass
            # WHEN an admin syncs the mock source now (the real pipeline: fetch -> ingest -> stream)
            synced = await asyncio.to_thread(
                local_cloud.client.post, "/api/v1/mentionlytics/sync", json={}, headers=headers
            )
            assert synced.status_code == 200, synced.text
            # THEN the dashboard receives the new mentions in one dashboard:mention-stream frame
            async with asyncio.timeout(15):
                while True:
                    frame = json.loads(await socket.recv())
                    if frame["event"] == "dashboard:mention-stream" and any(
                        m["external_id"] in known for m in frame["data"]
                    ):
                        return frame, synced.json()

    try:
        frame, synced = asyncio.run(scenario())
    except TimeoutError:
        raise AssertionError(local_cloud.log()) from None
    streamed = frame["data"]
    assert synced["provider"] == "mock" and synced["inserted"] >= len(known)
    with psycopg.connect(local_cloud.runtime["DATABASE_URL"]) as conn:
        after = {row[0] for row in conn.execute("SELECT external_id FROM mentions WHERE provider = 'mock'")}
    # only new mentions, newest first, at most 50 (all of the known ones when they fit)
    ids = [m["external_id"] for m in streamed]
    assert set(ids) <= after - before and known <= after
    assert 0 < len(streamed) <= 50 and (known <= set(ids) or len(streamed) == 50)
    assert [m["published_at"] for m in streamed] == sorted((m["published_at"] for m in streamed), reverse=True)
    # in the seed's Mention shape: each item is what GET /mentionlytics/mentions/{id} answers for it
    newest = streamed[0]
    served = local_cloud.client.get(f"/api/v1/mentionlytics/mentions/{newest['id']}", headers=headers)
    assert served.status_code == 200 and set(newest) == set(served.json())
    for key in ("id", "external_id", "source", "content", "author", "location", "sentiment_score", "topics"):
        assert newest[key] == served.json()[key], key
