"""Mention sources: one protocol (:mod:`.base`), a mock and a live implementation side by side."""

from __future__ import annotations

from warroom.mentions.sources.base import MentionSource, SourcePage, SourceUnavailable

__all__ = ["MentionSource", "SourcePage", "SourceUnavailable", "source_for_mode"]


def source_for_mode(mode: str) -> MentionSource:
    """The source the data mode selects: the mode swaps the source, never the pipeline."""
    if mode == "LIVE":
        from warroom.mentions.sources.mentionlytics import MentionlyticsSource

        return MentionlyticsSource.from_settings()
    from warroom.mentions.sources.mock import MockSource

    return MockSource()
