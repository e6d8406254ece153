"""Input types every model shares, so no crafted value gets past validation into arithmetic or SQL.

Example
-------
>>> class Query(BaseModel):
...     from_: ApiDatetime | None = Field(None, alias="from")
>>> Query.model_validate({"from": "0001-01-01"})       # 422: outside 1970-2100 (once an OverflowError, a 500)

Text needs no type of its own: the HTTP glue refuses NUL, control characters other than tab and newline,
and lone surrogates in every query value, path parameter and JSON string (key or value) before any model
sees them (:func:`unsafe_text_details`), so every route, present and future, is covered.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator

EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
# C0 controls but tab and newline, DEL, C1 controls; lone surrogates (JSON "\ud800" decodes to one).
_UNSAFE_CHARACTER = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def bounded_utc(value: dt.datetime) -> dt.datetime:
    """``value`` in UTC (naive means UTC), refused outside 1970-01-01 .. 2100-01-01."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    if not EARLIEST <= aware <= LATEST:
        raise ValueError("must be between 1970-01-01 and 2100-01-01")
    return aware


ApiDatetime = Annotated[dt.datetime, AfterValidator(bounded_utc)]


def bounded_date(value: dt.date) -> dt.date:
    """``value``, refused outside 1970-01-01 .. 2100-01-01 (the range date arithmetic and SQL stay safe in)."""
    if not EARLIEST.date() <= value <= LATEST.date():
        raise ValueError("must be between 1970-01-01 and 2100-01-01")
    return value


ApiDate = Annotated[dt.date, AfterValidator(bounded_date)]


def unsafe_text_details(value: Any, loc: list[Any]) -> list[dict[str, Any]]:
    """Where ``value`` (a str, or JSON of dicts and lists) holds a character no text input may: field errors."""
    if isinstance(value, str):
        found = _UNSAFE_CHARACTER.search(value)
        if found is None:
            return []
        if found.group() == "\x00":
            return [{"loc": loc, "msg": "must not contain NUL characters", "type": "nul_character"}]
        return [
            {
                "loc": loc,
                "msg": "must not contain control characters (tab and newline are allowed) or lone surrogates",
                "type": "control_character",
            }
        ]
    if isinstance(value, Mapping):
        return [
            problem
            for key, item in value.items()
            for problem in unsafe_text_details(key, [*loc, key]) + unsafe_text_details(item, [*loc, key])
        ]
    if isinstance(value, list | tuple):
        return [problem for index, item in enumerate(value) for problem in unsafe_text_details(item, [*loc, index])]
    return []


def json_depth(value: Any) -> int:
    """How deeply ``value`` nests lists and objects (0 for a scalar), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest
