"""The Intelligence Hub through its real handlers: real PostgreSQL, Redis and moto, a local fake for OpenAI."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from tests.conftest import load_event
from tests.fake_openai import FakeOpenAI
from tests.integration.auth_support import sent_emails, verify_sender
from warroom.core.openai_client import strict_json_schema
from warroom.intelligence.models import AnalysisResult, BriefNarrative
from warroom.mentions.ingest import ingest_mentions
from warroom.mentions.models import MentionIn

INTELLIGENCE = "IntelligenceFunction"
DAILY_BRIEF = "DailyBriefFunction"
LIVE_MODEL = "gpt-test-mini"
HOSTILE = "Disgraceful. Maria Alvarez lied about medicare. Terrible, awful record. #Scandal"
# 2026-11-21 11:00 UTC is 06:00 in New York (EST, after daylight saving ended on 1 November).
BRIEF_TIME = "2026-11-21T11:00:00Z"
CAMPAIGN_TZ = "America/New_York"
AI_ANALYSIS = {
    "summary": "A hostile post accusing the candidate of lying about medicare.",
    "sentiment": {"score": -0.82, "label": "negative"},
    "themes": ["healthcare", "ethics"],
    "keywords": ["medicare", "lied", "#scandal"],
    "entities": [{"name": "Maria Alvarez", "type": "person"}],
    "risk": {"level": "high", "reasons": ["accusation of lying", "scandal hashtag"]},
    "suggested_response": "Publish the medicare record with sources within the hour.",
}
AI_NARRATIVE = {
    "headline": "Healthcare backlash doubles mentions",
    "narrative": "Mentions tripled on Friday, driven by medicare.",
    "highlights": ["3 mentions, up from 1"],
    "recommendations": ["Prepare medicare talking points."],
}


# ---------------------------------------------------------------------------------------------- fixtures


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def live(services, db, monkeypatch, fake_openai):
    """LIVE data mode with OpenAI pointed at the fake: no retries and a short timeout keep failures fast."""
    from warroom.core.config import reset_settings
    from warroom.core.data_mode import forget_local_copy

    db.execute("INSERT INTO settings (key, value) VALUES ('data_mode', '\"LIVE\"')")
    monkeypatch.setenv("OPENAI_API_KEY", fake_openai.api_key)
    monkeypatch.setenv("WARROOM_OPENAI_BASE_URL", fake_openai.base_url)
    monkeypatch.setenv("WARROOM_OPENAI_MODEL", LIVE_MODEL)
    monkeypatch.setenv("WARROOM_OPENAI_MAX_RETRIES", "0")
    monkeypatch.setenv("WARROOM_OPENAI_TIMEOUT_S", "1")
    reset_settings()
    forget_local_copy()
    yield fake_openai
    reset_settings()
    forget_local_copy()


def _analyze(invoke, token: str, body: Any) -> Any:
    return invoke(INTELLIGENCE, "intelligence_analyze", token=token, body=body)


def _analysis_keys(services) -> list[bytes]:
    return redis.Redis.from_url(services.redis_url).keys("intelligence:analysis:*")


def _mention(external_id: str, published_at: str, score: float, topics: list[str], keywords: list[str]) -> MentionIn:
    return MentionIn(
        provider="mock",
        external_id=external_id,
        source="twitter",
        content=f"Mention {external_id} about {' and '.join(topics)}",
        published_at=dt.datetime.fromisoformat(published_at),
        author_handle=f"author_{external_id}",
        reach=1000,
        sentiment_score=score,
        topics=topics,
        keywords=keywords,
    )


# ---------------------------------------------------------------------------------------------- analyze, MOCK


def test_mock_analysis_answers_the_full_shape_deterministically_and_caches_it(services, invoke, token_for):
    token = token_for("user")
    # WHEN a user asks for the analysis of a hostile post
    first = _analyze(invoke, token, {"text": HOSTILE})

    # THEN the local rules answer in the full shape
    assert first.status == 200, first.body
    body = first.body
    assert (body["mode"], body["model"], body["cached"], body["mentions_analysed"]) == (
        "MOCK",
        "warroom-local-1",
        False,
        0,
    )
    assert body["sentiment"]["label"] == "negative" and -1 <= body["sentiment"]["score"] < -0.3
    assert "healthcare" in body["themes"] and "medicare" in body["keywords"]
    assert {"name": "Maria Alvarez", "type": "person"} in body["entities"]
    assert body["risk"]["level"] in ("high", "critical") and body["risk"]["reasons"]
    assert body["suggested_response"] and body["summary"]

    # WHEN the same request comes again, with different white space
    again = _analyze(invoke, token, {"text": "  " + HOSTILE.replace(" ", "\n  ") + "\t"})
    # THEN it is the same answer, from the cache, kept for an hour
    assert again.status == 200 and again.body == {**body, "cached": True}
    [key] = _analysis_keys(services)
    assert 3500 < redis.Redis.from_url(services.redis_url).ttl(key) <= 3600

    # AND with the cache gone, the analysis is recomputed identically (deterministic)
    redis.Redis.from_url(services.redis_url).delete(key)
    recomputed = _analyze(invoke, token, {"text": HOSTILE})
    assert {**recomputed.body, "analysed_at": None} == {**body, "analysed_at": None}


def test_mock_analysis_of_stored_mentions_uses_their_scores_and_topics(services, invoke, token_for, db):
    # GIVEN two stored mentions, one very negative about healthcare, one mildly positive about the economy
    ingest_mentions(
        [
            _mention("a1", "2026-11-20T10:00:00+00:00", -0.9, ["healthcare"], ["medicare"]),
            _mention("a2", "2026-11-20T11:00:00+00:00", 0.3, ["economy"], ["prices"]),
        ],
        stream=False,
    )
    ids = [str(row["id"]) for row in db.execute("SELECT id FROM mentions ORDER BY external_id")]

    # WHEN they are analysed by id (listed twice: duplicates are ignored)
    answer = _analyze(invoke, token_for("user"), {"mention_ids": [*ids, ids[0]]})

    # THEN the stored scores are averaged and the stored topics are themes
    assert answer.status == 200, answer.body
    assert answer.body["mentions_analysed"] == 2
    assert answer.body["sentiment"]["score"] == pytest.approx(-0.3)
    assert set(answer.body["themes"]) >= {"healthcare", "economy"}


def test_unknown_mention_ids_are_a_404_naming_them(services, invoke, token_for, db):
    ingest_mentions([_mention("k1", "2026-11-20T10:00:00+00:00", 0.1, ["economy"], [])], stream=False)
    known = str(db.execute("SELECT id FROM mentions").fetchone()["id"])
    unknown = sorted(str(uuid.uuid4()) for _ in range(2))

    answer = _analyze(invoke, token_for("user"), {"mention_ids": [known, *unknown]})

    assert answer.status == 404 and answer.error_code == "not_found"
    assert answer.body["error"]["details"] == {"missing_mention_ids": unknown}
    assert unknown[0] in answer.body["error"]["message"] and known not in answer.body["error"]["message"]
    assert _analysis_keys(services) == []


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"text", "mention_ids"}),
        ({"text": None, "mention_ids": None}, {"text", "mention_ids"}),
        ({"text": ""}, {"text"}),
        ({"text": " \n\t "}, {"text"}),
        ({"text": "x" * 20_001}, {"text"}),
        ({"mention_ids": []}, {"mention_ids"}),
        ({"mention_ids": [str(uuid.uuid4()) for _ in range(101)]}, {"mention_ids"}),
        ({"mention_ids": ["42"]}, {"mention_ids"}),
        ({"text": "fine", "colour": "red"}, {"colour"}),
    ],
)
def test_bad_input_is_a_422_naming_the_field(services, invoke, token_for, body, fields):
    answer = _analyze(invoke, token_for("user"), body)
    assert answer.status == 422, answer.body
    assert answer.error_code == "validation_error"
    assert fields <= {d["loc"][1] for d in answer.body["error"]["details"] if d["loc"][0] == "body"}


def test_the_longest_allowed_text_is_analysed(services, invoke, token_for):
    answer = _analyze(invoke, token_for("user"), {"text": ("vote " * 4_000)[:20_000]})
    assert answer.status == 200, answer.body


def test_analysis_needs_the_user_role(services, invoke, token_for):
    # readonly may read, but an analysis may cost money: 403; no token at all: 401
    denied = _analyze(invoke, token_for("readonly"), {"text": HOSTILE})
    assert denied.status == 403 and denied.body["error"]["details"]["required_role"] == "user"
    assert _analyze(invoke, None, {"text": HOSTILE}).status == 401


# ---------------------------------------------------------------------------------------------- analyze, LIVE


def test_live_analysis_asks_openai_for_structured_output_records_usage_and_caches(live, invoke, make_user, db):
    from warroom.core.security import issue_access_token

    user_id = make_user("user")
    token = issue_access_token(user_id, "user")
    live.replies.append(AI_ANALYSIS)

    # WHEN a user asks for an analysis in LIVE
    answer = _analyze(invoke, token, {"text": HOSTILE})

    # THEN OpenAI's structured answer is returned, validated, with the configured model
    assert answer.status == 200, answer.body
    assert {k: answer.body[k] for k in AI_ANALYSIS} == AI_ANALYSIS
    assert (answer.body["mode"], answer.body["model"], answer.body["cached"]) == ("LIVE", LIVE_MODEL, False)
    # AND the request asked for the configured model and a strict JSON schema, with the text as data
    [request] = live.requests
    sent = request["body"]
    assert sent["model"] == LIVE_MODEL
    assert sent["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "campaign_analysis", "strict": True, "schema": strict_json_schema(AnalysisResult)},
    }
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]
    assert f"<<<\n{HOSTILE}\n>>>" in sent["messages"][1]["content"]
    # AND the call's token usage is recorded against the user
    usage = db.execute("SELECT * FROM ai_usage").fetchall()
    assert len(usage) == 1
    assert (usage[0]["purpose"], usage[0]["model"], str(usage[0]["user_id"]), usage[0]["cached"]) == (
        "analyze",
        LIVE_MODEL,
        user_id,
        False,
    )
    assert usage[0]["total_tokens"] == usage[0]["prompt_tokens"] + usage[0]["completion_tokens"] > 0

    # WHEN the same request comes again THEN the cache answers and OpenAI is not called
    again = _analyze(invoke, token, {"text": HOSTILE})
    assert again.status == 200 and again.body["cached"] is True
    assert len(live.requests) == 1
    cached_row = db.execute("SELECT * FROM ai_usage WHERE cached").fetchone()
    assert cached_row["total_tokens"] == 0 and str(cached_row["user_id"]) == user_id


def test_live_analysis_of_mentions_sends_them_as_data(live, invoke, token_for, db):
    ingest_mentions([_mention("l1", "2026-11-20T10:00:00+00:00", -0.5, ["healthcare"], [])], stream=False)
    mention_id = str(db.execute("SELECT id FROM mentions").fetchone()["id"])

    answer = _analyze(invoke, token_for("user"), {"mention_ids": [mention_id]})

    assert answer.status == 200 and answer.body["mentions_analysed"] == 1
    prompt = live.requests[0]["body"]["messages"][1]["content"]
    assert "Mentions (1):" in prompt and "@author_l1" in prompt and "<<<\nMention l1 about healthcare\n>>>" in prompt


@pytest.mark.parametrize(
    ("fault", "cause", "retry_after", "usage_rows"),
    [
        ("429", "rate_limited", "10", 0),
        ("429:7", "rate_limited", "7", 0),
        ("500", "upstream_error", "5", 0),
        ("401", "key_rejected", "5", 0),
        ("malformed", "malformed_answer", "5", 1),
        ("invalid", "malformed_answer", "5", 1),
        ("slow:3", "timeout", "5", 0),
    ],
)
def test_openai_failures_are_a_503_naming_the_cause_and_nothing_is_cached(
    live, invoke, token_for, db, services, fault, cause, retry_after, usage_rows
):
    # GIVEN OpenAI failing the next request
    live.faults.append(fault)
    token = token_for("user")

    # WHEN an analysis is asked for
    answer = _analyze(invoke, token, {"text": HOSTILE})

    # THEN it is a 503 in the one error shape, naming the cause but never the key or the vendor's text
    assert answer.status == 503, answer.body
    assert answer.error_code == "service_unavailable"
    assert answer.body["error"]["details"] == {"dependency": "openai", "cause": cause}
    assert answer.headers["retry-after"] == retry_after
    raw = json.dumps(answer.body)
    assert live.api_key not in raw and live.api_key[-4:] not in raw and "Incorrect API key" not in raw
    # AND nothing was cached; tokens were recorded only when an answer (a malformed one) was paid for
    assert _analysis_keys(services) == []
    assert db.execute("SELECT count(*) AS n FROM ai_usage").fetchone()["n"] == usage_rows
    # AND once OpenAI is back the same request is answered afresh
    recovered = _analyze(invoke, token, {"text": HOSTILE})
    assert recovered.status == 200 and recovered.body["cached"] is False


def test_live_without_an_api_key_is_a_503_saying_it_is_not_configured(live, invoke, token_for, monkeypatch):
    from warroom.core.config import reset_settings

    monkeypatch.delenv("OPENAI_API_KEY")
    reset_settings()

    answer = _analyze(invoke, token_for("user"), {"text": HOSTILE})

    assert answer.status == 503
    assert answer.body["error"]["details"] == {"dependency": "openai", "cause": "not_configured"}
    assert "OPENAI_API_KEY" in answer.body["error"]["message"]
    assert live.requests == []


# ---------------------------------------------------------------------------------------------- briefing route


def _briefing(invoke, token: str | None, generate: bool = False) -> Any:
    query = {"generate": ["true"]} if generate else None
    return invoke(INTELLIGENCE, "intelligence_briefing", token=token, query=query)


def test_briefing_is_a_404_until_one_exists(services, invoke, token_for):
    answer = _briefing(invoke, token_for("readonly"))
    assert answer.status == 404 and answer.error_code == "not_found"
    assert set(answer.body["error"]) == {"code", "message", "details"}


@pytest.mark.parametrize("role", ["readonly", "user"])
def test_generating_a_brief_needs_the_manager_role(services, invoke, token_for, db, role):
    answer = _briefing(invoke, token_for(role), generate=True)
    assert answer.status == 403 and answer.body["error"]["details"]["required_role"] == "manager"
    assert db.execute("SELECT count(*) AS n FROM reports").fetchone()["n"] == 0


def test_generate_now_builds_todays_brief_once_audited_and_readable_by_all(
    services, invoke, make_user, token_for, db, dashboard
):
    from warroom.core.security import issue_access_token

    manager_id = make_user("manager")
    manager = issue_access_token(manager_id, "manager")

    # WHEN a manager generates the brief now, twice
    first = _briefing(invoke, manager, generate=True)
    second = _briefing(invoke, manager, generate=True)

    # THEN the first answers today's brief (MOCK: template narrative), made by the manager
    assert first.status == 200, first.body
    assert first.body["report_date"] == dt.datetime.now(dt.UTC).date().isoformat()  # timezone setting: UTC
    assert first.body["generated_by"] == manager_id and first.body["narrative_source"] == "template"
    assert first.body["campaigns"] == {
        "available": False,
        "note": "no campaign data",
        "platforms": [],
        "total_spend": None,
    }
    # AND the second rebuilt it in place: one row for the day, same id, newer
    assert second.status == 200 and second.body["id"] == first.body["id"]
    assert second.body["generated_at"] > first.body["generated_at"]
    rows = db.execute("SELECT id, generated_by FROM reports WHERE report_type = 'daily_brief'").fetchall()
    assert [(str(r["id"]), str(r["generated_by"])) for r in rows] == [(first.body["id"], manager_id)]
    # AND both were audited as the manager's, and broadcast to the dashboard
    audits = db.execute(
        "SELECT user_id, details FROM audit_logs WHERE action = 'intelligence.brief_generate' ORDER BY timestamp"
    ).fetchall()
    assert [(str(a["user_id"]), a["details"]["replaced"]) for a in audits] == [(manager_id, False), (manager_id, True)]
    assert [m["event"] for m in dashboard] == ["intelligence:daily-brief"] * 2
    assert dashboard[0]["data"]["id"] == first.body["id"] and dashboard[0]["data"]["headline"] == first.body["headline"]
    # AND anyone may read it
    latest = _briefing(invoke, token_for("readonly"))
    assert latest.status == 200 and latest.body == second.body


# ---------------------------------------------------------------------------------------------- daily brief job


def _schedule(lambda_runtime, time_: str = BRIEF_TIME, detail: dict[str, Any] | None = None) -> dict[str, Any]:
    event = load_event("daily_brief_schedule")
    event["time"] = time_
    event["detail"] = detail if detail is not None else {}
    return lambda_runtime.invoke(DAILY_BRIEF, event)


@pytest.fixture
def campaign_day(services, db):
    """New York time, and a known Friday 2026-11-20 (local) with the Thursday before it, and Saturday so far."""
    db.execute("INSERT INTO settings (key, value) VALUES ('timezone', %s)", (json.dumps(CAMPAIGN_TZ),))
    ingest_mentions(
        [
            # Thursday (the day before): one mildly positive economy mention
            _mention("t1", "2026-11-19T15:00:00+00:00", 0.2, ["economy"], ["prices"]),
            # Friday: healthcare takes off (New York midnight is 05:00 UTC)
            _mention("f1", "2026-11-20T05:30:00+00:00", 0.6, ["healthcare"], ["medicare"]),
            _mention("f2", "2026-11-20T18:00:00+00:00", -0.9, ["healthcare"], ["medicare"]),
            _mention("f3", "2026-11-21T04:59:00+00:00", 0.0, ["economy"], ["prices"]),
            # Saturday so far
            _mention("s1", "2026-11-21T08:00:00+00:00", 0.5, ["rally"], ["crowd"]),
        ],
        stream=False,
    )
    db.execute(
        "INSERT INTO crisis_events (kind, subject_dimension, subject_value, title, severity, status, detected_at,"
        " resolved_at) VALUES"
        " ('detected', 'topic', 'healthcare', 'Healthcare backlash', 7, 'active', '2026-11-20T18:05:00Z', NULL),"
        " ('manual', NULL, NULL, 'Debate clip', 4, 'resolved', '2026-11-19T12:00:00Z', '2026-11-20T20:00:00Z')"
    )
    ids = {
        r["external_id"]: r["id"]
        for r in db.execute(
            "INSERT INTO campaigns (platform, external_id, account_id, name) VALUES"
            " ('meta', 'c1', 'a', 'Persuasion'), ('google_ads', 'c2', 'b', 'GOTV'), ('google_ads', 'c3', 'b', 'Issue')"
            " RETURNING id, external_id"
        ).fetchall()
    }
    db.execute(
        "INSERT INTO campaign_days (campaign_id, day, impressions, clicks, spend) VALUES"
        " (%s, '2026-11-20', 10000, 250, 120.5), (%s, '2026-11-20', 5000, 50, 80), (%s, '2026-11-19', 0, 0, 999)",
        (ids["c1"], ids["c2"], ids["c3"]),
    )
    return db


@pytest.fixture
def subscriber(services, db) -> str:
    """An active, verified user subscribed to the daily brief (and SES's sender verified in moto)."""
    verify_sender()
    email = f"brief-{uuid.uuid4().hex[:8]}@example.org"
    user_id = db.execute(
        "INSERT INTO users (email, password_hash, role, email_verified_at) VALUES (%s, 'x', 'readonly', now())"
        " RETURNING id",
        (email,),
    ).fetchone()["id"]
    db.execute("INSERT INTO notification_subscriptions (user_id, channel) VALUES (%s, 'daily_brief')", (user_id,))
    return email


def test_the_0600_run_builds_stores_and_emails_the_brief_of_the_previous_day_once(
    campaign_day, lambda_runtime, subscriber, db
):
    # WHEN the hourly schedule fires at 06:00 New York time
    result = _schedule(lambda_runtime)

    # THEN it built Saturday's brief, about Friday
    assert result["acted"] is True and result["created"] is True and result["report_date"] == "2026-11-21"
    row = db.execute("SELECT * FROM reports WHERE report_type = 'daily_brief'").fetchone()
    assert row["generated_by"] is None and row["report_date"] == dt.date(2026, 11, 21)
    brief = row["generated_data"]
    assert brief["covers"] == {"start": "2026-11-20T05:00:00Z", "end": "2026-11-21T05:00:00Z"}
    mentions = brief["mentions"]
    assert (mentions["mentions"], mentions["mentions_previous_day"], mentions["mentions_change_pct"]) == (3, 1, 200.0)
    assert mentions["avg_sentiment"] == pytest.approx(-0.1) and mentions["sentiment_change"] == pytest.approx(-0.3)
    assert mentions["strongly_negative"] == 1 and mentions["top_sources"] == [{"source": "twitter", "mentions": 3}]
    assert [(t["topic"], t["mentions"], t["mentions_previous_day"]) for t in brief["top_topics"]] == [
        ("healthcare", 2, 0),
        ("economy", 1, 1),
    ]
    assert brief["trending_keywords"][0]["term"] == "medicare"
    assert brief["today_so_far"]["mentions"] == 1
    assert [c["title"] for c in brief["crises"]["opened"]] == ["Healthcare backlash"]
    assert [c["title"] for c in brief["crises"]["resolved"]] == ["Debate clip"]
    assert brief["crises"]["open_now"] == 1 and brief["crises"]["opened"][0]["subject"] == "topic: healthcare"
    assert brief["campaigns"]["available"] is True and brief["campaigns"]["total_spend"] == pytest.approx(200.5)
    assert {p["platform"]: p["campaigns"] for p in brief["campaigns"]["platforms"]} == {"google_ads": 1, "meta": 1}
    # AND the MOCK narrative is the template's, stating those figures
    assert brief["narrative_source"] == "template" and brief["narrative_note"] is None
    assert brief["headline"].startswith("3 mentions on Friday 20 November (+200% on the day before)")
    assert "healthcare (2)" in brief["narrative"] and "Healthcare backlash" in brief["narrative"]
    # AND the subscriber got it by email
    [message] = sent_emails(subscriber)
    assert brief["headline"] in message["subject"] and "Recommendations" in message["body"]

    # WHEN the schedule fires again for the same day (a retry)
    again = _schedule(lambda_runtime)
    # THEN nothing more is stored or sent
    assert again["acted"] is False and "exists" in again["reason"]
    assert db.execute("SELECT count(*) AS n FROM reports").fetchone()["n"] == 1
    assert len(sent_emails(subscriber)) == 1


@pytest.mark.parametrize("time_", ["2026-11-21T10:00:00Z", "2026-11-21T12:00:00Z", "2026-11-21T06:00:00Z"])
def test_the_hourly_run_does_nothing_outside_0600_campaign_time(campaign_day, lambda_runtime, db, time_):
    # 05:00 and 07:00 in New York, and 06:00 UTC (01:00 there): not the hour
    result = _schedule(lambda_runtime, time_)
    assert result["acted"] is False and "America/New_York" in result["reason"]
    assert db.execute("SELECT count(*) AS n FROM reports").fetchone()["n"] == 0


def test_the_sample_event_and_a_date_in_the_detail_build_outside_the_hour(campaign_day, lambda_runtime, db):
    # WHEN `warroom invoke` sends the sample event (detail.force) at 07:00 local, and then names a date
    forced = lambda_runtime.invoke(DAILY_BRIEF, {**load_event("daily_brief_schedule"), "time": "2026-11-21T12:00:00Z"})
    dated = _schedule(lambda_runtime, "2026-11-21T12:00:00Z", {"date": "2026-11-20"})
    # THEN both acted: today's brief and the one of the given date, one row each
    assert forced["acted"] is True and forced["report_date"] == "2026-11-21"
    assert dated["acted"] is True and dated["report_date"] == "2026-11-20"
    dates = [r["report_date"] for r in db.execute("SELECT report_date FROM reports ORDER BY report_date")]
    assert dates == [dt.date(2026, 11, 20), dt.date(2026, 11, 21)]


def test_live_brief_is_written_by_openai_and_its_usage_recorded(campaign_day, live, lambda_runtime, db):
    live.replies.append(AI_NARRATIVE)

    result = _schedule(lambda_runtime)

    assert result["acted"] is True and result["narrative_source"] == "ai"
    brief = db.execute("SELECT generated_data FROM reports").fetchone()["generated_data"]
    assert {k: brief[k] for k in AI_NARRATIVE} == AI_NARRATIVE
    assert (brief["narrative_model"], brief["mode"]) == (LIVE_MODEL, "LIVE")
    [request] = live.requests
    assert request["body"]["response_format"]["json_schema"]["schema"] == strict_json_schema(BriefNarrative)
    assert '"mentions_previous_day":1' in request["body"]["messages"][1]["content"]
    usage = db.execute("SELECT purpose, model, user_id FROM ai_usage").fetchall()
    assert usage == [{"purpose": "daily_brief", "model": LIVE_MODEL, "user_id": None}]


@pytest.mark.parametrize("fault", ["500", "malformed", "slow:3"])
def test_live_brief_with_openai_failing_still_stores_the_template_brief_and_says_so(
    campaign_day, live, lambda_runtime, db, subscriber, fault
):
    live.faults.append(fault)

    result = _schedule(lambda_runtime)

    assert result["acted"] is True and result["narrative_source"] == "template" and result["emailed"] == 1
    brief = db.execute("SELECT generated_data FROM reports").fetchone()["generated_data"]
    assert brief["narrative_source"] == "template" and brief["narrative_model"] is None
    assert "could not be written" in brief["narrative_note"] and brief["headline"].startswith("3 mentions")
    assert live.api_key not in json.dumps(brief)
    [message] = sent_emails(subscriber)
    assert "Note: The AI narrative could not be written" in message["body"]
