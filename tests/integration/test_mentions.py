"""The mention pipeline against real PostgreSQL and Redis: idempotent ingest, rollups, KPIs, and the routes."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

import psycopg
import pytest

from warroom.dashboard.kpis import compute_kpis, raw_kpis
from warroom.mentions import ingest
from warroom.mentions.ingest import DIMENSIONS_SQL, ingest_mentions
from warroom.mentions.models import MentionIn
from warroom.mentions.rollups import MINUTE_DIMENSIONS, window_totals
from warroom.mentions.sources.mock import MockSource

NOW = dt.datetime(2026, 11, 20, 15, 37, 12, tzinfo=dt.UTC)
MENTIONS = "MentionsFunction"


def _mock_window(start: dt.datetime, end: dt.datetime, per_minute: float = 1.0):
    return MockSource(mean_per_minute=per_minute, page_size=100_000).fetch(start, end, None).mentions


def _rollup_snapshot(db) -> list[tuple]:
    return [
        tuple(row.values())
        for table in ("mention_rollups_minute", "mention_rollups_hour")
        for row in db.execute(f"SELECT '{table}', * FROM {table} ORDER BY dimension, value, bucket")
    ]


def _raw_rollup(unit: str) -> str:
    """The rollup table of ``unit`` as an aggregate of the raw mentions (per minute: the minute dimensions)."""
    dimensions = ", ".join(f"'{d}'" for d in MINUTE_DIMENSIONS) if unit == "minute" else "d.dimension"
    return f"""
        SELECT d.dimension, d.value, date_trunc('{unit}', n.published_at) AS bucket, count(*)::int AS mentions,
               coalesce(sum(n.sentiment_score), 0) AS sentiment_sum, count(n.sentiment_score)::int AS sentiment_count,
               count(*) FILTER (WHERE n.sentiment_score > 0.3)::int AS positive,
               count(*) FILTER (WHERE n.sentiment_score < -0.3)::int AS negative,
               count(*) FILTER (WHERE n.sentiment_score < -0.8)::int AS strongly_negative,
               coalesce(sum(n.reach), 0)::bigint AS reach
        FROM mentions AS n CROSS JOIN LATERAL ({DIMENSIONS_SQL}) AS d(dimension, value)
        WHERE d.dimension IN ({dimensions})
        GROUP BY 1, 2, 3"""


def _assert_rollups_equal_raw(db) -> None:
    columns = "dimension, value, bucket, mentions, sentiment_sum, sentiment_count, positive, negative, "
    columns += "strongly_negative, reach"
    for unit, table in (("minute", "mention_rollups_minute"), ("hour", "mention_rollups_hour")):
        only_rollup = db.execute(f"SELECT {columns} FROM {table} EXCEPT SELECT {columns} FROM ({_raw_rollup(unit)}) r")
        only_raw = db.execute(f"SELECT {columns} FROM ({_raw_rollup(unit)}) r EXCEPT SELECT {columns} FROM {table}")
        assert only_rollup.fetchall() == [] and only_raw.fetchall() == [], unit


def test_ingesting_the_same_page_twice_inserts_nothing_and_leaves_rollups_unchanged(services, db):
    # GIVEN a page of two hours of mock mentions, ingested once
    page = _mock_window(NOW - dt.timedelta(hours=2), NOW)
    first = ingest_mentions(page)
    rollups_after_first = _rollup_snapshot(db)

    # WHEN the very same page is ingested again (a replayed page, a re-delivered batch)
    again = ingest_mentions(_mock_window(NOW - dt.timedelta(hours=2), NOW))

    # THEN the first inserted every mention, the second none, and the rollups did not move
    assert first.inserted == len(page) > 50 and first.duplicates == 0
    assert again.inserted == 0 and again.duplicates == len(page)
    assert db.execute("SELECT count(*) AS n FROM mentions").fetchone()["n"] == len(page)
    assert _rollup_snapshot(db) == rollups_after_first
    # AND the window handed to crisis detection is that of the new mentions
    assert first.window_start == min(m.published_at for m in page)


def test_rollups_equal_the_raw_aggregates_for_every_dimension(services, db):
    # GIVEN mentions ingested in overlapping batches (so rollup rows are updated, not only inserted)
    ingest_mentions(_mock_window(NOW - dt.timedelta(hours=3), NOW - dt.timedelta(hours=1)))
    ingest_mentions(_mock_window(NOW - dt.timedelta(hours=2), NOW))

    # WHEN each rollup table is compared with the aggregate of the raw mentions, both ways
    # THEN they hold exactly the same rows: per hour for every dimension, per minute for the minute dimensions
    _assert_rollups_equal_raw(db)
    assert {row["dimension"] for row in db.execute("SELECT DISTINCT dimension FROM mention_rollups_hour")} == {
        "all",
        "source",
        "topic",
        "keyword",
        "country",
        "region",
    }
    minute_dimensions = {
        row["dimension"] for row in db.execute("SELECT DISTINCT dimension FROM mention_rollups_minute")
    }
    assert minute_dimensions == set(MINUTE_DIMENSIONS) == {"all", "source", "topic", "keyword"}


def test_a_page_partly_stored_inserts_and_rolls_up_only_its_new_mentions(services, db):
    # GIVEN the first half of a page stored
    page = _mock_window(NOW - dt.timedelta(hours=2), NOW)
    half = len(page) // 2
    assert ingest_mentions(page[:half]).inserted == half

    # WHEN the whole page comes (again), with one of its new mentions repeated (another copy, other content)
    repeat = page[-1].model_copy(update={"content": "a re-delivered copy"})
    result = ingest_mentions([*page, repeat])

    # THEN only the second half is inserted, each mention once (the first copy), and the rollups are exact
    assert (result.inserted, result.duplicates) == (len(page) - half, half + 1)
    assert result.window_start == min(m.published_at for m in page[half:])
    assert result.window_end == max(m.published_at for m in page[half:])
    assert db.execute("SELECT count(*) AS n FROM mentions").fetchone()["n"] == len(page)
    stored = db.execute("SELECT content FROM mentions WHERE external_id = %s", (repeat.external_id,)).fetchone()
    assert stored["content"] == page[-1].content
    _assert_rollups_equal_raw(db)


def _wait_until_waiting_on_a_lock(db, worker: threading.Thread, deadline_s: float = 30.0) -> None:
    """Poll PostgreSQL until a backend of this database waits on a lock (the worker reached the contended
    row); the deadline only turns a hang into a failure."""
    give_up = time.monotonic() + deadline_s
    while time.monotonic() < give_up:
        waiting = db.execute(
            "SELECT count(*) AS n FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        ).fetchone()["n"]
        if waiting:
            assert worker.is_alive()
            return
        assert worker.is_alive(), "the ingest finished without waiting on the other transaction's lock"
        time.sleep(0.01)
    raise AssertionError(f"no backend waited on a lock within {deadline_s} s")


def test_a_mention_stored_concurrently_after_the_look_up_is_inserted_and_rolled_up_once(services, db, caplog):
    caplog.set_level("INFO", logger="warroom.mentions.ingest")
    # GIVEN another ingest that has stored one mention of the page but not committed yet
    page = _mock_window(NOW - dt.timedelta(hours=1), NOW)
    other = psycopg.connect(services.database_url)
    assert ingest.store_mentions(other, [page[len(page) // 2]]).inserted == 1
    outcome: dict[str, object] = {}

    def run() -> None:
        outcome["result"] = ingest_mentions(page, stream=False)

    # WHEN this ingest runs meanwhile: the look-up cannot see that mention, the COPY waits on its key ...
    worker = threading.Thread(target=run)
    worker.start()
    _wait_until_waiting_on_a_lock(db, worker)
    other.commit()  # ... and fails on it once the other commits
    other.close()
    worker.join(timeout=30)

    # THEN the batch took the ON CONFLICT path, and the page is stored whole, each mention inserted and rolled
    # up exactly once
    assert "storing" in caplog.text and "with ON CONFLICT" in caplog.text
    result = outcome["result"]
    assert (result.inserted, result.duplicates) == (len(page) - 1, 1)  # type: ignore[union-attr]
    assert db.execute("SELECT count(*) AS n FROM mentions").fetchone()["n"] == len(page)
    _assert_rollups_equal_raw(db)


def test_concurrent_ingests_of_other_mentions_in_the_same_new_minutes_roll_up_both(services, db, caplog):
    caplog.set_level("INFO", logger="warroom.mentions.ingest")
    # GIVEN one ingest that has stored half of the mentions of some new minutes, not committed yet
    page = _mock_window(NOW - dt.timedelta(minutes=30), NOW, per_minute=4)
    mine, theirs = page[::2], page[1::2]
    other = psycopg.connect(services.database_url)
    assert ingest.store_mentions(other, theirs).inserted == len(theirs)
    outcome: dict[str, object] = {}

    def run() -> None:
        outcome["result"] = ingest_mentions(mine, stream=False)

    # WHEN another ingest stores the other half meanwhile: its rollup rows of those minutes wait on the first's
    worker = threading.Thread(target=run)
    worker.start()
    _wait_until_waiting_on_a_lock(db, worker)
    other.commit()
    other.close()
    worker.join(timeout=30)

    # THEN the second added its counts to the first's rows (its ON CONFLICT path), and the rollups are exact
    assert "with ON CONFLICT" in caplog.text
    assert outcome["result"].inserted == len(mine)  # type: ignore[union-attr]
    assert db.execute("SELECT count(*) AS n FROM mentions").fetchone()["n"] == len(page)
    _assert_rollups_equal_raw(db)


def test_two_concurrent_ingests_of_the_same_page_insert_and_roll_up_once(services, db):
    page = _mock_window(NOW - dt.timedelta(hours=1), NOW)
    start = threading.Barrier(2)
    results = []

    def run() -> None:
        start.wait()
        results.append(ingest_mentions(page, stream=False))

    workers = [threading.Thread(target=run) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)

    assert sorted(r.inserted for r in results) == [0, len(page)]
    assert db.execute("SELECT count(*) AS n FROM mentions").fetchone()["n"] == len(page)
    _assert_rollups_equal_raw(db)


def test_rollups_are_exact_for_awkward_values(services, db):
    # GIVEN mentions with scores on the band limits and on rounding ties, no score, repeated and long terms
    # (cut to 200 characters, two become one), no place, a naive time, a value with spaces beyond its length
    base = _mock_window(NOW - dt.timedelta(minutes=3), NOW, per_minute=2)[0]
    long = "x" * 200
    variants = [
        {"sentiment_score": 0.3},
        {"sentiment_score": -0.3},
        {"sentiment_score": -0.8},
        {"sentiment_score": 0.1235},
        {"sentiment_score": -0.8005},
        {"sentiment_score": 0.0005},
        {"sentiment_score": None},
        {"topics": ["economy", "economy", f"{long}a", f"{long}b"], "keywords": []},
        {"country": None, "region": None},
        {"region": None},
        {"published_at": NOW.replace(tzinfo=None) - dt.timedelta(seconds=30)},
    ]
    mentions = [
        base.model_copy(update={"external_id": f"awkward-{n}", **variant}) for n, variant in enumerate(variants)
    ]
    mentions.append(MentionIn.model_construct(**{**base.__dict__, "external_id": "awkward-spaces", "country": "US  "}))

    # WHEN they are ingested
    assert ingest_mentions(mentions, stream=False).inserted == len(mentions)

    # THEN the rollups equal the aggregate of what was stored
    stored = db.execute("SELECT sentiment_score::text AS s FROM mentions WHERE external_id = 'awkward-3'").fetchone()
    assert stored["s"] == "0.124"
    assert db.execute("SELECT country FROM mentions WHERE external_id = 'awkward-spaces'").fetchone()["country"] == "US"
    _assert_rollups_equal_raw(db)


def test_geo_totals_over_partial_hours_equal_the_raw_aggregate(services, db):
    from warroom.core.db import connection

    # GIVEN five hours of mentions, and a window that starts and ends mid-hour
    ingest_mentions(_mock_window(NOW - dt.timedelta(hours=5), NOW, per_minute=2), stream=False)
    start, end = (
        NOW.replace(second=0) - dt.timedelta(hours=4, minutes=13),
        NOW.replace(second=0) - dt.timedelta(minutes=7),
    )
    for dimension in ("country", "region", "source"):
        # WHEN the totals come from the rollups (hours) and the edge minutes
        with connection() as conn:
            totals = window_totals(conn, dimension, start, end)
        # THEN they are the raw aggregate of the window
        raw = {
            row["value"]: (row["n"], row["s"], row["neg"])
            for row in db.execute(
                f"""SELECT d.value, count(*) AS n, coalesce(sum(n.sentiment_score), 0) AS s,
                           count(*) FILTER (WHERE n.sentiment_score < -0.3) AS neg
                    FROM mentions AS n CROSS JOIN LATERAL ({DIMENSIONS_SQL}) AS d(dimension, value)
                    WHERE d.dimension = %s AND n.published_at >= %s AND n.published_at < %s GROUP BY 1""",
                (dimension, start, end),
            )
        }
        assert {v: (t.mentions, t.sentiment_sum, t.negative) for v, t in totals.items()} == raw, dimension
        assert raw


def test_the_live_stream_gets_the_newest_new_mentions(services, db, monkeypatch):
    sent: list[list[dict]] = []
    monkeypatch.setattr(ingest, "stream_mentions", lambda mentions: sent.append(mentions) or 1)
    page = _mock_window(NOW - dt.timedelta(hours=2), NOW)
    ingest_mentions(page)
    newest = sorted(page, key=lambda m: m.published_at, reverse=True)[: ingest.STREAM_MAX_MENTIONS]
    assert [m["external_id"] for m in sent[0]] == [m.external_id for m in newest]


def test_kpis_from_rollups_equal_the_raw_aggregate(services, db):
    # GIVEN 50 hours of mentions (both 24-hour windows, with partial hours at both edges) and an active crisis
    ingest_mentions(_mock_window(NOW - dt.timedelta(hours=50), NOW + dt.timedelta(minutes=5), per_minute=0.6))
    db.execute("INSERT INTO crisis_events (severity, status) VALUES (7, 'active'), (3, 'resolved')")

    # WHEN the KPIs are computed from the rollups and from the raw table
    from_rollups, from_raw = compute_kpis(NOW), raw_kpis(NOW)

    # THEN every figure is the same, and the figures are plausible
    from_rollups.pop("computed_at"), from_raw.pop("computed_at")
    assert from_rollups == from_raw
    assert from_rollups["mentions_24h"] > 300 and from_rollups["active_crises"] == 1
    assert -1 <= from_rollups["avg_sentiment"] <= 1 and from_rollups["top_source"]["value"] == "twitter"


@pytest.fixture
def seeded(services, db):
    """Six hours of mock mentions up to now, and the newest one's id."""
    now = dt.datetime.now(dt.UTC)
    ingest_mentions(_mock_window(now - dt.timedelta(hours=6), now))
    return db.execute("SELECT id FROM mentions ORDER BY published_at DESC LIMIT 1").fetchone()["id"]


