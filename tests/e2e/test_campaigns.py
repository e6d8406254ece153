"""Paid campaigns in ``warroom dev`` (MOCK): the first start back-filled both platforms, every campaign route answers
realistic data, and a pacing alert reaches a connected dashboard as ``campaign:alert`` after a sync."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pytest
import websockets

from tests.e2e.conftest import next_event

pytestmark = pytest.mark.e2e


def test_every_campaign_route_answers_the_backfilled_mock_data(local_cloud):
    headers = {"Authorization": f"Bearer {local_cloud.admin_token()}"}
    client = local_cloud.client
    listed = client.get("/api/v1/campaigns", params={"limit": 200}, headers=headers)
    assert listed.status_code == 200, listed.text
    campaigns = listed.json()["items"]
    assert {c["platform"] for c in campaigns} == {"meta", "google_ads"} and len(campaigns) >= 20
    summary = client.get("/api/v1/campaigns/summary", headers=headers).json()
    assert Decimal(summary["overall"]["spend"]) == sum(Decimal(p["spend"]) for p in summary["platforms"]) > 0
    first, second = campaigns[0]["id"], campaigns[1]["id"]
    answers = {
        "detail": client.get(f"/api/v1/campaigns/{first}", headers=headers),
        "metrics": client.get(f"/api/v1/campaigns/{first}/metrics", params={"interval": "week"}, headers=headers),
        "compare": client.get("/api/v1/campaigns/compare", params={"ids": f"{first},{second}"}, headers=headers),
        "top": client.get("/api/v1/campaigns/top", params={"metric": "ctr"}, headers=headers),
        "pacing": client.get("/api/v1/campaigns/pacing", headers=headers),
        "meta": client.get("/api/v1/meta/campaigns", headers=headers),
        "adsets": client.get("/api/v1/meta/adsets", headers=headers),
        "google": client.get("/api/v1/google-ads/insights", headers=headers),
    }
    assert {name: a.status_code for name, a in answers.items()} == dict.fromkeys(answers, 200)
    assert answers["top"].json()["items"] and answers["adsets"].json()["items"]
    assert {i["status"] for i in answers["pacing"].json()["items"]} >= {"over", "under"}


def test_a_pacing_alert_reaches_a_connected_dashboard_after_a_sync(local_cloud):
    token = local_cloud.admin_token()
    headers = {"Authorization": f"Bearer {token}"}
    client = local_cloud.client
    # GIVEN no open campaign alert (the first start's sync opened them) and no cooldown after resolving them
    cooldown = client.put("/api/v1/settings/campaign_alert_cooldown_hours", json={"value": 0}, headers=headers)
    assert cooldown.status_code == 200, cooldown.text
    open_alerts = client.get("/api/v1/alerts", params={"status": "active", "limit": 200}, headers=headers).json()
    for alert in open_alerts["items"]:
        if alert["kind"] == "campaign":
            assert client.post(f"/api/v1/alerts/{alert['id']}/resolve", headers=headers).status_code == 200

    async def scenario() -> tuple[dict, dict]:
        url = local_cloud.base_url.replace("http://", "ws://") + f"/ws?token={token}"
        async with websockets.connect(url) as socket:
            await socket.send(json.dumps({"action": "ping"}))
            await next_event(socket, "pong")
            # WHEN a manager syncs both platforms
            synced = await asyncio.to_thread(
                client.post, "/api/v1/campaigns/sync", json={}, headers=headers, timeout=60
            )
            assert synced.status_code == 200, synced.text
            # THEN the dashboard hears of the campaign that overspends
            return synced.json(), await next_event(socket, "campaign:alert")

    synced, alert = asyncio.run(scenario())
    assert [p["status"] for p in synced["platforms"]] == ["synced", "synced"]
    assert alert["data"]["kind"] == "campaign" and alert["data"]["id"] in synced["alerts"]["opened"]
    assert alert["data"]["trigger"]["rule"] in (
        "overspend",
        "underspend",
        "delivery_stopped",
        "delivery_issue",
        "cost_spike",
    )
