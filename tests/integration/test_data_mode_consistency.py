"""The data mode never disagrees with itself for long, and live data never takes fakes on a stale copy.

Once, with Redis paused during ``PUT /settings/data-mode LIVE``, Redis kept ``MOCK`` forever (``/settings``
said LIVE, ``/health`` said MOCK) and ``POST /admin/simulate`` injected mock mentions into live data.
"""

from __future__ import annotations

import redis

from warroom.core import data_mode

SYSTEM = "SystemFunction"
ADMIN = "AdminFunction"
KEY = data_mode.REDIS_KEY


def test_a_change_while_redis_is_paused_leaves_no_lasting_stale_copy_and_simulate_refuses(invoke, own_redis, token_for):
    admin = token_for("admin")
    client = redis.Redis.from_url(own_redis.url, decode_responses=True)
    # GIVEN MOCK read once, so Redis holds a copy
    assert invoke(SYSTEM, "system_get_data_mode", token=admin).body["mode"] == "MOCK"
    assert client.get(KEY) == "MOCK"
    assert 0 < client.ttl(KEY) <= data_mode.REDIS_TTL_S  # a copy, never kept for ever
    # WHEN LIVE is set while Redis refuses writes (CLIENT PAUSE WRITE: the app's writes time out)
    client.client_pause(5_000, all=False)
    try:
        changed = invoke(SYSTEM, "system_put_data_mode", token=admin, body={"mode": "LIVE"})
    finally:
        client.client_unpause()
    # THEN the change is stored (PostgreSQL is the truth), and whatever Redis kept expires within seconds
    assert changed.status == 200 and changed.body["mode"] == "LIVE"
    assert client.get(KEY) in (None, "LIVE") or 0 < client.ttl(KEY) <= data_mode.REDIS_TTL_S
    # AND the simulator, which must never write fakes into live data, reads the row: 409
    data_mode.forget_local_copy()
    simulated = invoke(ADMIN, "admin_simulate", token=admin, body={"scenario": "crisis"})
    assert simulated.status == 409, simulated.body


def test_simulate_trusts_the_row_over_a_stale_shared_copy(invoke, services, token_for, db):
    # GIVEN LIVE stored and a stale MOCK copy in Redis (as a failed invalidation would leave it)
    admin = token_for("admin")
    assert invoke(SYSTEM, "system_put_data_mode", token=admin, body={"mode": "LIVE"}).status == 200
    redis.Redis.from_url(services.redis_url).set(KEY, "MOCK", ex=60)
    data_mode.forget_local_copy()
    # WHEN an admin asks for a scenario
    answer = invoke(ADMIN, "admin_simulate", token=admin, body={"scenario": "crisis"})
    # THEN it is refused and no mention was written
    assert answer.status == 409, answer.body
    assert db.execute("SELECT count(*) AS n FROM mentions").fetchone()["n"] == 0


def test_the_mock_backfill_never_runs_in_live(services, token_for, invoke, db):
    from warroom.mentions.sync import backfill_mock_history

    admin = token_for("admin")
    assert invoke(SYSTEM, "system_put_data_mode", token=admin, body={"mode": "LIVE"}).status == 200
    redis.Redis.from_url(services.redis_url).set(KEY, "MOCK", ex=60)
    data_mode.forget_local_copy()
    assert backfill_mock_history(days=1) is None
    assert db.execute("SELECT count(*) AS n FROM mentions").fetchone()["n"] == 0