def _all_pages(invoke, token, query):
    items, cursor = [], None
    while True:
        answer = invoke(
            MENTIONS, "mentions_list", token=token, query={**query, **({"cursor": [cursor]} if cursor else {})}
        )
        assert answer.status == 200, answer.body
        items += answer.body["items"]
        cursor = answer.body["next_cursor"]
        if cursor is None:
            return items


def test_list_pages_newest_first_without_gaps_and_filters_apply(seeded, invoke, token_for, db):
    token = token_for("readonly")
    total = db.execute("SELECT count(*) AS n FROM mentions").fetchone()["n"]
    # WHEN every page is read with the cursor
    items = _all_pages(invoke, token, {"limit": ["200"]})
    # THEN each mention comes once, newest first
    assert len(items) == len({i["id"] for i in items}) == total
    assert [i["published_at"] for i in items] == sorted((i["published_at"] for i in items), reverse=True)

    cutoff = items[len(items) // 2]["published_at"]
    cases = {
        "source": ({"source": ["reddit"]}, lambda i: i["source"] == "reddit"),
        "sentiment": (
            {"sentiment_min": ["-0.5"], "sentiment_max": ["0.2"]},
            lambda i: i["sentiment_score"] is not None and -0.5 <= i["sentiment_score"] <= 0.2,
        ),
        "topic": ({"topic": ["economy"]}, lambda i: "economy" in i["topics"]),
        "country": ({"country": ["us"]}, lambda i: i["location"]["country"] == "US"),
        "time": ({"from": [cutoff]}, lambda i: i["published_at"] >= cutoff),
        "to": ({"to": [cutoff]}, lambda i: i["published_at"] < cutoff),
    }
    for name, (query, keep) in cases.items():
        # WHEN a filter is given THEN the answer is exactly the matching mentions
        got = _all_pages(invoke, token, {**query, "limit": ["200"]})
        expected = [i["id"] for i in items if keep(i)]
        assert [i["id"] for i in got] == expected and expected, name


def test_full_text_search_uses_the_stored_tsvector(seeded, invoke, token_for, db):
    # GIVEN a mention with a distinctive word
    mention_id = str(seeded)
    db.execute("UPDATE mentions SET content = 'Zebracorn sighting at the Alvarez rally' WHERE id = %s", (mention_id,))
    # WHEN searching for it (stemmed: "sightings" matches "sighting")
    answer = invoke(MENTIONS, "mentions_list", token=token_for("readonly"), query={"q": ["zebracorn sightings"]})
    # THEN only that mention comes back
    assert answer.status == 200
    assert [i["id"] for i in answer.body["items"]] == [mention_id]
    plan = "\n".join(
        r["QUERY PLAN"]
        for r in db.execute(
            "EXPLAIN SELECT id FROM mentions WHERE content_tsv @@ websearch_to_tsquery('english', 'zebracorn')"
        )
    )
    assert "idx_mentions_content_tsv" in plan or "Seq Scan" in plan  # the planner may scan a tiny table


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": ["2026-13-01"]}, "from"),
        ({"to": ["yesterday"]}, "to"),
        ({"from": ["2026-11-20T10:00:00Z"], "to": ["2026-11-19T10:00:00Z"]}, "to"),
        ({"sentiment_min": ["-1.5"]}, "sentiment_min"),
        ({"sentiment_max": ["2"]}, "sentiment_max"),
        ({"sentiment_min": ["0.5"], "sentiment_max": ["0.1"]}, "sentiment_max"),
        ({"limit": ["201"]}, "limit"),
        ({"source": ["myspace"]}, "source"),
        ({"cursor": ["not-a-cursor!"]}, "cursor"),
        ({"cursor": ["eyJ4IjoxfQ"]}, "cursor"),
        ({"crisis_id": ["42"]}, "crisis_id"),
        ({"country": ["USA"]}, "country"),
    ],
)
def test_invalid_filters_get_422_naming_the_field(services, invoke, token_for, query, field):
    answer = invoke(MENTIONS, "mentions_list", token=token_for("readonly"), query=query)
    assert answer.status == 422, answer.body
    assert ["query", field] in [d["loc"][:2] for d in answer.body["error"]["details"]]


