"""Keyset pagination with one typed cursor: every list answers ``Page[T]``, ``{"items", "next_cursor"}``.

Example
-------
>>> USERS = Keyset("admin.users", TimeIdPosition)
>>> after = USERS.decode(query.cursor)              # TimeIdPosition | None; 422 ``invalid_cursor`` if not ours
>>> rows = fetch_rows(after, limit=query.limit + 1) # one extra row tells that there is a next page
>>> return USERS.page(rows, query.limit, lambda row: TimeIdPosition(t=row["created_at"], id=row["id"])).map(user_out)

Keyset pagination: the cursor carries the sort key of the last row shown, so pages stay stable
while new rows arrive (an offset would skip or repeat them). A cursor is
``base64url(json {"l": list, "p": position}) "." base64url(hmac)``: the position is validated by the
list's pydantic model before any SQL sees it, the list name binds it to the list that made it, and
the HMAC (keyed from the token signing key) makes a hand-made cursor a 422 rather than a query. Clients
treat it as opaque; a key rotation only invalidates cursors in flight.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from warroom.core.errors import InvalidCursor

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50
MAX_CURSOR_CHARS = 512
_MAC_BYTES = 16

T = TypeVar("T")
U = TypeVar("U")
P = TypeVar("P", bound=BaseModel)
R = TypeVar("R")


class PageQuery(BaseModel):
    """The query parameters every list accepts."""

    limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Items per page (1-200).")
    cursor: str | None = Field(
        None, max_length=MAX_CURSOR_CHARS, description="`next_cursor` of the previous page (opaque)."
    )


class Page(BaseModel, Generic[T]):
    """One page of a list: the items, and the cursor of the next page (null on the last one)."""

    items: list[T]
    next_cursor: str | None = None

    def map(self, convert: Callable[[T], U]) -> Page[U]:
        """The same page with each item converted (rows to their public model)."""
        return Page[Any](items=[convert(item) for item in self.items], next_cursor=self.next_cursor)  # type: ignore[return-value]


class Position(BaseModel):
    """Base of every cursor position: strict, closed and immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class TimeIdPosition(Position):
    """The usual keyset: a timestamp and a row id breaking ties (newest first or oldest first)."""

    t: AwareDatetime = Field(ge=dt.datetime(1970, 1, 1, tzinfo=dt.UTC), le=dt.datetime(9999, 1, 1, tzinfo=dt.UTC))
    id: uuid.UUID


class NameIdPosition(Position):
    """An alphabetical keyset: a name and a row id breaking ties."""

    name: str = Field(max_length=500)
    id: uuid.UUID


class SeqPosition(Position):
    """A keyset on a strictly increasing integer (the audit chain's ``seq``)."""

    seq: int = Field(ge=0, le=2**63 - 1)


def invalid_cursor() -> InvalidCursor:
    """The one answer to a cursor that is not one of ours (or not of this list): 422 naming ``cursor``."""
    return InvalidCursor(
        details=[{"loc": ["query", "cursor"], "msg": "not a cursor of this list", "type": "invalid_cursor"}],
    )


def _mac_key() -> bytes:
    from warroom.core.security import signing_key

    # A key of its own, derived from the signing key: a cursor MAC can never be replayed as anything else.
    return hmac.new(signing_key().encode(), b"warroom/cursor/v1", hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Keyset(Generic[P]):
    """The cursor of one list: its name and the pydantic model of its position."""

    def __init__(self, list_name: str, position: type[P]):
        self.list_name = list_name
        self.position = position

    def encode(self, position: P) -> str:
        """The opaque cursor that resumes after ``position``."""
        payload = json.dumps(
            {"l": self.list_name, "p": position.model_dump(mode="json")}, separators=(",", ":"), sort_keys=True
        ).encode()
        mac = hmac.new(_mac_key(), payload, hashlib.sha256).digest()[:_MAC_BYTES]
        return f"{_b64(payload)}.{_b64(mac)}"

    def decode(self, cursor: str | None) -> P | None:
        """The position a cursor of this list stands for; None for no cursor; 422 ``invalid_cursor`` otherwise."""
        if not cursor:
            return None
        payload_text, dot, mac_text = cursor.partition(".")
        if not dot or len(cursor) > MAX_CURSOR_CHARS or not cursor.isascii():
            raise invalid_cursor()
        try:
            payload, mac = _unb64(payload_text), _unb64(mac_text)
        except (binascii.Error, ValueError) as error:
            raise invalid_cursor() from error
        expected = hmac.new(_mac_key(), payload, hashlib.sha256).digest()[:_MAC_BYTES]
        if not hmac.compare_digest(mac, expected):
            raise invalid_cursor()
        try:
            body = json.loads(payload)
        except (ValueError, UnicodeDecodeError) as error:
            raise invalid_cursor() from error
        if not isinstance(body, dict) or body.get("l") != self.list_name or not isinstance(body.get("p"), dict):
            raise invalid_cursor()
        try:
            return self.position.model_validate(body["p"])
        except ValidationError as error:
            raise invalid_cursor() from error

    def page(self, rows: Sequence[R], limit: int, position_of: Callable[[R], P]) -> Page[R]:
        """A page from ``limit + 1`` fetched rows: the extra row only tells that there is a next page."""
        items = list(rows[:limit])
        has_more = len(rows) > limit and bool(items)
        return Page[Any](items=items, next_cursor=self.encode(position_of(items[-1])) if has_more else None)  # type: ignore[return-value]
