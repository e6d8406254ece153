"""Embeddings of document chunks: OpenAI's ``text-embedding-3-small`` in LIVE, a local hashed model in MOCK.

Example
-------
>>> batch = embed_texts(["Medicare and hospital bills", "School funding"], mode="MOCK")
>>> batch.source, batch.model, len(batch.vectors), len(batch.vectors[0])
('mock', 'warroom-hashed-1', 2, 1536)
>>> document_vector = mean_embedding(batch.vectors)           # documents.vector_embeddings

LIVE asks the official SDK (the project's one client, :mod:`warroom.core.openai_client`) for
``embeddings.create`` in batches within the API's limits -- at most ``MAX_INPUTS_PER_REQUEST`` inputs and,
estimating a token as four characters, ``MAX_ESTIMATED_TOKENS_PER_REQUEST`` tokens per request (the API
allows 300,000; the margin covers texts the estimate undercounts). The SDK retries 429 and 5xx with backoff
itself (``WARROOM_OPENAI_MAX_RETRIES``). Each answer is put back in input order by its items' ``index``
and checked (one vector of ``EMBEDDING_DIMENSIONS`` per input); each call's tokens are a row of
``ai_usage`` (purpose ``document_embedding``), also when its answer then turns out malformed. Whatever
goes wrong is one :class:`~warroom.core.openai_client.AIUnavailable` naming the cause, as for chat.

MOCK needs no network and no key: :func:`mock_embedding` hashes the text's features -- lower-cased words
(minus stop words), their crude stems, word bigrams and character 3/4-grams within words -- into 1536 signed
buckets (blake2b, so the same text has the same vector in every process), weighted and L2-normalised. Texts
sharing words, stems and phrases land near each other, which is what keyword-heavy campaign search needs
of a stand-in. Inputs are chunks (a few thousand characters), well within the API's 8,192 tokens per input.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import logging
import math
import operator
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from warroom.core.openai_client import AIUnavailable, configured_client, map_openai_error, record_usage

logger = logging.getLogger(__name__)

EMBEDDING_DIMENSIONS = 1536  # document_chunks.embedding, documents.vector_embeddings: VECTOR(1536)
EMBEDDING_MODEL = "text-embedding-3-small"
MOCK_MODEL = "warroom-hashed-1"
USAGE_PURPOSE = "document_embedding"
# The API's limits per request: 2,048 inputs and 300,000 tokens summed over them.
MAX_INPUTS_PER_REQUEST = 2048
MAX_TOKENS_PER_REQUEST = 300_000
MAX_ESTIMATED_TOKENS_PER_REQUEST = 240_000
CHARS_PER_TOKEN = 4

# Feature weights of the mock model: whole words and stems carry the meaning, bigrams the phrases, character
# n-grams the near-misses (plurals, typos, compounds).
WORD_WEIGHT = 1.0
STEM_WEIGHT = 1.0
BIGRAM_WEIGHT = 0.7
CHAR_NGRAM_WEIGHT = 0.3
CHAR_NGRAM_SIZES = (3, 4)

STOP_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her here
    hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of
    off on once only or other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up very was we were what
    when where which while who whom why will with would you your yours yourself yourselves""".split()  # noqa: SIM905
)
# Longest first; each keeps a stem of at least three letters.
_SUFFIXES = (
    "ational",
    "ations",
    "ation",
    "itions",
    "ition",
    "tions",
    "tion",
    "ments",
    "ment",
    "nesses",
    "ness",
    "ities",
    "ity",
    "ingly",
    "ings",
    "ing",
    "edly",
    "ers",
    "est",
    "ed",
    "er",
    "ly",
)
_TOKEN = re.compile(r"[^\W_]+")
_APOSTROPHES = str.maketrans("", "", "'\u2019")

Source = Literal["openai", "mock"]


@dataclass(frozen=True)
class EmbeddingBatch:
    """The vectors of a list of texts, in the texts' order, and what made them."""

    vectors: list[list[float]]
    model: str
    source: Source
    total_tokens: int


# ---------------------------------------------------------------------------------------------- MOCK


def _bucket(feature: str) -> tuple[int, float]:
    """(index, sign) of a feature: blake2b, never ``hash()``, so every process agrees."""
    value = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
    return value % EMBEDDING_DIMENSIONS, 1.0 if value >> 63 else -1.0