def test_mention_by_id_and_unknown_ids(seeded, invoke, token_for):
    token = token_for("readonly")
    found = invoke(MENTIONS, "mentions_get", token=token, path_parameters={"mention_id": str(seeded)})
    assert found.status == 200 and found.body["id"] == str(seeded)
    assert set(found.body["author"]) == {"name", "handle", "followers", "influence"}
    for unknown in ("6f1c2a9e-8b1d-4c51-9d53-2f0a6b7c8d90", "not-a-uuid"):
        missing = invoke(MENTIONS, "mentions_get", token=token, path_parameters={"mention_id": unknown})
        assert missing.status == 404 and missing.error_code == "not_found"


def test_aggregate_routes_answer_from_the_rollups(seeded, invoke, token_for, db):
    token = token_for("readonly")
    total = db.execute("SELECT count(*) AS n FROM mentions").fetchone()["n"]

    sentiment = invoke(MENTIONS, "mentions_sentiment", token=token)
    assert sentiment.status == 200
    assert sum(p["mentions"] for p in sentiment.body["series"]) == total
    assert sum(p["mentions"] for s in sentiment.body["by_source"].values() for p in s) == total
    by_minute = invoke(MENTIONS, "mentions_sentiment", token=token, query={"interval": ["minute"], "source": ["news"]})
    assert by_minute.status == 200 and by_minute.body["by_source"] == {}

    geo = invoke(MENTIONS, "mentions_geo", token=token)
    assert geo.status == 200 and geo.body["countries"][0]["country"] == "US"
    assert sum(c["mentions"] for c in geo.body["countries"]) == total
    assert geo.body["countries"][0]["regions"]

    influencers = invoke(MENTIONS, "mentions_influencers", token=token)
    assert influencers.status == 200
    reaches = [i["reach"] for i in influencers.body["items"]]
    assert reaches == sorted(reaches, reverse=True) and len(reaches) == 10

    trending = invoke(
        MENTIONS, "mentions_trending", token=token, query={"window_hours": ["2"], "baseline_hours": ["6"]}
    )
    assert trending.status == 200 and set(trending.body) >= {"topics", "keywords"}


