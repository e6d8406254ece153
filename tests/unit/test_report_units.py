"""Report pieces without services: CSV cells a spreadsheet cannot run, and when a schedule's period is due."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo

import pytest

from warroom.reports.exports import neutralise, require_binary_accept, write_csv
from warroom.reports.models import ScheduleCreate
from warroom.reports.schedules import latest_due
from warroom.reports.tables import ExportContent, Table

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        (-0.52, -0.52),
        (3, 3),
        (None, ""),
        (True, "true"),
        (["=a", "b"], "'=a; b"),
        (dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC), "2026-11-01T12:00:00Z"),
    ],
)
def test_text_that_starts_like_a_formula_is_quoted_and_numbers_stay_numbers(value, cell) -> None:
    assert neutralise(value) == cell


def test_csv_cells_round_trip_through_a_reader_with_quotes_commas_and_line_breaks() -> None:
    # GIVEN two tables with awkward text
    rows = [['say "hi", then\nleave', "=cmd"], ["ok", -1.5]]
    content = ExportContent(
        name="x",
        title="t",
        subtitle="",
        facts=[],
        tables=[Table("First", ["a", "b"], rows), Table("Second", ["c"], [["x"]])],
        charts=lambda: [],
    )
    # WHEN written
    out = io.BytesIO()
    assert write_csv(content, out) == 3
    # THEN a reader gets the same cells back (formulas quoted), each table under its title
    parsed = list(csv.reader(io.StringIO(out.getvalue().decode(), newline="")))
    assert parsed == [
        ["First"],
        ["a", "b"],
        ['say "hi", then\nleave', "'=cmd"],
        ["ok", "-1.5"],
        [],
        ["Second"],
        ["c"],
        ["x"],
    ]


@pytest.mark.parametrize(
    ("now", "frequency", "weekday", "hour", "period"),
    [
        # 07:05 in New York (EST, UTC-5): today's daily run is due and covers yesterday
        ("2026-11-23T12:05:00+00:00", "daily", None, 7, ("2026-11-22", "2026-11-23")),
        # 06:55 there: not yet, so the latest due period is the one before
        ("2026-11-23T11:55:00+00:00", "daily", None, 7, ("2026-11-21", "2026-11-22")),
        # summer time (EDT, UTC-4): 07:05 local is 11:05 UTC
        ("2026-07-01T11:05:00+00:00", "daily", None, 7, ("2026-06-30", "2026-07-01")),
        # Monday 23 November 07:05: the weekly Monday run covers the 7 days before
        ("2026-11-23T12:05:00+00:00", "weekly", 0, 7, ("2026-11-16", "2026-11-23")),
        # Sunday: the latest Monday run was six days ago
        ("2026-11-29T12:05:00+00:00", "weekly", 0, 7, ("2026-11-16", "2026-11-23")),
        # Monday before the hour: the Monday of the week before
        ("2026-11-23T11:00:00+00:00", "weekly", 0, 7, ("2026-11-09", "2026-11-16")),
    ],
)
def test_the_latest_due_period_is_in_the_campaign_time_zone(now, frequency, weekday, hour, period) -> None:
    row = {"frequency": frequency, "weekday": weekday, "hour": hour}
    first, end = latest_due(row, dt.datetime.fromisoformat(now), NEW_YORK)
    assert (first.isoformat(), end.isoformat()) == period


def test_a_schedule_refuses_a_period_of_its_own_and_parameters_its_type_does_not_take() -> None:
    with pytest.raises(ValueError, match="schedule sets the period"):
        ScheduleCreate(type="crisis_log", frequency="daily", parameters={"from": "2026-11-01T00:00:00Z"})
    with pytest.raises(ValueError):
        ScheduleCreate(type="crisis_log", frequency="daily", parameters={"colour": "red"})
    ok = ScheduleCreate(type="mentions_digest", frequency="weekly", weekday="friday", parameters={"source": "news"})
    assert ok.parameters == {"source": "news", "limit": 20}


@pytest.mark.parametrize("accept", ["application/pdf", "*/*", "text/html, */*;q=0.8", "application/pdf;q=1"])
def test_a_pdf_needs_a_request_that_accepts_it(accept) -> None:
    require_binary_accept(accept)


@pytest.mark.parametrize("accept", [None, "", "application/json", "application/*"])
def test_a_pdf_is_refused_to_a_request_that_cannot_carry_it(accept) -> None:
    from warroom.core.errors import BadRequest

    with pytest.raises(BadRequest):
        require_binary_accept(accept)
