"""A time series answers a bounded number of buckets whatever the history: its span is capped per interval."""

from __future__ import annotations

import pytest

MENTIONS = "MentionsFunction"


@pytest.mark.parametrize(
    ("interval", "start", "end", "limit"),
    [
        ("minute", "2026-11-01T00:00:00Z", "2026-11-03T00:00:01Z", "48 hours"),
        ("hour", "2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z", "90 days"),
        ("day", "2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z", "2 years"),
    ],
)
def test_a_span_over_the_intervals_limit_is_a_422_naming_it(invoke, token_for, interval, start, end, limit):
    answer = invoke(
        MENTIONS,
        "mentions_sentiment",
        token=token_for("readonly"),
        query={"interval": [interval], "from": [start], "to": [end]},
    )
    assert answer.status == 422, answer.body
    assert limit in str(answer.body["error"]["details"])


def test_the_longest_allowed_spans_answer(invoke, token_for):
    token = token_for("readonly")
    for interval, start in (("minute", "2026-11-01T00:00:00Z"), ("hour", "2026-08-05T00:00:00Z")):
        end = "2026-11-03T00:00:00Z"
        answer = invoke(
            MENTIONS, "mentions_sentiment", token=token, query={"interval": [interval], "from": [start], "to": [end]}
        )
        assert answer.status == 200, answer.body