# Character n-grams recur across words far more than words do: a new word mostly costs no hashing.
_ngram_bucket = functools.lru_cache(maxsize=131_072)(_bucket)


@functools.lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """A crude English stem: the longest common suffix stripped (``seniors`` -> ``senior``, ``voting`` -> ``vot``).

    Example
    -------
    >>> stem("hospitals"), stem("taxes"), stem("policies"), stem("funding")
    ('hospital', 'tax', 'policy', 'fund')
    """
    if len(word) <= 3 or word.isdigit():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("es") and word[:-2].endswith(("s", "x", "z", "ch", "sh")) and len(word) > 4:
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


@functools.lru_cache(maxsize=65_536)
def _word_features(word: str) -> tuple[tuple[int, float], ...]:
    """The signed, weighted buckets of one word: itself, its stem and its character n-grams, merged."""
    weights: dict[int, float] = {}
    index, sign = _bucket("w:" + word)
    weights[index] = sign * WORD_WEIGHT
    index, sign = _bucket("s:" + stem(word))
    weights[index] = weights.get(index, 0.0) + sign * STEM_WEIGHT
    padded = f"<{word}>"
    for size in CHAR_NGRAM_SIZES:
        for start in range(len(padded) - size + 1):
            index, sign = _ngram_bucket("c:" + padded[start : start + size])
            weights[index] = weights.get(index, 0.0) + sign * CHAR_NGRAM_WEIGHT
    return tuple(weights.items())


@functools.lru_cache(maxsize=131_072)
def _bigram_feature(first: str, second: str) -> tuple[int, float]:
    index, sign = _bucket(f"b:{first} {second}")
    return index, sign * BIGRAM_WEIGHT


def content_words(text: str) -> list[str]:
    """The lower-cased words of ``text`` that carry meaning: no stop words, no single letters."""
    words = _TOKEN.findall(text.lower().translate(_APOSTROPHES))
    return [word for word in words if len(word) > 1 and word not in STOP_WORDS]


def mock_embedding(text: str) -> list[float]:
    """The MOCK model's vector of ``text``: deterministic, offline, 1536 dimensions, L2-normalised.

    A text without content words (empty, only stop words) gets one fixed unit vector, so every vector can
    be stored and compared.

    Example
    -------
    >>> query = mock_embedding("Seniors worry about rising hospital costs")
    >>> near = mock_embedding("Medicare and hospital bills for older Americans; costs for seniors keep rising.")
    >>> far = mock_embedding("The school funding formula gives districts more money for teachers.")
    >>> cosine(query, near) > cosine(query, far)
    True
    """
    vector = [0.0] * EMBEDDING_DIMENSIONS
    words = content_words(text)
    for word, count in Counter(words).items():
        for index, weight in _word_features(word):
            vector[index] += weight * count
    stems = [stem(word) for word in words]
    for (first, second), count in Counter(itertools.pairwise(stems)).items():
        index, weight = _bigram_feature(first, second)
        vector[index] += weight * count
    norm = math.hypot(*vector)
    if norm == 0.0:
        index, sign = _bucket("empty")
        vector[index] = sign
        return vector
    scale = 1.0 / norm
    return [value * scale for value in vector]


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """The cosine similarity of two vectors (their dot product when both are normalised, as all of ours are)."""
    if len(a) != len(b):
        raise ValueError(f"vectors of {len(a)} and {len(b)} dimensions cannot be compared")
    dot = math.fsum(map(operator.mul, a, b))
    norms = math.hypot(*a) * math.hypot(*b)
    return dot / norms if norms else 0.0


def mean_embedding(vectors: Sequence[Sequence[float]]) -> list[float]:
    """The normalised mean of a document's chunk vectors: its ``documents.vector_embeddings``.

    Example
    -------
    >>> mean_embedding([[1.0, 0.0], [0.0, 1.0]])
    [0.7071067811865475, 0.7071067811865475]
    """
    if not vectors:
        raise ValueError("the mean of no vectors is undefined")
    sums = [math.fsum(column) for column in zip(*vectors, strict=True)]
    norm = math.hypot(*sums)
    return [value / norm for value in sums] if norm else sums


# ---------------------------------------------------------------------------------------------- LIVE


def estimate_tokens(text: str) -> int:
    """A token count for batching: four characters a token (OpenAI's rule of thumb for English)."""
    return len(text) // CHARS_PER_TOKEN + 1


def request_batches(texts: Sequence[str]) -> Iterator[tuple[int, list[str]]]:
    """(offset, inputs) of each request: at most ``MAX_INPUTS_PER_REQUEST`` inputs and about
    ``MAX_ESTIMATED_TOKENS_PER_REQUEST`` tokens (a single larger input still goes, alone)."""
    start, tokens = 0, 0
    for position, text in enumerate(texts):
        estimate = estimate_tokens(text)
        full = position - start >= MAX_INPUTS_PER_REQUEST or tokens + estimate > MAX_ESTIMATED_TOKENS_PER_REQUEST
        if position > start and full:
            yield start, list(texts[start:position])
            start, tokens = position, 0
        tokens += estimate
    if start < len(texts):
        yield start, list(texts[start:])


def embed_texts(texts: list[str], *, mode: str, user_id: str | None = None) -> EmbeddingBatch:
    """The embeddings of ``texts`` in their order: OpenAI when ``mode`` is ``LIVE``, the mock model in ``MOCK``.

    Raises ``ValueError`` for an empty (or blank) text, which the API refuses, in either mode; in LIVE,
    :class:`AIUnavailable` when OpenAI is not configured, cannot be reached, refuses or answers malformed.

    Example
    -------
    >>> batch = embed_texts(chunks, mode=get_data_mode(), user_id=document.uploaded_by)
    >>> batch.source, batch.total_tokens
    ('openai', 18342)
    """
    if mode not in ("LIVE", "MOCK"):
        raise ValueError(f"unknown data mode {mode!r}")
    for position, text in enumerate(texts):
        if not text or not text.strip():
            raise ValueError(f"text {position} is empty: nothing to embed")
    if mode == "MOCK":
        return EmbeddingBatch([mock_embedding(text) for text in texts], MOCK_MODEL, "mock", 0)
    return _embed_live(texts, user_id)


def _embed_live(texts: list[str], user_id: str | None) -> EmbeddingBatch:
    import openai

    client = configured_client("embeddings")
    vectors: list[list[float]] = []
    model, total_tokens = EMBEDDING_MODEL, 0
    for offset, inputs in request_batches(texts):
        try:
            response = client.embeddings.create(model=EMBEDDING_MODEL, input=inputs)
        except openai.APIError as error:
            raise map_openai_error(USAGE_PURPOSE, error) from error
        except ValueError as error:  # the SDK's own reading of the answer ("No embedding data received")
            raise _malformed(f"OpenAI's embeddings for inputs {offset}+ could not be read.") from error
        model = response.model or EMBEDDING_MODEL
        usage = getattr(response, "usage", None)
        prompt_tokens = getattr(usage, "prompt_tokens", 0) or 0
        call_tokens = getattr(usage, "total_tokens", 0) or prompt_tokens
        record_usage(USAGE_PURPOSE, model, prompt_tokens=prompt_tokens, total_tokens=call_tokens, user_id=user_id)
        total_tokens += call_tokens
        vectors.extend(_in_input_order(response.data, len(inputs), offset))
    return EmbeddingBatch(vectors, model, "openai", total_tokens)


def _in_input_order(data: Any, expected: int, offset: int) -> list[list[float]]:
    """The answer's vectors by their ``index``; one of the right dimension per input, or malformed."""
    items = list(data or [])
    try:
        ordered = sorted(items, key=lambda item: item.index)
    except (AttributeError, TypeError) as error:
        raise _malformed("OpenAI's embeddings came without their indexes.") from error
    if [item.index for item in ordered] != list(range(expected)):
        message = f"OpenAI answered {len(items)} embeddings for {expected} inputs (from {offset})."
        raise _malformed(message)
    vectors = [getattr(item, "embedding", None) for item in ordered]
    for position, vector in enumerate(vectors):
        if not isinstance(vector, list) or len(vector) != EMBEDDING_DIMENSIONS:
            size = len(vector) if isinstance(vector, list) else "no"
            message = f"OpenAI's embedding of input {offset + position} has {size} dimensions, not 1536."
            raise _malformed(message)
    return vectors


def _malformed(message: str) -> AIUnavailable:
    logger.warning("openai call for %s failed: malformed_answer (%s)", USAGE_PURPOSE, message)
    return AIUnavailable("malformed_answer", message)
