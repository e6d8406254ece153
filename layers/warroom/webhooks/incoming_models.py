"""What incoming webhooks carry, and what the routes answer.

Meta (``POST /webhooks/meta``) sends Graph's change notification envelope; for ad accounts::

    {"object": "ad_account",
     "entry": [{"id": "<ad account id>", "time": 1764633600,
                "changes": [{"field": "with_issues_ad_objects",
                             "value": {"id": "<ad object id>", "level": "AD" | "AD_SET" | "CAMPAIGN",
                                       "error_code": 1815869, "error_summary": "...", "error_message": "..."}}]}]}

(``in_process_ad_objects`` carries ``value.status_name``). Other objects and fields are accepted and recorded as
ignored. A generic sender (Standard Webhooks) sends the specification's ``{type, timestamp, data}`` envelope;
the one type understood is ``mentions``::

    {"type": "mentions", "timestamp": "2026-12-02T06:00:00Z",
     "data": {"mentions": [{"id": "post-81723", "source": "twitter", "content": "...",
                            "published_at": "2026-12-02T05:59:12Z", "author_handle": "@voter", ...}]}}

Each mention is stored as provider ``webhook`` with external id ``<service>:<id>``, so a re-sent mention is
stored once; a mention without ``sentiment_score`` is scored on ingest like any other.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from warroom.core.types import ApiDatetime
from warroom.mentions.models import MentionIn, Source

# Fields of Meta's ad_account object that announce a change of a campaign, ad set or ad's status.
META_AD_OBJECT_FIELDS = frozenset({"in_process_ad_objects", "with_issues_ad_objects"})
MAX_EVENT_ID_CHARS = 200


class MetaChange(BaseModel):
    """One changed field of a Graph object."""

    model_config = ConfigDict(extra="allow")

    field: str = Field(min_length=1, max_length=100)
    value: Any = None


class MetaEntry(BaseModel):
    """One object (for ``ad_account``: the ad account) and what changed on it."""

    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)

    id: str = Field(min_length=1, max_length=100)
    time: int | None = None
    changes: list[MetaChange] = Field(default_factory=list, max_length=1000)


class MetaNotification(BaseModel):
    """Graph's change notification envelope."""

    model_config = ConfigDict(extra="allow")

    object: str = Field(min_length=1, max_length=100)
    entry: list[MetaEntry] = Field(min_length=1, max_length=1000)

    def ad_accounts_changed(self) -> list[str]:
        """The ad accounts (digits, without ``act_``) whose campaigns, ad sets or ads changed status."""
        if self.object != "ad_account":
            return []
        accounts = {
            entry.id.removeprefix("act_")
            for entry in self.entry
            if any(change.field in META_AD_OBJECT_FIELDS for change in entry.changes)
        }
        return sorted(accounts)


class WebhookMention(BaseModel):
    """A mention pushed by a generic sender (the fields of the mention list's items, flat)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=130, description="The sender's id of the mention (stable).")
    source: Source
    content: str = Field(min_length=1, max_length=20_000)
    published_at: ApiDatetime
    url: str | None = Field(None, max_length=2_000)
    language: str | None = Field(None, max_length=12)
    author_name: str | None = Field(None, max_length=300)
    author_handle: str | None = Field(None, max_length=300)
    author_followers: int | None = Field(None, ge=0, le=10**12)
    country: str | None = Field(None, pattern=r"^[A-Za-z]{2}$")
    likes: int = Field(0, ge=0, le=10**12)
    shares: int = Field(0, ge=0, le=10**12)
    comments: int = Field(0, ge=0, le=10**12)
    reach: int = Field(0, ge=0, le=10**15)
    sentiment_score: float | None = Field(None, ge=-1, le=1)
    topics: list[str] = Field(default_factory=list, max_length=50)
    keywords: list[str] = Field(default_factory=list, max_length=50)

    def to_mention(self, service: str) -> MentionIn:
        """The mention as ingest takes it (provider ``webhook``, external id ``<service>:<id>``)."""
        fields = self.model_dump(exclude={"id", "country"})
        return MentionIn(
            provider="webhook",
            external_id=f"{service}:{self.id}",
            country=self.country.upper() if self.country else None,
            metadata={"webhook_service": service},
            **fields,
        )


class MentionsData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mentions: list[WebhookMention] = Field(min_length=1, max_length=1000)


class MentionsEvent(BaseModel):
    """A Standard Webhooks message of type ``mentions``."""

    model_config = ConfigDict(extra="allow")

    type: Literal["mentions"]
    timestamp: ApiDatetime | None = None
    data: MentionsData


class WebhookReceiptOut(BaseModel):
    """What a sender gets for an accepted delivery."""

    status: Literal["accepted", "duplicate"] = Field(
        description="`accepted`: stored and queued; `duplicate`: this event id was received before (not again)."
    )
    event_id: str = Field(description="The delivery's id: `webhook-id`, or for Meta `sha256:<hex of the payload>`.")


class MetaVerificationQuery(BaseModel):
    """Meta's subscription handshake (``GET /webhooks/meta``)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    hub_mode: str | None = Field(None, alias="hub.mode", description="`subscribe`.")
    hub_verify_token: str | None = Field(None, alias="hub.verify_token", description="The configured verify token.")
    hub_challenge: str | None = Field(None, alias="hub.challenge", description="Answered back as plain text.")