def test_sync_needs_a_manager_and_answers_counts_in_mock_mode(services, invoke, token_for, db):
    refused = invoke(MENTIONS, "mentions_sync", token=token_for("user"))
    assert refused.status == 403
    answer = invoke(MENTIONS, "mentions_sync", token=token_for("manager"))
    assert answer.status == 200, answer.body
    body = answer.body
    assert body["provider"] == "mock" and body["fetched"] == body["inserted"] + body["duplicates"]
    stored = db.execute("SELECT cursor FROM ingest_cursors WHERE provider = 'mock'").fetchone()
    assert stored["cursor"] == body["cursor"]


def test_dashboard_metrics_recompute_when_the_cache_is_empty_and_match_raw(seeded, invoke, token_for):
    answer = invoke("MetricsFunction", "metrics_dashboard", token=token_for("readonly"))
    assert answer.status == 200
    raw = raw_kpis(dt.datetime.fromisoformat(answer.body["window"]["to"]) - dt.timedelta(minutes=1))
    for key in ("mentions_24h", "avg_sentiment", "negative_share", "top_source", "top_topic"):
        assert answer.body[key] == json.loads(json.dumps(raw[key])), key


def test_kpi_refresh_stores_the_kpis_for_the_dashboard(seeded, lambda_runtime, invoke, token_for):
    from tests.conftest import load_event

    refreshed = lambda_runtime.invoke("KpiRefreshFunction", load_event("scheduled_event"))
    cached = invoke("MetricsFunction", "metrics_dashboard", token=token_for("readonly"))
    # The same moment (the answer is serialised through DashboardKpisOut, so UTC is written "Z").
    computed_at = dt.datetime.fromisoformat(cached.body["computed_at"])
    assert computed_at == dt.datetime.fromisoformat(refreshed["computed_at"])


