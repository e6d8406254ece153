"""EventBridge schedule expressions: ``rate(...)``, ``cron(...)`` and EventBridge Scheduler's ``at(...)``.

Example
-------
>>> expression = parse_schedule_expression("cron(0 8 ? * MON-FRI *)")
>>> expression.next_after(datetime(2025, 1, 3, 9, 0, tzinfo=UTC))  # a Friday, after 08:00
datetime.datetime(2025, 1, 6, 8, 0, tzinfo=datetime.timezone.utc)

EventBridge's cron has six fields (minutes, hours, day-of-month, month, day-of-week, year), needs ``?`` in
exactly one of the two day fields, and numbers the days of the week 1-7 from Sunday. It is translated to
the five-field syntax of ``croniter`` (days 0-6 from Sunday, ``?`` as ``*``, ``6L`` as ``L5``, ``3#2`` as
``2#2``); the year field is applied on top, since croniter has none in five-field form. Cron and ``at``
times are in ``timezone`` (UTC unless an EventBridge Scheduler schedule sets ``ScheduleExpressionTimezone``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, CroniterError, croniter

_RATE = re.compile(r"^rate\(\s*(\d+)\s+([a-z]+)\s*\)$")
_RATE_UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
_CRON = re.compile(r"^cron\((.*)\)$")
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
# The characters EventBridge allows in each cron field (names are checked separately).
_FIELD_CHARACTERS = {
    "minutes": re.compile(r"^[0-9,*/-]+$"),
    "hours": re.compile(r"^[0-9,*/-]+$"),
    "day-of-month": re.compile(r"^([0-9,*/LW-]+|\?)$"),
    "month": re.compile(r"^[0-9A-Z,*/-]+$"),
    "day-of-week": re.compile(r"^([0-9A-Z,*/L#-]+|\?)$"),
    "year": re.compile(r"^[0-9,*/-]+$"),
}
_FIRST_YEAR, _LAST_YEAR = 1970, 2199  # EventBridge's range for the year field


class InvalidScheduleExpression(ValueError):
    """The text is not a schedule expression EventBridge would accept (or one the local cloud can evaluate)."""


@dataclass(frozen=True)
class RateExpression:
    """``rate(N unit)``: every ``interval``, counted from when the schedule was created (the local cloud's start)."""

    text: str
    interval: timedelta

    def next_after(self, moment: datetime) -> datetime:
        return moment + self.interval


@dataclass(frozen=True)
class CronExpression:
    """``cron(...)``: the wall-clock times matching the fields, in ``timezone``."""

    text: str
    croniter_fields: str
    years: frozenset[int] | None  # None: every year
    timezone: tzinfo

    def next_after(self, moment: datetime) -> datetime | None:
        """The first matching time strictly after ``moment`` (an aware datetime), in UTC; None if there is none."""
        start = moment.astimezone(self.timezone)
        try:
            while True:
                candidate: datetime = croniter(self.croniter_fields, start).get_next(datetime)
                if self.years is None or candidate.year in self.years:
                    return candidate.astimezone(UTC)
                later_years = [year for year in self.years if year > candidate.year]
                if not later_years:
                    return None
                # Jump to the next allowed year rather than stepping through every match in between.
                start = datetime(min(later_years), 1, 1, tzinfo=self.timezone) - timedelta(seconds=1)
        except CroniterBadDateError:
            return None  # e.g. cron(0 0 31 2 ? *): February has no 31st


@dataclass(frozen=True)
class AtExpression:
    """EventBridge Scheduler's one-time ``at(yyyy-mm-ddThh:mm:ss)``, in ``timezone``."""

    text: str
    moment: datetime

    def next_after(self, moment: datetime) -> datetime | None:
        return self.moment if self.moment > moment else None


ScheduleExpression = RateExpression | CronExpression | AtExpression


def parse_schedule_expression(text: str, *, timezone: str = "UTC", allow_at: bool = False) -> ScheduleExpression:
    """Parse an EventBridge schedule expression; raises :class:`InvalidScheduleExpression` saying what is wrong.

    ``allow_at`` admits EventBridge Scheduler's one-time ``at(...)`` (``ScheduleV2`` events only).
    """
    stripped = text.strip()
    zone = _zone(timezone, stripped)
    if stripped.startswith("rate("):
        return _parse_rate(stripped)
    if stripped.startswith("cron("):
        return _parse_cron(stripped, zone)
    if stripped.startswith("at(") and allow_at:
        return _parse_at(stripped, zone)
    kinds = "rate(...), cron(...) or at(...)" if allow_at else "rate(...) or cron(...)"
    raise InvalidScheduleExpression(f"{text!r} is not a schedule expression: expected {kinds}")


def _zone(name: str, text: str) -> tzinfo:
    if name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidScheduleExpression(f"{text}: unknown ScheduleExpressionTimezone {name!r}") from error


def _parse_rate(text: str) -> RateExpression:
    match = _RATE.match(text)
    if not match:
        raise InvalidScheduleExpression(
            f"{text!r}: expected rate(value unit) with a whole number and minute(s), hour(s) or day(s)"
        )
    value, unit = int(match.group(1)), match.group(2)
    singular = unit.removesuffix("s")
    if singular not in _RATE_UNITS:
        raise InvalidScheduleExpression(f"{text!r}: unit {unit!r} is not minute(s), hour(s) or day(s)")
    if value < 1:
        raise InvalidScheduleExpression(f"{text!r}: the value must be a positive whole number")
    if (value == 1) != (unit == singular):
        expected = singular if value == 1 else f"{singular}s"
        raise InvalidScheduleExpression(f"{text!r}: EventBridge wants rate({value} {expected})")
    return RateExpression(text, value * _RATE_UNITS[singular])


def _parse_cron(text: str, zone: tzinfo) -> CronExpression:
    match = _CRON.match(text)
    fields = match.group(1).split() if match else []
    if len(fields) != 6:
        raise InvalidScheduleExpression(
            f"{text!r}: EventBridge cron needs 6 fields: minutes hours day-of-month month day-of-week year"
        )
    named = dict(zip(_FIELD_CHARACTERS, (field.upper() for field in fields), strict=True))
    for name, value in named.items():
        if not _FIELD_CHARACTERS[name].match(value):
            raise InvalidScheduleExpression(f"{text!r}: {name} field {value!r} has characters EventBridge rejects")
    day_of_month, day_of_week = named["day-of-month"], named["day-of-week"]
    if (day_of_month == "?") == (day_of_week == "?"):
        raise InvalidScheduleExpression(
            f"{text!r}: use ? in exactly one of day-of-month and day-of-week (EventBridge cannot combine them)"
        )
    _check_month_names(text, named["month"])
    croniter_fields = " ".join(
        [
            named["minutes"],
            named["hours"],
            "*" if day_of_month == "?" else day_of_month,
            named["month"],
            "*" if day_of_week == "?" else _day_of_week_for_croniter(text, day_of_week),
        ]
    )
    try:
        croniter(croniter_fields, datetime(2000, 1, 1, tzinfo=UTC))
    except (CroniterError, ValueError) as error:
        raise InvalidScheduleExpression(f"{text!r}: a field is out of range or uses unsupported syntax") from error
    return CronExpression(text, croniter_fields, _years(text, named["year"]), zone)


def _check_month_names(text: str, month: str) -> None:
    for name in re.findall(r"[A-Z]+", month):
        if name not in _MONTHS:
            raise InvalidScheduleExpression(f"{text!r}: {name!r} is not a month (JAN-DEC)")


def _day_of_week_for_croniter(text: str, field: str) -> str:
    """EventBridge's day-of-week (1-7 or SUN-SAT, with L and #) in croniter's terms (0-6 from Sunday)."""

    def day(token: str) -> int:
        if token in _WEEKDAYS:
            return _WEEKDAYS.index(token)
        if token.isdigit() and 1 <= int(token) <= 7:
            return int(token) - 1
        raise InvalidScheduleExpression(f"{text!r}: {token!r} is not a day of the week (1-7 or SUN-SAT)")

    items = []
    for item in field.split(","):
        if item == "L":  # the last day of the week: Saturday
            items.append("6")
        elif item.endswith("L"):  # 6L: the last Friday of the month
            items.append(f"L{day(item[:-1])}")
        elif "#" in item:  # 3#2: the second Tuesday of the month
            weekday, _, nth = item.partition("#")
            if not nth.isdigit() or not 1 <= int(nth) <= 5:
                raise InvalidScheduleExpression(f"{text!r}: {item!r} needs an occurrence 1-5 after #")
            items.append(f"{day(weekday)}#{nth}")
        else:
            base, slash, step = item.partition("/")
            if base != "*":
                base = "-".join(str(day(part)) for part in base.split("-"))
            items.append(base + slash + step)
    return ",".join(items)


def _years(text: str, field: str) -> frozenset[int] | None:
    if field == "*":
        return None
    years: set[int] = set()
    for item in field.split(","):
        base, _, step_text = item.partition("/")
        step = int(step_text) if step_text.isdigit() else None
        if step_text and not step:
            raise InvalidScheduleExpression(f"{text!r}: year step {step_text!r} must be a positive number")
        if base == "*":
            first, last = _FIRST_YEAR, _LAST_YEAR
        else:
            bounds = base.split("-")
            if len(bounds) > 2 or not all(bound.isdigit() for bound in bounds):
                raise InvalidScheduleExpression(f"{text!r}: year {item!r} is not a year, a range or a step")
            first, last = int(bounds[0]), int(bounds[-1])
            if step and len(bounds) == 1:
                last = _LAST_YEAR
        if not _FIRST_YEAR <= first <= last <= _LAST_YEAR:
            raise InvalidScheduleExpression(f"{text!r}: years must be within {_FIRST_YEAR}-{_LAST_YEAR}")
        years.update(range(first, last + 1, step or 1))
    return frozenset(years)


def _parse_at(text: str, zone: tzinfo) -> AtExpression:
    match = _AT.match(text)
    if not match:
        raise InvalidScheduleExpression(f"{text!r}: expected at(yyyy-mm-ddThh:mm:ss)")
    try:
        moment = datetime.fromisoformat(match.group(1)).replace(tzinfo=zone)
    except ValueError as error:
        raise InvalidScheduleExpression(f"{text!r}: {error}") from error
    return AtExpression(text, moment.astimezone(UTC))
