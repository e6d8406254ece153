"""Crisis detection benchmarks (``make bench``), each against a baseline measured in the same run.

1. Latency from the ingest call to ``crisis:detected`` on a connected socket of ``warroom dev`` (p50 / p95):
   ``POST /admin/simulate`` ingests a crisis burst through the real pipeline, detection runs on that
   ingest, and the alert is broadcast. Baselines: the same request's own HTTP answer time, and the
   seed's design (detection only on the 5-minute schedule: up to 300 s, 150 s on average).
2. Detector cost per ingest batch, in process on a campaign with 3 days of history: one minute of mock
   mentions ingested without detection (baseline) vs. the detection run on that batch's window (and the
   pure detector's share of it).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import statistics
import time

import httpx
import psycopg
import pytest
import websockets

from tests.conftest import Backing, _reset_containers
from tests.e2e.conftest import start_local_cloud
from tests.perf.reporting import percentile as _percentile
from tests.perf.reporting import report as _report
from warroom.mentions.sources.mock import TOPICS

BATCHES = 30
SCHEDULE_ONLY_WORST_S, SCHEDULE_ONLY_MEAN_S = 300.0, 150.0
pytestmark = pytest.mark.timeout(900)


def test_latency_from_ingest_to_crisis_detected_on_a_socket(tmp_path):
    cloud = start_local_cloud(tmp_path / "crisis", "--no-reload", "--schedules", "off")
    token = cloud.admin_token()
    headers = {"Authorization": f"Bearer {token}"}
    ws_url = cloud.base_url.replace("http://", "ws://") + f"/ws?token={token}"

    async def simulate(http: httpx.AsyncClient, scenario: str, topic: str) -> httpx.Response:
        body = {"scenario": scenario, "topic": topic}
        return await http.post("/api/v1/admin/simulate", json=body, headers=headers)

    async def scenario() -> tuple[list[float], list[float], int]:
        async with httpx.AsyncClient(base_url=cloud.base_url, timeout=60) as http, websockets.connect(ws_url) as ws:
            # Warm-up: viral-positive surges take the same path (ingest, stream, detection) and open nothing.
            for topic in ("rally", "endorsement"):
                assert (await simulate(http, "viral-positive", topic)).status_code == 200
            to_socket, answered, opened = [], [], 0
            for topic in TOPICS:  # one crisis per topic: each is a new alert (no cooldown, no open one to update)
                started = time.perf_counter()
                request = asyncio.create_task(simulate(http, "crisis", topic))
                async with asyncio.timeout(60):
                    while True:
                        frame = json.loads(await ws.recv())
                        data = frame.get("data")
                        subject = (data.get("subject") if isinstance(data, dict) else None) or {}
                        if frame["event"] == "crisis:detected" and subject.get("value") == topic:
                            arrived = time.perf_counter()
                            break
                response = await request
                answered_at = time.perf_counter()
                assert response.status_code == 200, response.text
                assert frame["data"]["id"] in response.json()["opened"]
                to_socket.append(arrived - started)
                answered.append(answered_at - started)
                opened += 1
            return to_socket, answered, opened

    try:
        to_socket, answered, opened = asyncio.run(scenario())
    finally:
        cloud.stop()
    p50, p95 = _percentile(to_socket, 0.5) * 1000, _percentile(to_socket, 0.95) * 1000
    a50, a95 = _percentile(answered, 0.5) * 1000, _percentile(answered, 0.95) * 1000
    _report(
        f"ingest call -> crisis:detected on a socket, {len(to_socket)} simulated crises (warroom dev, MOCK)",
        [
            ("to the socket", f"p50 {p50:8.0f} ms   p95 {p95:8.0f} ms"),
            ("HTTP answer of the same call (ingest + detect)", f"p50 {a50:8.0f} ms   p95 {a95:8.0f} ms"),
            (
                "seed design: the 5-minute schedule alone",
                f"mean {SCHEDULE_ONLY_MEAN_S:.0f} s, worst {SCHEDULE_ONLY_WORST_S:.0f} s",
            ),
            ("faster than the schedule's mean, at p95", f"{SCHEDULE_ONLY_MEAN_S * 1000 / p95:.0f}x"),
        ],
    )
    assert opened == len(TOPICS)


@pytest.fixture(scope="module")
def campaign(backing: Backing):
    """Three days of mock history at the default 3 mentions a minute, ingested without detection."""
    from warroom.mentions.ingest import ingest_mentions
    from warroom.mentions.sources.mock import MockSource

    _reset_containers()
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    source = MockSource(page_size=10**6)
    start = now - dt.timedelta(days=3, minutes=BATCHES)
    ingest_mentions(source.fetch(start, now - dt.timedelta(minutes=BATCHES), None).mentions, stream=False)
    yield now, source
    _reset_containers()
    with psycopg.connect(backing.database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE mentions, mention_rollups_minute, mention_rollups_hour, crisis_events CASCADE")


def test_detector_cost_per_ingest_batch(campaign):
    from warroom.crisis.detection import detect_crises
    from warroom.mentions.ingest import ingest_mentions

    now, source = campaign
    ingest_s, detect_s, detector_ms, subjects = [], [], [], []
    for minute in range(BATCHES, 0, -1):
        start = now - dt.timedelta(minutes=minute)
        batch = source.fetch(start, start + dt.timedelta(minutes=1), None).mentions
        began = time.perf_counter()
        result = ingest_mentions(batch, stream=False)
        ingest_s.append(time.perf_counter() - began)
        began = time.perf_counter()
        outcome = detect_crises(start + dt.timedelta(minutes=1), window_start=result.window_start, trigger="ingest")
        detect_s.append(time.perf_counter() - began)
        detector_ms.append(outcome.detector_ms)
        subjects.append(outcome.subjects)
    ingest_ms, detect_ms = statistics.median(ingest_s) * 1000, statistics.median(detect_s) * 1000
    pure_ms = statistics.median(detector_ms)
    _report(
        f"detection per ingest batch (one minute of mock mentions, 3 days of history), median of {BATCHES}",
        [
            ("ingest of the batch (baseline)", f"{ingest_ms:8.1f} ms"),
            ("detection run on its window", f"{detect_ms:8.1f} ms  ({detect_ms / ingest_ms:.2f}x the ingest)"),
            ("of which the pure detector", f"{pure_ms:8.1f} ms  over {statistics.median(subjects):.0f} subjects"),
            ("per subject series", f"{pure_ms / max(1, statistics.median(subjects)):8.2f} ms"),
        ],
    )
    assert statistics.median(subjects) > 0
