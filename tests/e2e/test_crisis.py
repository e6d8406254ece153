"""The whole crisis chain in ``warroom dev`` (MOCK): a simulated crisis reaches a connected dashboard as
``crisis:detected``, is listed, acknowledged and resolved, and ``crisis:resolved`` arrives."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from tests.e2e.conftest import next_event

pytestmark = pytest.mark.e2e


def test_a_simulated_crisis_is_detected_acknowledged_and_resolved_on_a_live_dashboard(local_cloud):
    token = local_cloud.admin_token()
    headers = {"Authorization": f"Bearer {token}"}
    client = local_cloud.client
    assert client.put("/api/v1/settings/data-mode", json={"mode": "MOCK"}, headers=headers).is_success

    async def scenario() -> tuple[dict, dict, dict, dict]:
        url = local_cloud.base_url.replace("http://", "ws://") + f"/ws?token={token}"
        async with websockets.connect(url) as socket:
            await socket.send(json.dumps({"action": "ping"}))
            await next_event(socket, "pong")
            # WHEN an admin injects the crisis scenario through the real pipeline
            simulated = await asyncio.to_thread(
                client.post, "/api/v1/admin/simulate", json={"scenario": "crisis"}, headers=headers, timeout=60
            )
            assert simulated.status_code == 200, simulated.text
            # THEN the dashboard hears of it
            detected = await next_event(socket, "crisis:detected")
            # AND staff acknowledge and resolve it through the Alert Center
            alert_id = detected["data"]["id"]
            acknowledged = await asyncio.to_thread(
                client.post, f"/api/v1/alerts/{alert_id}/acknowledge", json={"note": "on it"}, headers=headers
            )
            assert acknowledged.status_code == 200, acknowledged.text
            resolved = await asyncio.to_thread(client.post, f"/api/v1/alerts/{alert_id}/resolve", headers=headers)
            assert resolved.status_code == 200, resolved.text
            closed = await next_event(socket, "crisis:resolved")
            return simulated.json(), detected, acknowledged.json(), closed

    simulated, detected, acknowledged, closed = asyncio.run(scenario())
    assert detected["data"]["id"] in simulated["opened"]
    assert detected["data"]["subject"] == {"dimension": "topic", "value": "healthcare"}
    assert detected["data"]["severity"] >= 1 and detected["data"]["status"] == "active"
    assert acknowledged["status"] == "acknowledged"
    assert closed["data"]["id"] == detected["data"]["id"] and closed["data"]["status"] == "resolved"
    listed = client.get("/api/v1/alerts", params={"status": "resolved"}, headers=headers).json()
    assert detected["data"]["id"] in [item["id"] for item in listed["items"]]
    detail = client.get(f"/api/v1/alerts/{detected['data']['id']}", headers=headers).json()
    assert [t["change"] for t in detail["timeline"]] == ["detected", "acknowledged", "resolved"]
    assert detail["sample_mentions"] and all(m["crisis_id"] == detail["id"] for m in detail["sample_mentions"])
    # AND the linked mentions are one filter away in the mention list
    linked = client.get("/api/v1/mentionlytics/mentions", params={"crisis_id": detail["id"]}, headers=headers)
    assert linked.status_code == 200 and len(linked.json()["items"]) > 0
