"""Sentiment on the seed's -1..1 scale: the source's own score when it gives one, else VADER's.

Example
-------
>>> score_text("Great rally tonight!")
0.659
>>> fill_missing_scores(mentions)      # in place; only those without a score are scored

VADER (Valence Aware Dictionary and sEntiment Reasoner) is built for short social-media text: it reads
emphasis, capitals, emoji and negation. Its ``compound`` score already lies in -1..1, so the mapping is
the identity, rounded to the three decimals the column keeps. The analyser loads its lexicon once per
container, on first use.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from warroom.mentions.models import MentionIn


@functools.cache
def _analyser() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def score_text(text: str) -> float:
    """VADER's compound score of ``text``, in -1..1, three decimals."""
    compound = _analyser().polarity_scores(text or "")["compound"]
    return round(max(-1.0, min(1.0, compound)), 3)


def fill_missing_scores(mentions: Iterable[MentionIn]) -> int:
    """Score the mentions that arrived without a score; returns how many were scored."""
    scored = 0
    for mention in mentions:
        if mention.sentiment_score is None:
            mention.sentiment_score = score_text(mention.content)
            scored += 1
    return scored
