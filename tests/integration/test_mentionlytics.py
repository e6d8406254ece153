"""The live Mentionlytics connector against a local fake that answers in the API's shapes (real Redis, PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from tests.fake_mentionlytics import FakeMentionlytics
from warroom.mentions.sources import SourceUnavailable
from warroom.mentions.sources.mentionlytics import MentionlyticsSource
from warroom.mentions.sync import sync_mentions

NOW = dt.datetime(2026, 11, 24, 23, 30, tzinfo=dt.UTC)
READABLE_V1_ITEMS = 5  # the fixture's sixth item has no id


@pytest.fixture
def fake() -> Iterator[FakeMentionlytics]:
    with FakeMentionlytics() as server:
        yield server


def _source(fake: FakeMentionlytics, **options) -> MentionlyticsSource:
    settings = {
        "base_url": fake.base_url,
        "token": fake.v1_token,
        "version": "v1",
        "per_page": 2,
        "backoff_max_s": 0.05,
        "retry_after_cap_s": 2,
    }
    return MentionlyticsSource(**{**settings, **options})


def test_v1_pages_are_mapped_stored_and_the_cursor_moves_on(services, db, fake):
    # WHEN a first sync pages through the day (2 per page; v1 says nothing of more pages, so an empty 4th ends it)
    result = sync_mentions(_source(fake), now=NOW)

    # THEN every readable mention is stored once and the pages were asked for in order, with the token
    assert (result["fetched"], result["inserted"], result["pages"]) == (READABLE_V1_ITEMS, READABLE_V1_ITEMS, 4)
    asked = fake.mention_requests()
    assert [r["query"]["page_no"] for r in asked] == ["1", "2", "3", "4"]
    assert {r["query"]["startDate"] for r in asked} == {"20261123"} and asked[0]["query"]["endDate"] == "20261124"
    assert result["cursor"] == {"since": "2026-11-24T00:00:00+00:00"}
    # AND the fields are mapped: author, influence (mRank 0-10 -> 0-100), engagement aliases, geo, topics
    row = db.execute("SELECT * FROM mentions WHERE external_id = '981200341'").fetchone()
    assert (row["provider"], row["source"], row["author_handle"], row["author_followers"]) == (
        "mentionlytics",
        "twitter",
        "ana_votes",
        18230,
    )
    assert row["author_influence"] == pytest.approx(64.0) and row["country"] == "US"
    assert (row["likes"], row["shares"], row["comments"], row["reach"]) == (212, 40, 17, 30500)
    assert float(row["sentiment_score"]) == 0.8 and row["topics"] == ["healthcare", "town hall"]
    # AND a label-only sentiment is scored locally; bad values are dropped rather than failing the mention
    labelled = db.execute("SELECT sentiment_score FROM mentions WHERE external_id = '981200342'").fetchone()
    assert float(labelled["sentiment_score"]) < -0.3
    odd = db.execute("SELECT * FROM mentions WHERE external_id = '981200344'").fetchone()
    assert odd["author_followers"] is None and odd["country"] is None and odd["source"] == "instagram"


def test_a_second_sync_is_served_from_the_five_minute_cache_and_inserts_nothing(services, fake):
    # GIVEN a sync of a window; WHEN the same window is synced again within five minutes
    since = NOW - dt.timedelta(days=1)
    sync_mentions(_source(fake), now=NOW, since=since)
    asked = len(fake.requests)
    again = sync_mentions(_source(fake), now=NOW, since=since)
    # THEN the answers come from the cache: no request reaches Mentionlytics, and nothing is inserted twice
    assert (again["inserted"], again["duplicates"]) == (0, READABLE_V1_ITEMS)
    assert len(fake.requests) == asked


def test_a_sync_cut_short_resumes_at_the_next_page(services, fake):
    # GIVEN a sync allowed one page only
    first = sync_mentions(_source(fake), now=NOW, max_pages=1)
    assert first["cursor"]["page_cursor"] == {"page_no": 2}
    # WHEN the next sync runs
    second = sync_mentions(_source(fake), now=NOW)
    # THEN it starts at page 2 and, together, nothing is missing or doubled
    assert [r["query"]["page_no"] for r in fake.mention_requests()] == ["1", "2", "3", "4"]
    assert first["inserted"] + second["inserted"] == READABLE_V1_ITEMS


def test_429_5xx_and_malformed_json_are_retried_honouring_retry_after(services, fake):
    # GIVEN a server that fails the next four requests in every way it can
    fake.faults.extend(["429:1", "429", "500", "malformed"])
    # WHEN a sync runs
    result = sync_mentions(_source(fake, per_page=100), now=NOW)
    # THEN it was delayed but lost nothing
    assert result["inserted"] == READABLE_V1_ITEMS
    times = [r["at"] for r in fake.mention_requests()]
    assert len(times) == 5
    assert times[1] - times[0] >= 0.95  # Retry-After: 1 was honoured


def test_a_429_that_outlasts_the_retries_fails_clearly_and_the_next_sync_catches_up(services, fake, db):
    fake.faults.extend(["429"] * 3)
    with pytest.raises(SourceUnavailable) as failed:
        sync_mentions(_source(fake, per_page=100, max_attempts=3), now=NOW)
    assert failed.value.cause == "rate_limited" and failed.value.status_code == 503
    assert db.execute("SELECT count(*) AS n FROM mentions").fetchone()["n"] == 0

    caught_up = sync_mentions(_source(fake, per_page=100), now=NOW)
    assert caught_up["inserted"] == READABLE_V1_ITEMS


def test_requests_stay_within_the_shared_rate_limit(services, fake):
    # GIVEN a limit of 2 requests per second shared through Redis, and five pages to fetch
    source = _source(fake, per_page=1, rate_limit=2, rate_window_s=1)
    sync_mentions(source, now=NOW)
    # THEN no three consecutive requests fell within one second
    times = [r["at"] for r in fake.mention_requests()]
    assert len(times) == 7
    assert all(later - earlier >= 0.9 for earlier, later in zip(times, times[2:], strict=False))


def test_v2_renews_an_expired_bearer_token_with_the_refresh_token(services, fake, db):
    import redis

    source = _source(fake, version="v2", token="expired-bearer", refresh_token=fake.refresh_token, per_page=100)
    result = sync_mentions(source, now=NOW)
    assert result["inserted"] == 3
    paths = [r["path"] for r in fake.requests]
    assert paths == ["/api/v2/mentions", "/api/v2/token/refresh", "/api/v2/mentions"]
    assert fake.requests[-1]["authorization"] == "Bearer renewed-bearer-token"
    assert redis.Redis.from_url(services.redis_url).get("mentionlytics:v2:access_token") == b"renewed-bearer-token"
    youtube = db.execute("SELECT * FROM mentions WHERE external_id = 'm2-77001'").fetchone()
    assert (youtube["source"], youtube["author_handle"], youtube["region"]) == ("youtube", "civicchannel", "Ohio")
    assert float(youtube["sentiment_score"]) == 0.62 and youtube["author_influence"] == pytest.approx(71)
    assert db.execute("SELECT source FROM mentions WHERE external_id = 'm2-77003'").fetchone()["source"] == "forums"


@pytest.fixture
def live_mode(services, db, monkeypatch, fake):
    """LIVE data mode with the connector pointed at the fake."""
    from warroom.core.config import reset_settings
    from warroom.core.data_mode import forget_local_copy

    db.execute(
        "INSERT INTO settings (key, value) VALUES ('data_mode', '\"LIVE\"'), ('mentionlytics_api_version', '\"v1\"')"
    )
    monkeypatch.setenv("WARROOM_MENTIONLYTICS_BASE_URL", fake.base_url)
    forget_local_copy()

    def configure(token: str | None) -> None:
        if token is None:
            monkeypatch.delenv("MENTIONLYTICS_API_TOKEN", raising=False)
        else:
            monkeypatch.setenv("MENTIONLYTICS_API_TOKEN", token)
        reset_settings()

    yield configure
    forget_local_copy()
    reset_settings()


@pytest.mark.parametrize(("token", "cause"), [("wrong-token", "token_rejected"), (None, "token_missing")])
def test_post_sync_in_live_mode_answers_503_naming_the_cause(live_mode, invoke, token_for, db, token, cause):
    # GIVEN LIVE mode with a rejected or missing token, and a mention already stored
    live_mode(token)
    db.execute("INSERT INTO mentions (provider, external_id, source, content) VALUES ('mock', 'x1', 'news', 'kept')")
    # WHEN a manager asks for a sync
    answer = invoke("MentionsFunction", "mentions_sync", token=token_for("manager"))
    # THEN it is a 503 that says why, and the stored data is still served
    assert answer.status == 503, answer.body
    assert answer.body["error"]["details"] == {"dependency": "mentionlytics", "cause": cause}
    assert "MENTIONLYTICS_API_TOKEN" in answer.body["error"]["message"]
    assert "retry-after" in answer.headers
    listed = invoke("MentionsFunction", "mentions_list", token=token_for("readonly"))
    assert [i["content"] for i in listed.body["items"]] == ["kept"]


def test_post_sync_in_live_mode_pulls_from_mentionlytics(live_mode, invoke, token_for, fake):
    live_mode(fake.v1_token)
    answer = invoke("MentionsFunction", "mentions_sync", token=token_for("manager"))
    assert answer.status == 200, answer.body
    assert answer.body["provider"] == "mentionlytics" and answer.body["inserted"] == READABLE_V1_ITEMS
