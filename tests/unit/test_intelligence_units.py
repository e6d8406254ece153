"""The Intelligence Hub's pure logic: input validation, the strict schema, the local analysis, the brief's rules."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from typing import Any

import pytest
from pydantic import ValidationError

from tests.fake_openai import document_for
from warroom.core.openai_client import _retry_after_s, response_format, strict_json_schema
from warroom.intelligence.analysis import cache_key, normalise_text
from warroom.intelligence.briefing import _event_detail, _event_time, day_bounds, template_narrative
from warroom.intelligence.local_analysis import LOCAL_MODEL, Piece, analyse_locally
from warroom.intelligence.models import (
    AnalysisResult,
    AnalyzeBody,
    BriefFigures,
    BriefNarrative,
    CampaignFigures,
    CrisisFigures,
    DayPart,
    KeywordTrend,
    MentionFigures,
    Period,
    TopicFigure,
)

HOSTILE = "Disgraceful. Maria Alvarez lied about medicare. Terrible, awful record. #Scandal"
FRIENDLY = "Great to see Maria Alvarez in Philadelphia tonight, she nailed healthcare! #Alvarez2026"


def _keywords(node: Any) -> set[str]:
    """Every JSON-schema keyword used inside ``node`` (property and definition names excluded)."""
    if isinstance(node, list):
        return set().union(*(_keywords(item) for item in node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found = set(node)
    for key, value in node.items():
        children = value.values() if key in ("properties", "$defs") else [value]
        found |= set().union(*(_keywords(child) for child in children)) if children else set()
    return found


def _objects(node: Any) -> list[dict[str, Any]]:
    """Every object schema inside ``node``."""
    found = []
    if isinstance(node, dict):
        if node.get("type") == "object":
            found.append(node)
        for value in node.values():
            found += _objects(value)
    elif isinstance(node, list):
        for value in node:
            found += _objects(value)
    return found


# ------------------------------------------------------------------------------------------- the request


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"text", "mention_ids"}),
        ({"text": "   "}, {"text"}),
        ({"text": "x" * 20_001}, {"text"}),
        ({"mention_ids": []}, {"mention_ids"}),
        ({"mention_ids": [str(uuid.uuid4()) for _ in range(101)]}, {"mention_ids"}),
        ({"mention_ids": ["not-a-uuid"]}, {"mention_ids"}),
        ({"text": "ok", "other": 1}, {"other"}),
    ],
)
def test_analyze_body_rejects_bad_input_naming_the_field(body: dict[str, Any], fields: set[str]) -> None:
    with pytest.raises(ValidationError) as raised:
        AnalyzeBody.model_validate(body)
    assert fields <= {error["loc"][0] for error in raised.value.errors()}


def test_analyze_body_accepts_text_ids_or_both() -> None:
    ids = [str(uuid.uuid4()) for _ in range(100)]
    assert AnalyzeBody(text="x" * 20_000).text
    assert len(AnalyzeBody.model_validate({"mention_ids": ids}).mention_ids or []) == 100
    assert AnalyzeBody.model_validate({"text": "hi", "mention_ids": ids[:1]}).text == "hi"


def test_identical_requests_share_a_cache_key_and_anything_else_does_not() -> None:
    # GIVEN the same text with other white space, and the same ids in another order
    assert normalise_text("  Alvarez \n\t lied\u00a0again ") == "Alvarez lied again"
    a, b = sorted(str(uuid.uuid4()) for _ in range(2))
    base = cache_key("MOCK", LOCAL_MODEL, normalise_text("Alvarez  lied"), [a, b])
    # THEN the normalised request has one key; another mode, model, text or id set has another
    assert base == cache_key("MOCK", LOCAL_MODEL, normalise_text(" Alvarez lied "), [a, b])
    others = {
        cache_key("LIVE", LOCAL_MODEL, "Alvarez lied", [a, b]),
        cache_key("MOCK", "gpt-4o-mini", "Alvarez lied", [a, b]),
        cache_key("MOCK", LOCAL_MODEL, "Alvarez lies", [a, b]),
        cache_key("MOCK", LOCAL_MODEL, "Alvarez lied", [a]),
    }
    assert base not in others and len(others) == 4
    assert base.startswith("intelligence:analysis:")


# ------------------------------------------------------------------------------------------- the schema


@pytest.mark.parametrize("model", [AnalysisResult, BriefNarrative])
def test_the_schema_sent_to_openai_is_strict_and_matches_the_model(model: type) -> None:
    schema = strict_json_schema(model)
    # THEN every object requires all its properties and forbids others, as strict mode demands
    objects = _objects(schema)
    assert objects
    for node in objects:
        assert node["additionalProperties"] is False and node["required"] == list(node["properties"])
    assert not _keywords(schema) & {"title", "default"}
    assert list(schema["properties"]) == list(model.model_fields)
    # AND a document that obeys the schema (what the fake answers) validates against the model
    assert model.model_validate(document_for(schema)) is not None
    assert response_format(model, "x")["json_schema"]["strict"] is True


def test_retry_after_is_read_from_openais_headers_and_bounded() -> None:
    assert _retry_after_s({"retry-after": "7"}) == 7
    assert _retry_after_s({"retry-after-ms": "1500"}) == 2
    assert _retry_after_s({"retry-after": "3600"}) == 60
    assert _retry_after_s({"retry-after": "soon"}) == 10
    assert _retry_after_s({}) == 10


# ------------------------------------------------------------------------------------------- local analysis


def test_local_analysis_is_deterministic() -> None:
    pieces = [Piece(HOSTILE), Piece(FRIENDLY, score=0.7, topics=("rally",), reach=500)]
    assert analyse_locally(pieces) == analyse_locally(list(pieces))


def test_a_hostile_post_is_negative_about_healthcare_with_a_high_risk() -> None:
    result = analyse_locally([Piece(HOSTILE)])
    assert result.sentiment.label == "negative" and result.sentiment.score < -0.8
    assert result.themes[0] in ("healthcare", "ethics") and "healthcare" in result.themes
    assert "medicare" in result.keywords and "#scandal" in result.keywords and "about" not in result.keywords
    assert result.risk.level == "high"
    assert any("crisis vocabulary" in reason for reason in result.risk.reasons)
    assert "holding statement" in result.suggested_response


def test_a_friendly_post_is_low_risk_and_names_people_and_places() -> None:
    result = analyse_locally([Piece(FRIENDLY)])
    assert (result.sentiment.label, result.risk.level) == ("positive", "low")
    names = {(entity.name, entity.type) for entity in result.entities}
    assert {("Maria Alvarez", "person"), ("Philadelphia", "location")} <= names
    assert "Amplify" in result.suggested_response


def test_entities_cover_accounts_organisations_and_titles_but_not_sentence_openers() -> None:
    text = "Yesterday Governor Blake met the AFL-CIO and the Keystone Daily. @ana_votes asked about the FBI on Monday."
    names = {(entity.name, entity.type) for entity in analyse_locally([Piece(text)]).entities}
    assert {
        ("Governor Blake", "person"),
        ("AFL-CIO", "organization"),
        ("Keystone Daily", "organization"),
        ("@ana_votes", "account"),
        ("FBI", "organization"),
    } <= names
    assert not {name for name, _ in names} & {"Yesterday", "Monday"}


def test_stored_scores_win_over_vader_and_a_wide_hostile_reach_raises_the_risk() -> None:
    calm = [Piece("The debate is on Thursday.", score=-0.95, reach=60_000) for _ in range(4)]
    result = analyse_locally(calm)
    assert result.sentiment.score == -0.95
    assert result.risk.level == "high"
    assert any("wide reach" in reason for reason in result.risk.reasons)
    assert any("4 of 4 mentions strongly negative" in reason for reason in result.risk.reasons)


# ------------------------------------------------------------------------------------------- the brief


def test_campaign_days_follow_the_time_zone_and_daylight_saving() -> None:
    new_york = zoneinfo.ZoneInfo("America/New_York")
    start, end = day_bounds(dt.date(2026, 11, 20), new_york)
    assert (start.isoformat(), end.isoformat()) == ("2026-11-20T05:00:00+00:00", "2026-11-21T05:00:00+00:00")
    fall_back_start, fall_back_end = day_bounds(dt.date(2026, 11, 1), new_york)
    assert fall_back_end - fall_back_start == dt.timedelta(hours=25)
    india_start, _ = day_bounds(dt.date(2026, 11, 20), zoneinfo.ZoneInfo("Asia/Kolkata"))
    assert india_start.isoformat() == "2026-11-19T18:30:00+00:00"


def test_the_event_gives_now_and_its_detail_may_come_as_json_text() -> None:
    assert _event_time({"time": "2026-11-21T11:00:00Z"}) == dt.datetime(2026, 11, 21, 11, tzinfo=dt.UTC)
    assert _event_time({}).tzinfo is not None
    assert _event_detail({"detail": '{"force": true}'}) == {"force": True}
    assert _event_detail({"detail": "{}"}) == {} and _event_detail({}) == {}


def _figures(**changes: Any) -> BriefFigures:
    start = dt.datetime(2026, 11, 20, 5, tzinfo=dt.UTC)
    figures = {
        "report_date": dt.date(2026, 11, 21),
        "timezone": "America/New_York",
        "covers": Period(start=start, end=start + dt.timedelta(days=1)),
        "mode": "MOCK",
        "mentions": MentionFigures(
            mentions=300,
            mentions_previous_day=100,
            mentions_change_pct=200.0,
            avg_sentiment=-0.2,
            avg_sentiment_previous_day=0.1,
            sentiment_change=-0.3,
            negative_share=0.4,
            strongly_negative=12,
            reach=50_000,
            top_sources=[],
        ),
        "today_so_far": DayPart(period=Period(start=start, end=start), mentions=0, avg_sentiment=None),
        "top_topics": [TopicFigure(topic="healthcare", mentions=200, mentions_previous_day=20, avg_sentiment=-0.5)],
        "trending_keywords": [
            KeywordTrend(term="medicare", mentions=150, baseline_expected=10, growth=15, score=44.1, avg_sentiment=-0.6)
        ],
        "crises": CrisisFigures(opened=[], resolved=[], open_now=2),
        "campaigns": CampaignFigures(available=False, note="no campaign data"),
    }
    return BriefFigures(**{**figures, **changes})


def test_the_template_narrative_states_the_figures_and_recommends_from_them() -> None:
    narrative = template_narrative(_figures())
    assert narrative.headline == "300 mentions on Friday 20 November (+200% on the day before), sentiment neutral"
    assert (
        "healthcare (200)" in narrative.narrative and "'medicare' (150, 15.0x its usual level)" in narrative.narrative
    )
    assert "no campaign data" in narrative.narrative
    actions = " ".join(narrative.recommendations)
    assert "2 open crisis alert(s)" in actions and "Sentiment fell 0.30" in actions and "'medicare'" in actions
    assert "Connect the ad accounts" in actions


def test_a_day_without_mentions_is_a_quiet_day() -> None:
    empty = MentionFigures(
        mentions=0,
        mentions_previous_day=0,
        mentions_change_pct=None,
        avg_sentiment=None,
        avg_sentiment_previous_day=None,
        sentiment_change=None,
        negative_share=None,
        strongly_negative=0,
        reach=0,
        top_sources=[],
    )
    figures = _figures(
        mentions=empty, top_topics=[], trending_keywords=[], crises=CrisisFigures(opened=[], resolved=[], open_now=0)
    )
    narrative = template_narrative(figures)
    assert narrative.headline == "Quiet day: no mentions recorded on Friday 20 November"
    assert narrative.recommendations == ["Connect the ad accounts so campaign performance appears in the brief."]
