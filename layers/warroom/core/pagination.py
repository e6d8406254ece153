"""Opaque cursor pagination with a bounded ``limit``: every list answers ``{"items", "next_cursor"}``.

Example
-------
>>> rows = fetch_rows(after=decode_cursor(query.cursor), limit=query.limit + 1)   # one extra row
>>> return page_of(rows, query.limit, cursor_of=lambda row: {"t": row["created_at"], "id": row["id"]})

Keyset pagination: the cursor carries the sort key of the last row shown, so pages stay stable
while new rows arrive (an offset would skip or repeat them). Clients must treat it as opaque.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from warroom.core.errors import ValidationFailed

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50

T = TypeVar("T")


class PageQuery(BaseModel):
    """The query parameters every list accepts."""

    limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Items per page (1-200).")
    cursor: str | None = Field(None, max_length=512, description="`next_cursor` of the previous page.")


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    next_cursor: str | None = None


def encode_cursor(position: dict[str, Any]) -> str:
    """Pack a sort-key position into an opaque, URL-safe string."""
    raw = json.dumps(position, default=str, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def invalid_cursor() -> ValidationFailed:
    """The one answer to a cursor that is not one of ours (or not of this list): 422 naming ``cursor``."""
    return ValidationFailed(
        "The cursor is not valid; use next_cursor from a previous page.",
        details=[{"loc": ["query", "cursor"], "msg": "not a cursor of this list", "type": "value_error"}],
    )


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    """The position a cursor stands for; 422 naming ``cursor`` when it is not one of ours."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise invalid_cursor() from error
    if not isinstance(position, dict):
        raise invalid_cursor()
    return position


def page_of(rows: Sequence[T], limit: int, cursor_of: Callable[[T], dict[str, Any]]) -> dict[str, Any]:
    """A page from ``limit + 1`` fetched rows: the extra row only tells that there is a next page."""
    items = list(rows[:limit])
    has_more = len(rows) > limit
    return {"items": items, "next_cursor": encode_cursor(cursor_of(items[-1])) if has_more and items else None}
