"""The one interface every mention source implements.

Example
-------
>>> source = MockSource()
>>> page = source.fetch(since, until, cursor=None)
>>> ingest_mentions(page.mentions); cursor = page.next_cursor      # None: the window is exhausted

A source yields pages of :class:`~warroom.mentions.models.MentionIn` for a window of publication
times, and a cursor (a small JSON object, stored in ``ingest_cursors``) to resume where it stopped.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol

from warroom.core.errors import DependencyUnavailable
from warroom.mentions.models import MentionIn, Provider


@dataclass
class SourcePage:
    """One page of a source: its mentions and where the next page starts (None when there is none)."""

    mentions: list[MentionIn]
    next_cursor: dict[str, Any] | None = None
    requests: int = field(default=0)


class MentionSource(Protocol):
    provider: Provider

    def fetch(self, since: dt.datetime, until: dt.datetime, cursor: dict[str, Any] | None) -> SourcePage:
        """Mentions published in ``[since, until)``, one page from ``cursor`` (None: the first page)."""
        ...


class SourceUnavailable(DependencyUnavailable):
    """A source cannot be used now; ``cause`` says why in one word (``token_missing``, ``token_rejected``, ...)."""

    def __init__(self, source: str, cause: str, message: str, *, retry_after_s: int = 60):
        super().__init__(source, message, retry_after_s=retry_after_s)
        self.cause = cause
        self.details = {"dependency": source, "cause": cause}
