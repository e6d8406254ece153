"""Bodies, queries and answers of the admin webhook routes (``/api/v1/admin/webhooks``).

A subscription is answered as :class:`WebhookOut`, which has no field for its secret; the secret appears once,
in :class:`WebhookCreated`, the answer to its creation. Lists answer ``Page[WebhookOut]`` and
``Page[DeliveryOut]``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from warroom.core.pagination import PageQuery
from warroom.realtime import WEBHOOK_EVENTS

# The broadcast's list is the one truth of what a subscription may ask for (subscripting with the tuple unpacks it).
WebhookEvent = Literal[WEBHOOK_EVENTS]  # type: ignore[valid-type]
TEST_EVENT = "webhook:test"
DeliveryStatus = Literal["pending", "retrying", "succeeded", "failed", "abandoned"]
SubscriptionState = Literal["ok", "failing", "gone"]
Description = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
EventList = Annotated[list[WebhookEvent], Field(min_length=1, max_length=len(WEBHOOK_EVENTS))]


def _distinct(events: list[str] | None) -> list[str] | None:
    return None if events is None else sorted(set(events))


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        max_length=2048,
        description="Where to POST: https (http only to localhost in local development); it must resolve to public "
        "addresses only, and no credentials in the URL.",
    )
    events: EventList = Field(description="The events to deliver (at least one).")
    description: Description | None = Field(None, description="What the receiver is, e.g. 'Slack relay'.")

    @field_validator("events")
    @classmethod
    def _distinct_events(cls, events: list[str]) -> list[str] | None:
        return _distinct(events)


class WebhookUpdate(BaseModel):
    """Any of events, enabled and description; at least one."""

    model_config = ConfigDict(extra="forbid")

    events: EventList | None = None
    enabled: bool | None = Field(None, description="false pauses deliveries; true resumes them (and clears failing).")
    description: Description | None = None

    @field_validator("events")
    @classmethod
    def _distinct_events(cls, events: list[str] | None) -> list[str] | None:
        return _distinct(events)

    @model_validator(mode="after")
    def _something_to_change(self) -> WebhookUpdate:
        if self.events is None and self.enabled is None and self.description is None:
            raise ValueError("send at least one of events, enabled, description")
        return self


class WebhookOut(BaseModel):
    id: str
    url: str
    description: str | None
    events: list[str]
    enabled: bool
    state: SubscriptionState = Field(
        description="ok; failing (a delivery used up its attempts: cleared by the next success or by re-enabling); "
        "gone (the receiver answered 410 Gone and the subscription was disabled)."
    )
    created_by: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    last_success_at: dt.datetime | None
    last_failure_at: dt.datetime | None


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="The signing secret ('whsec_' + base64), shown this once: verify each delivery's "
        "webhook-signature with it (Standard Webhooks)."
    )


class DeliveryListQuery(PageQuery):
    status: DeliveryStatus | None = Field(None, description="Only deliveries in this status.")


class DeliveryOut(BaseModel):
    id: str
    subscription_id: str
    webhook_id: str = Field(description="The webhook-id header: the same on every attempt of this delivery.")
    event: str
    status: DeliveryStatus
    attempt_count: int
    response_code: int | None = Field(description="The status code of the last attempt, if it got an answer.")
    last_error: str | None
    next_attempt_at: dt.datetime | None = Field(description="When it is tried next (pending and retrying only).")
    last_attempt_at: dt.datetime | None
    delivered_at: dt.datetime | None
    created_at: dt.datetime


class TestDeliveryOut(BaseModel):
    delivery_id: str
    webhook_id: str
    event: Literal["webhook:test"] = TEST_EVENT
    status: DeliveryStatus
