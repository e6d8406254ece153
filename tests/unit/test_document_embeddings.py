"""The documents domain's local models: the hashed mock embedding, request batching, the extractive summary."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

from tests.conftest import PROJECT_ROOT
from warroom.documents.embeddings import (
    EMBEDDING_DIMENSIONS,
    MAX_ESTIMATED_TOKENS_PER_REQUEST,
    MAX_INPUTS_PER_REQUEST,
    MOCK_MODEL,
    cosine,
    embed_texts,
    estimate_tokens,
    mean_embedding,
    mock_embedding,
    request_batches,
    stem,
)
from warroom.documents.summaries import extractive_summary, split_sentences, summarize

QUERY = "Seniors worry about rising hospital costs."
MEDICARE = (
    "Medicare and hospital bills for older Americans keep climbing. Retirees on fixed incomes pay more for every "
    "hospital stay, and the costs of care for seniors have doubled in a decade."
)
SCHOOLS = (
    "The school funding formula gives districts more money for teachers and classrooms. Rural schools say the "
    "state budget still leaves them short of textbooks and buses."
)
PLAN = """Healthcare Plan 2026

The plan caps hospital costs for seniors at two thousand dollars a year. Medicare would negotiate the prices of
prescription drugs for seniors, which lowers hospital and pharmacy costs. Rural hospitals would get emergency
funding so seniors keep a hospital near home. The campaign office moved to Elm Street last spring. Independent
estimates say the caps on hospital costs save seniors and Medicare twelve billion dollars.

