"""Document embeddings and summaries in LIVE: the official SDK against a local fake of OpenAI, usage in PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.fake_openai import FakeOpenAI, embedding_for, embedding_tokens
from warroom.core.openai_client import AIUnavailable
from warroom.documents.embeddings import EMBEDDING_DIMENSIONS, EMBEDDING_MODEL, embed_texts
from warroom.documents.summaries import LIVE_INPUT_CHARS, SYSTEM_PROMPT, extractive_summary, summarize

LIVE_MODEL = "gpt-test-mini"
PLAN = (
    "The plan caps hospital costs for seniors at two thousand dollars a year. Medicare would negotiate the prices "
    "of prescription drugs, which lowers hospital and pharmacy costs for seniors. The campaign office moved to Elm "
    "Street last spring. Independent estimates say the caps on hospital costs save seniors twelve billion dollars."
)
WRITTEN = "The plan caps seniors' hospital costs and lets Medicare negotiate drug prices, saving $12bn."


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def live(services, monkeypatch, fake_openai):
    """OpenAI pointed at the fake; no SDK retries and a short timeout unless a test asks for more."""
    from warroom.core.config import reset_settings

    monkeypatch.setenv("OPENAI_API_KEY", fake_openai.api_key)
    monkeypatch.setenv("WARROOM_OPENAI_BASE_URL", fake_openai.base_url)
    monkeypatch.setenv("WARROOM_OPENAI_MODEL", LIVE_MODEL)
    monkeypatch.setenv("WARROOM_OPENAI_MAX_RETRIES", "0")
    monkeypatch.setenv("WARROOM_OPENAI_TIMEOUT_S", "5")
    reset_settings()
    yield fake_openai
    reset_settings()


def _configure(monkeypatch, **env: str) -> None:
    from warroom.core.config import reset_settings

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_settings()


def _usage(db) -> list[dict]:
    return db.execute(
        "SELECT purpose, model, prompt_tokens, total_tokens, user_id FROM ai_usage ORDER BY id"
    ).fetchall()


# ---------------------------------------------------------------------------------------------- embeddings


def test_live_embeddings_are_batched_put_back_in_order_and_their_usage_recorded(live, db, make_user):
    # GIVEN 5,000 short texts, and OpenAI answering every batch out of index order
    user_id = make_user()
    texts = [f"Chunk {n}: hospital costs for seniors, take {n % 7}." for n in range(5000)]
    live.shuffle_embeddings = True

    # WHEN they are embedded in LIVE
    batch = embed_texts(texts, mode="LIVE", user_id=user_id)

    # THEN three requests went, within the API's 2,048 inputs each, for the configured embedding model
    requests = live.embedding_requests()
    assert [len(body["input"]) for body in requests] == [2048, 2048, 904]
    assert [text for body in requests for text in body["input"]] == texts
    assert {body["model"] for body in requests} == {EMBEDDING_MODEL}
    # AND every vector is the one of its own text, whatever the order of the answer
    assert (batch.source, batch.model, len(batch.vectors)) == ("openai", EMBEDDING_MODEL, 5000)
    assert all(len(vector) == EMBEDDING_DIMENSIONS for vector in batch.vectors)
    assert batch.vectors[0] == embedding_for(texts[0]) and batch.vectors[4999] == embedding_for(texts[4999])
    assert all(vector == embedding_for(text) for vector, text in zip(batch.vectors, texts, strict=True))
    # AND each call's tokens are a row of ai_usage
    per_request = [sum(embedding_tokens(text) for text in body["input"]) for body in requests]
    assert _usage(db) == [
        {
            "purpose": "document_embedding",
            "model": EMBEDDING_MODEL,
            "prompt_tokens": tokens,
            "total_tokens": tokens,
            "user_id": uuid.UUID(user_id),
        }
        for tokens in per_request
    ]
    assert batch.total_tokens == sum(per_request)


def test_long_texts_are_batched_within_the_token_limit(live, db):
    # GIVEN 300 texts of about 1,000 tokens each (the API takes 300,000 tokens a request; the fake enforces it)
    texts = [f"{n:04d} " + "campaign " * 444 for n in range(300)]

    batch = embed_texts(texts, mode="LIVE")

    sizes = [len(body["input"]) for body in live.embedding_requests()]
    assert len(sizes) == 2 and sum(sizes) == 300
    assert len(batch.vectors) == 300 and batch.vectors[299] == embedding_for(texts[299])
    assert len(_usage(db)) == 2


def test_the_sdk_retries_rate_limits_and_server_errors_then_succeeds(live, db, monkeypatch):
    # GIVEN OpenAI rate-limiting, then failing, then answering; the SDK retrying twice (1 ms apart)
    _configure(monkeypatch, WARROOM_OPENAI_MAX_RETRIES="2")
    live.retry_after_ms = 1
    live.faults.extend(["429", "500"])

    batch = embed_texts(["hospital costs", "school funding"], mode="LIVE")

    # THEN the third try answered; one call's tokens were recorded
    assert len(live.embedding_requests()) == 3
    assert batch.vectors == [embedding_for("hospital costs"), embedding_for("school funding")]
    assert len(_usage(db)) == 1


@pytest.mark.parametrize(
    ("faults", "retries", "cause", "tries", "usage_rows"),
    [
        (["429", "429"], 1, "rate_limited", 2, 0),
        (["500", "500", "500"], 2, "upstream_error", 3, 0),
        (["401"], 2, "key_rejected", 1, 0),
        (["malformed"], 2, "malformed_answer", 1, 1),
        (["invalid"], 2, "malformed_answer", 1, 1),
    ],
)
def test_openai_failures_are_ai_unavailable_naming_the_cause(
    live, db, monkeypatch, faults, retries, cause, tries, usage_rows
):
    # GIVEN OpenAI failing as many times as the SDK tries (a malformed answer is not retried: it is a 200)
    _configure(monkeypatch, WARROOM_OPENAI_MAX_RETRIES=str(retries))
    live.retry_after_ms = 1
    live.faults.extend(faults)

    # WHEN texts are embedded
    with pytest.raises(AIUnavailable) as raised:
        embed_texts(["hospital costs", "school funding"], mode="LIVE")

    # THEN it is the cause in one word, never the vendor's text nor the key
    assert raised.value.cause == cause
    assert raised.value.details == {"dependency": "openai", "cause": cause}
    assert live.api_key not in raised.value.message and live.api_key[-4:] not in raised.value.message
    assert len(live.embedding_requests()) == tries
    # AND tokens were recorded only for an answer that was paid for
    assert len(_usage(db)) == usage_rows


def test_a_rate_limit_says_when_to_come_back(live):
    live.faults.append("429:7")
    with pytest.raises(AIUnavailable) as raised:
        embed_texts(["hospital costs"], mode="LIVE")
    assert (raised.value.cause, raised.value.headers["Retry-After"]) == ("rate_limited", "7")


def test_a_slow_answer_is_a_timeout(live, monkeypatch):
    _configure(monkeypatch, WARROOM_OPENAI_TIMEOUT_S="0.2")
    live.faults.append("slow:1")
    with pytest.raises(AIUnavailable) as raised:
        embed_texts(["hospital costs"], mode="LIVE")
    assert raised.value.cause == "timeout"


def test_a_failing_later_batch_keeps_the_usage_of_the_earlier_ones(live, db):
    # GIVEN the first request answered, the second rejected
    live.faults.extend(["ok", "500"])
    with pytest.raises(AIUnavailable) as raised:
        embed_texts([f"text {n}" for n in range(3000)], mode="LIVE")
    assert raised.value.cause == "upstream_error"
    assert [len(body["input"]) for body in live.embedding_requests()] == [2048, 952]
    assert len(_usage(db)) == 1


def test_live_without_a_key_is_not_configured(live, monkeypatch):
    _configure(monkeypatch, OPENAI_API_KEY="")
    with pytest.raises(AIUnavailable) as raised:
        embed_texts(["hospital costs"], mode="LIVE")
    assert raised.value.cause == "not_configured"
    assert live.requests == []


# ---------------------------------------------------------------------------------------------- summaries


def test_live_summary_is_written_by_openai_from_the_bounded_text_and_its_usage_recorded(live, db, make_user):
    user_id = make_user()
    live.replies.append({"summary": f"  {WRITTEN}\n"})
    long_text = PLAN + " More detail on hospital costs for seniors." * 400
    assert len(long_text) > LIVE_INPUT_CHARS

    summary = summarize(long_text, mode="LIVE", title="  Healthcare\nplan ", user_id=user_id)

    assert (summary.text, summary.source, summary.fallback_reason) == (WRITTEN, "openai", None)
    [request] = live.requests
    body = request["body"]
    assert request["path"] == "/v1/chat/completions" and body["model"] == LIVE_MODEL
    assert body["response_format"]["json_schema"]["name"] == "document_summary"
    assert body["response_format"]["json_schema"]["schema"]["required"] == ["summary"]
    system, user = body["messages"]
    assert system == {"role": "system", "content": SYSTEM_PROMPT}
    assert "Title: Healthcare plan\n" in user["content"] and PLAN in user["content"]
    assert f"first {LIVE_INPUT_CHARS:,} of its {len(long_text):,} characters" in user["content"]
    document = user["content"].split("<<<\n", 1)[1].rsplit("\n>>>", 1)[0]
    assert len(document) <= LIVE_INPUT_CHARS
    assert [(row["purpose"], row["model"], str(row["user_id"])) for row in _usage(db)] == [
        ("document_summary", LIVE_MODEL, user_id)
    ]


@pytest.mark.parametrize(
    ("fault", "reason", "usage_rows"),
    [
        ("500", "upstream_error", 0),
        ("401", "key_rejected", 0),
        ("429", "rate_limited", 0),
        ("malformed", "malformed_answer", 1),
    ],
)
def test_live_summary_falls_back_to_the_extract_and_says_why(live, db, fault, reason, usage_rows):
    live.faults.append(fault)

    summary = summarize(PLAN, mode="LIVE", title="Healthcare plan")

    assert (summary.source, summary.fallback_reason) == ("extractive", reason)
    assert summary.text == extractive_summary(PLAN) and "hospital costs" in summary.text
    assert len(_usage(db)) == usage_rows


def test_an_empty_answer_is_malformed_and_falls_back(live):
    live.replies.append({"summary": "   "})
    summary = summarize(PLAN, mode="LIVE")
    assert (summary.text, summary.source, summary.fallback_reason) == (
        extractive_summary(PLAN),
        "extractive",
        "malformed_answer",
    )


def test_live_summary_without_a_key_falls_back_as_not_configured(live, monkeypatch):
    _configure(monkeypatch, OPENAI_API_KEY="")
    summary = summarize(PLAN, mode="LIVE")
    assert (summary.source, summary.fallback_reason) == ("extractive", "not_configured")
    assert live.requests == []


def test_an_empty_document_is_not_sent(live):
    summary = summarize("  \n ", mode="LIVE")
    assert (summary.text, summary.source, summary.fallback_reason) == ("", "extractive", None)
    assert live.requests == []


def test_mock_mode_never_calls_openai(live, db):
    assert embed_texts([PLAN], mode="MOCK").source == "mock"
    assert summarize(PLAN, mode="MOCK").source == "extractive"
    assert live.requests == [] and _usage(db) == []
