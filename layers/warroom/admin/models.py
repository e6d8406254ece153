"""Bodies, queries and answers of the admin routes.

Users are answered as :class:`warroom.auth.models.UserOut` (one shape of a user everywhere, with no
field for any secret); API keys as :class:`ApiKeyOut`, whose ``key`` appears only in the answer to
their creation (:class:`ApiKeyCreated`). Lists answer ``Page[UserOut]`` / ``Page[ApiKeyOut]``
(:class:`warroom.core.pagination.Page`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from warroom.auth.models import Email
from warroom.core.pagination import PageQuery
from warroom.core.security import KeyRole, Role
from warroom.core.types import bounded_utc

UserStatus = Literal["active", "deactivated"]  # what an admin may set ("active" approves a pending account)
ListedStatus = Literal["pending", "active", "deactivated"]
FullName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
KeyName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class UserListQuery(PageQuery):
    role: Role | None = Field(None, description="Only users with this role.")
    status: ListedStatus | None = Field(
        None, description="Only pending (self-registered, awaiting approval), active or deactivated users."
    )
    q: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = Field(
        None, description="Case-insensitive substring of the email or the full name."
    )


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    # Bounded here; the password policy then applies its 12-character / 72-byte / zxcvbn rules.
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    role: Role
    full_name: FullName | None = None


class UserUpdate(BaseModel):
    """Any of role, status and full name; at least one."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    status: UserStatus | None = None
    full_name: FullName | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> UserUpdate:
        if self.role is None and self.status is None and self.full_name is None:
            raise ValueError("send at least one of role, status, full_name")
        return self


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: KeyName = Field(description="What the key is for, e.g. 'BI nightly export'.")
    role: KeyRole = Field(description="The key's role: no higher than its creator's, and at most manager.")
    expires_at: Annotated[AwareDatetime, AfterValidator(bounded_utc)] | None = Field(
        None, description="When the key stops working (ISO 8601 with offset; before 2100)."
    )

    @field_validator("expires_at")
    @classmethod
    def _expires_in_the_future(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value <= dt.datetime.now(dt.UTC):
            raise ValueError("must be in the future")
        return value


class ApiKeyOut(BaseModel):
    id: str
    name: str
    prefix: str = Field(description="Shown to tell keys apart: the key starts with 'wr_<prefix>_'.")
    role: Role
    status: Literal["active", "revoked", "expired"]
    created_by: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None = Field(description="Updated at most once a minute.")


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key itself. It is shown this once and cannot be recovered.")