@pytest.fixture
def live_mode(services, db, monkeypatch):
    """LIVE data mode (v1) with the connector pointed at a local fake Mentionlytics; ``configure(token)``."""
    from tests.fake_mentionlytics import FakeMentionlytics
    from warroom.core.config import reset_settings
    from warroom.core.data_mode import forget_local_copy

    db.execute(
        "INSERT INTO settings (key, value) VALUES ('data_mode', '\"LIVE\"'), ('mentionlytics_api_version', '\"v1\"')"
    )
    with FakeMentionlytics() as fake:
        monkeypatch.setenv("WARROOM_MENTIONLYTICS_BASE_URL", fake.base_url)
        forget_local_copy()

        def configure(token: str | None) -> None:
            if token is None:
                monkeypatch.delenv("MENTIONLYTICS_API_TOKEN", raising=False)
            else:
                monkeypatch.setenv("MENTIONLYTICS_API_TOKEN", token)
            reset_settings()

        configure.fake = fake  # type: ignore[attr-defined]
        yield configure
    forget_local_copy()
    reset_settings()


def _mentionlytics_health(invoke) -> tuple[int, dict]:
    answer = invoke("SystemFunction", "system_health")
    return answer.status, answer.body


def test_health_reports_the_live_source_down_after_a_failed_sync_and_up_after_a_good_one(
    live_mode, invoke, token_for, services
):
    import redis

    manager = token_for("manager")
    # GIVEN LIVE mode with a token, and health answered (and cached) before any sync
    live_mode("wrong-token")
    status, before = _mentionlytics_health(invoke)
    assert status == 200 and before["status"] == "ok"
    assert before["dependencies"]["mentionlytics"]["status"] == "up"

    # WHEN a sync fails because Mentionlytics rejects the token
    failed = invoke("MentionsFunction", "mentions_sync", token=manager)
    assert failed.status == 503, failed.body

    # THEN the cause and time are recorded, and health says at once (no stale cached "ok") the source is down
    recorded = json.loads(redis.Redis.from_url(services.redis_url).get("source:mentionlytics:status"))
    assert recorded["status"] == "down" and recorded["cause"] == "token_rejected" and recorded["at"]
    status, after = _mentionlytics_health(invoke)
    assert status == 200 and after["status"] == "degraded"  # stored data are still served
    source = after["dependencies"]["mentionlytics"]
    assert source["status"] == "down" and source["error"] == "token_rejected"
    assert dt.datetime.fromisoformat(source["checked_at"]) == dt.datetime.fromisoformat(recorded["at"])

    # WHEN the token is fixed and a sync succeeds THEN health reports the source up again
    live_mode(live_mode.fake.v1_token)
    assert invoke("MentionsFunction", "mentions_sync", token=manager).status == 200
    status, healed = _mentionlytics_health(invoke)
    assert healed["status"] == "ok" and healed["dependencies"]["mentionlytics"]["status"] == "up"

    # WHEN the token is gone THEN the source is not configured (and MOCK mode has no such dependency)
    live_mode(None)
    services_redis = redis.Redis.from_url(services.redis_url)
    services_redis.delete("system:health")
    _, unconfigured = _mentionlytics_health(invoke)
    assert unconfigured["dependencies"]["mentionlytics"]["status"] == "not_configured"
    assert (
        invoke("SystemFunction", "system_put_data_mode", token=token_for("admin"), body={"mode": "MOCK"}).status == 200
    )
    services_redis.delete("system:health")
    _, mock = _mentionlytics_health(invoke)
    assert "mentionlytics" not in mock["dependencies"]