Questions go to the press office."""


def _norm(vector: list[float]) -> float:
    return math.sqrt(math.fsum(value * value for value in vector))


# ---------------------------------------------------------------------------------------------- mock embedding


@pytest.mark.parametrize("text", [QUERY, MEDICARE, "x", "", "   ", "the and of to", "Ünïcödé façade 2026 #tag"])
def test_mock_embeddings_have_1536_dimensions_and_unit_length(text):
    vector = mock_embedding(text)
    assert len(vector) == EMBEDDING_DIMENSIONS
    assert _norm(vector) == pytest.approx(1.0, abs=1e-9)
    assert all(isinstance(value, float) and math.isfinite(value) for value in vector)


def test_mock_embeddings_are_deterministic_across_processes():
    # GIVEN a vector computed here
    mine = mock_embedding(MEDICARE)
    assert mock_embedding(MEDICARE) == mine
    # WHEN another interpreter, with another hash seed, computes it
    script = (
        f"from warroom.documents.embeddings import mock_embedding; import sys;print(repr(mock_embedding({MEDICARE!r})))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(PROJECT_ROOT / "layers")}
    other = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    # THEN it is the same vector, float for float (blake2b, never hash())
    assert json.loads(other.stdout) == mine


def test_texts_sharing_words_stems_and_phrases_are_near():
    query = mock_embedding(QUERY)
    # a reworded sentence about hospital costs for seniors is nearer the Medicare paragraph than the schools one
    assert cosine(query, mock_embedding(MEDICARE)) > cosine(query, mock_embedding(SCHOOLS)) + 0.2
    assert abs(cosine(query, mock_embedding(SCHOOLS))) < 0.15
    # stems: inflections of the same words are near, unrelated words are not
    assert cosine(mock_embedding("taxes on voters"), mock_embedding("tax voting")) > 0.4
    assert cosine(mock_embedding("taxes on voters"), mock_embedding("climate rally")) < 0.15
    # a phrase in the same order is nearer than the same words scattered (bigrams)
    phrase = mock_embedding("border security funding")
    assert cosine(phrase, mock_embedding("new border security funding bill")) > cosine(
        phrase, mock_embedding("funding new security at the border bill")
    )
    # case and stop words do not matter
    assert cosine(mock_embedding("The Hospital COSTS"), mock_embedding("hospital costs")) == pytest.approx(1.0)


def test_stems_strip_common_suffixes():
    assert [stem(word) for word in ("hospitals", "taxes", "policies", "funding", "seniors", "costs")] == [
        "hospital",
        "tax",
        "policy",
        "fund",
        "senior",
        "cost",
    ]
    assert stem("voters") == stem("voting") and stem("class") == "class" and stem("2026") == "2026"


# ---------------------------------------------------------------------------------------------- embed_texts, MOCK


def test_mock_mode_embeds_every_text_in_order_without_tokens():
    batch = embed_texts([QUERY, MEDICARE, SCHOOLS], mode="MOCK")
    assert (batch.source, batch.model, batch.total_tokens) == ("mock", MOCK_MODEL, 0)
    assert batch.vectors == [mock_embedding(QUERY), mock_embedding(MEDICARE), mock_embedding(SCHOOLS)]
    assert embed_texts([], mode="MOCK").vectors == []


@pytest.mark.parametrize("mode", ["MOCK", "LIVE"])
def test_an_empty_text_is_refused_in_either_mode(mode):
    with pytest.raises(ValueError, match="text 1 is empty"):
        embed_texts(["fine", "  \n"], mode=mode)


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="unknown data mode"):
        embed_texts(["fine"], mode="live")


def test_the_mean_embedding_is_normalised():
    vectors = [mock_embedding(QUERY), mock_embedding(MEDICARE)]
    mean = mean_embedding(vectors)
    assert len(mean) == EMBEDDING_DIMENSIONS and _norm(mean) == pytest.approx(1.0)
    assert cosine(mean, vectors[0]) == pytest.approx(cosine(mean, vectors[1]))
    assert mean_embedding([vectors[0]]) == pytest.approx(vectors[0])
    assert mean_embedding([[3.0, 4.0]]) == pytest.approx([0.6, 0.8])
    with pytest.raises(ValueError):
        mean_embedding([])


# ---------------------------------------------------------------------------------------------- batching


def test_requests_hold_at_most_2048_inputs():
    texts = [f"short text {n}" for n in range(5000)]
    batches = list(request_batches(texts))
    assert [len(inputs) for _, inputs in batches] == [MAX_INPUTS_PER_REQUEST, MAX_INPUTS_PER_REQUEST, 904]
    assert [offset for offset, _ in batches] == [0, 2048, 4096]
    assert [text for _, inputs in batches for text in inputs] == texts


def test_requests_stay_within_the_token_budget():
    texts = [f"{n:04d}" + "word " * 800 for n in range(300)]  # about 1,000 tokens each
    batches = list(request_batches(texts))
    assert len(batches) == 2 and sum(len(inputs) for _, inputs in batches) == 300
    for _, inputs in batches:
        assert sum(estimate_tokens(text) for text in inputs) <= MAX_ESTIMATED_TOKENS_PER_REQUEST
    # a single input over the budget still goes, alone
    huge = "x" * (MAX_ESTIMATED_TOKENS_PER_REQUEST * 4 + 8)
    assert [len(inputs) for _, inputs in request_batches(["a", huge, "b"])] == [1, 1, 1]


# ---------------------------------------------------------------------------------------------- summaries


def test_sentences_are_split_at_their_ends_not_at_abbreviations():
    text = "Budget 2026\n\nDr. Lee spoke. Costs rose 4% in the\nU.S. economy. Why? \u201cBecause,\u201d she said."
    assert split_sentences(text) == [
        "Budget 2026",
        "Dr. Lee spoke.",
        "Costs rose 4% in the U.S. economy.",
        "Why?",
        "\u201cBecause,\u201d she said.",
    ]


def test_the_extractive_summary_keeps_the_central_sentences_in_document_order():
    summary = extractive_summary(PLAN, max_sentences=3)
    sentences = split_sentences(summary)
    assert len(sentences) == 3
    # the off-topic sentence, the heading and the closing line are left out
    assert "Elm Street" not in summary and "Healthcare Plan 2026" not in summary and "press office" not in summary
    assert "hospital costs" in summary
    # in the document's order
    positions = [PLAN.replace("\n", " ").index(sentence[:40]) for sentence in sentences]
    assert positions == sorted(positions)
    # deterministic
    assert extractive_summary(PLAN, max_sentences=3) == summary


def test_the_extractive_summary_is_bounded():
    long_document = " ".join(
        f"Section {n} explains how hospital costs for seniors change in year {n}." for n in range(400)
    )
    for max_chars in (60, 200, 1200):
        summary = extractive_summary(long_document, max_chars=max_chars)
        assert 0 < len(summary) <= max_chars
    assert len(split_sentences(extractive_summary(long_document, max_sentences=2, max_chars=5000))) <= 2
    # one sentence longer than the budget is cut at a word, with an ellipsis
    one = "Hospital costs for seniors " + "keep rising every single year " * 20 + "."
    clipped = extractive_summary(one, max_chars=100)
    assert len(clipped) <= 100 and clipped.endswith("\u2026") and " " in clipped
    assert extractive_summary("") == "" and extractive_summary(" \n\n ") == ""


def test_near_repeats_are_not_kept_twice():
    text = (
        "Hospital costs for seniors rose sharply this year. Hospital costs for seniors rose sharply this year! "
        "Medicare spending on hospital care for seniors also grew."
    )
    summary = extractive_summary(text, max_sentences=2)
    assert summary.count("rose sharply") == 1 and "Medicare" in summary


def test_mock_summaries_are_extractive():
    summary = summarize(PLAN, mode="MOCK", title="Healthcare plan")
    assert (summary.source, summary.fallback_reason) == ("extractive", None)
    assert summary.text == extractive_summary(PLAN)
    with pytest.raises(ValueError, match="unknown data mode"):
        summarize(PLAN, mode="mock")
