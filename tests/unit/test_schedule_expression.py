"""EventBridge schedule expressions: rate, cron in EventBridge's 6-field syntax, at; next fire times; clear errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from localcloud.schedule_expression import InvalidScheduleExpression, parse_schedule_expression

# Friday 3 January 2025, 09:00 UTC
FRIDAY_9AM = datetime(2025, 1, 3, 9, 0, tzinfo=UTC)


def fire_times(text: str, after: datetime = FRIDAY_9AM, count: int = 3, **options: str | bool) -> list[str]:
    expression = parse_schedule_expression(text, **options)  # type: ignore[arg-type]
    times, moment = [], after
    for _ in range(count):
        moment = expression.next_after(moment)
        if moment is None:
            break
        times.append(moment.strftime("%a %Y-%m-%d %H:%M"))
    return times


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rate(1 minute)", ["Fri 2025-01-03 09:01", "Fri 2025-01-03 09:02", "Fri 2025-01-03 09:03"]),
        ("rate(15 minutes)", ["Fri 2025-01-03 09:15", "Fri 2025-01-03 09:30", "Fri 2025-01-03 09:45"]),
        ("rate(2 hours)", ["Fri 2025-01-03 11:00", "Fri 2025-01-03 13:00", "Fri 2025-01-03 15:00"]),
        ("rate(1 day)", ["Sat 2025-01-04 09:00", "Sun 2025-01-05 09:00", "Mon 2025-01-06 09:00"]),
    ],
)
def test_rate_fires_every_interval(text: str, expected: list[str]) -> None:
    # GIVEN a rate expression / WHEN its next fire times are computed from Friday 09:00
    times = fire_times(text)

    # THEN they are one interval apart
    assert times == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # every day at 10:15 UTC, `?` in day-of-week
        ("cron(15 10 * * ? *)", ["Fri 2025-01-03 10:15", "Sat 2025-01-04 10:15", "Sun 2025-01-05 10:15"]),
        # weekdays at 08:00: a Friday after 08:00 goes to Monday
        ("cron(0 8 ? * MON-FRI *)", ["Mon 2025-01-06 08:00", "Tue 2025-01-07 08:00", "Wed 2025-01-08 08:00"]),
        # EventBridge numbers days from Sunday=1: 2-6 is Monday-Friday
        ("cron(0 8 ? * 2-6 *)", ["Mon 2025-01-06 08:00", "Tue 2025-01-07 08:00", "Wed 2025-01-08 08:00"]),
        # 1 is Sunday, 7 is Saturday
        ("cron(0 12 ? * 1,7 *)", ["Sat 2025-01-04 12:00", "Sun 2025-01-05 12:00", "Sat 2025-01-11 12:00"]),
        # every 20 minutes from 09:00 to 10:59, ranges and steps
        ("cron(0/20 9-10 ? * * *)", ["Fri 2025-01-03 09:20", "Fri 2025-01-03 09:40", "Fri 2025-01-03 10:00"]),
        # the first of each quarter's first month
        ("cron(0 0 1 */3 ? *)", ["Tue 2025-04-01 00:00", "Tue 2025-07-01 00:00", "Wed 2025-10-01 00:00"]),
        # L: the last day of the month
        ("cron(0 18 L * ? *)", ["Fri 2025-01-31 18:00", "Fri 2025-02-28 18:00", "Mon 2025-03-31 18:00"]),
        # 6L: the last Friday of the month
        ("cron(0 18 ? * 6L *)", ["Fri 2025-01-31 18:00", "Fri 2025-02-28 18:00", "Fri 2025-03-28 18:00"]),
        # 3#2: the second Tuesday of the month
        ("cron(0 9 ? * 3#2 *)", ["Tue 2025-01-14 09:00", "Tue 2025-02-11 09:00", "Tue 2025-03-11 09:00"]),
        # 15W: the weekday nearest the 15th (15 Feb 2025 is a Saturday)
        ("cron(0 9 15W * ? *)", ["Wed 2025-01-15 09:00", "Fri 2025-02-14 09:00", "Fri 2025-03-14 09:00"]),
        # months by name, one year only: nothing after it
        ("cron(0 0 1 JAN,JUL ? 2025)", ["Tue 2025-07-01 00:00"]),
        ("cron(0 0 1 1 ? 2026-2030/2)", ["Thu 2026-01-01 00:00", "Sat 2028-01-01 00:00", "Tue 2030-01-01 00:00"]),
    ],
)
def test_cron_follows_eventbridge_syntax_in_utc(text: str, expected: list[str]) -> None:
    # GIVEN an EventBridge cron expression / WHEN its next fire times are computed
    times = fire_times(text)

    # THEN they are EventBridge's (UTC)
    assert times == expected


def test_cron_in_a_scheduler_time_zone_and_at() -> None:
    # GIVEN EventBridge Scheduler expressions with ScheduleExpressionTimezone Europe/Madrid (UTC+1 in January)
    # WHEN / THEN cron fires at Madrid's 09:30 (08:30 UTC) and at() once, then never
    assert fire_times("cron(30 9 * * ? *)", timezone="Europe/Madrid", count=1) == ["Sat 2025-01-04 08:30"]
    assert fire_times("at(2025-02-01T10:00:00)", timezone="Europe/Madrid", allow_at=True) == ["Sat 2025-02-01 09:00"]
    assert fire_times("at(2024-02-01T10:00:00)", allow_at=True) == []


def test_an_impossible_date_never_fires() -> None:
    # GIVEN the 31st of February / WHEN its next fire is asked / THEN there is none
    assert fire_times("cron(0 0 31 2 ? *)") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rate(1 minutes)", r"wants rate\(1 minute\)"),
        ("rate(5 minute)", r"wants rate\(5 minutes\)"),
        ("rate(0 minutes)", "positive"),
        ("rate(1 week)", "minute"),
        ("rate(one minute)", "whole number"),
        ("cron(0 8 * * *)", "6 fields"),
        ("cron(0 8 * * MON *)", r"\? in exactly one"),
        ("cron(0 8 ? * ? *)", r"\? in exactly one"),
        ("cron(60 8 ? * MON *)", "out of range"),
        ("cron(0 24 * * ? *)", "out of range"),
        ("cron(0 8 ? * 8 *)", "not a day of the week"),
        ("cron(0 8 ? * 3#6 *)", "occurrence 1-5"),
        ("cron(0 8 ? FOO * *)", "not a month"),
        ("cron(0 8 ? * MON 1900)", "1970-2199"),
        ("cron(H 8 ? * MON *)", "characters EventBridge rejects"),
        ("at(2030-01-01T00:00:00)", "expected rate"),  # at() is for EventBridge Scheduler only
        ("every morning", "not a schedule expression"),
    ],
)
def test_invalid_expressions_are_rejected_with_a_reason(text: str, message: str) -> None:
    # GIVEN an expression EventBridge would refuse / WHEN it is parsed / THEN the error says what is wrong
    with pytest.raises(InvalidScheduleExpression, match=message):
        parse_schedule_expression(text)


def test_an_unknown_time_zone_is_rejected() -> None:
    # GIVEN a time zone that does not exist / WHEN / THEN it is refused, naming it
    with pytest.raises(InvalidScheduleExpression, match="Mars/Olympus"):
        parse_schedule_expression("cron(0 8 * * ? *)", timezone="Mars/Olympus")