def test_aggregates_are_cached_for_five_minutes_and_an_ingest_invalidates_them(seeded, invoke, token_for, db, services):
    import redis

    token = token_for("readonly")
    client = redis.Redis.from_url(services.redis_url)
    total = db.execute("SELECT count(*) AS n FROM mentions").fetchone()["n"]
    # GIVEN the sentiment series answered once: cached under the seed's 5-minute TTL
    first = invoke(MENTIONS, "mentions_sentiment", token=token)
    assert sum(p["mentions"] for p in first.body["series"]) == total
    keys = list(client.scan_iter("cache:mentionlytics:agg:*"))
    assert keys and all(0 < client.ttl(key) <= 300 for key in keys)
    # ... and really served from the cache: a change behind its back (not an ingest) is not seen
    db.execute("UPDATE mention_rollups_hour SET mentions = mentions + 1000 WHERE dimension = 'all'")
    db.execute("UPDATE mention_rollups_minute SET mentions = mentions + 1000 WHERE dimension = 'all'")
    assert invoke(MENTIONS, "mentions_sentiment", token=token).body == first.body
    db.execute("UPDATE mention_rollups_hour SET mentions = mentions - 1000 WHERE dimension = 'all'")
    db.execute("UPDATE mention_rollups_minute SET mentions = mentions - 1000 WHERE dimension = 'all'")

    # WHEN new mentions are ingested
    now = dt.datetime.now(dt.UTC)
    fresh = MockSource(seed=99, mean_per_minute=5, page_size=100_000).fetch(now - dt.timedelta(hours=1), now, None)
    added = ingest_mentions(fresh.mentions, stream=False).inserted
    assert added > 0

    # THEN the next answer is recomputed and counts them
    after = invoke(MENTIONS, "mentions_sentiment", token=token)
    assert sum(p["mentions"] for p in after.body["series"]) == total + added
    geo = invoke(MENTIONS, "mentions_geo", token=token)
    assert sum(c["mentions"] for c in geo.body["countries"]) == total + added


def test_mention_routes_answer_from_postgresql_when_redis_is_down(seeded, own_redis, invoke, token_for, db):
    from warroom.core import data_mode

    token = token_for("readonly")
    total = db.execute("SELECT count(*) AS n FROM mentions").fetchone()["n"]
    # GIVEN Redis stops (the caches, the generation counter and the stream gate are gone)
    own_redis.stop()
    data_mode.forget_local_copy()
    # WHEN the dashboard reads every mention route, and a manager syncs
    listed = invoke(MENTIONS, "mentions_list", token=token, query={"limit": ["200"], "q": ["Alvarez"]})
    one = invoke(MENTIONS, "mentions_get", token=token, path_parameters={"mention_id": str(seeded)})
    sentiment = invoke(MENTIONS, "mentions_sentiment", token=token)
    geo = invoke(MENTIONS, "mentions_geo", token=token)
    influencers = invoke(MENTIONS, "mentions_influencers", token=token)
    trending = invoke(MENTIONS, "mentions_trending", token=token)
    dashboard = invoke("MetricsFunction", "metrics_dashboard", token=token)
    raw = raw_kpis(dt.datetime.fromisoformat(dashboard.body["window"]["to"]) - dt.timedelta(minutes=1))
    synced = invoke(MENTIONS, "mentions_sync", token=token_for("manager"))
    # THEN each answers 200 from PostgreSQL with the stored data
    for answer in (listed, one, sentiment, geo, influencers, trending, dashboard, synced):
        assert answer.status == 200, answer.body
    assert listed.body["items"] and one.body["id"] == str(seeded)
    assert sum(p["mentions"] for p in sentiment.body["series"]) == total
    assert sum(c["mentions"] for c in geo.body["countries"]) == total
    assert dashboard.body["mentions_24h"] == raw["mentions_24h"] > 0
    assert (
        synced.body["provider"] == "mock"
        and synced.body["fetched"] == synced.body["inserted"] + synced.body["duplicates"]
    )
