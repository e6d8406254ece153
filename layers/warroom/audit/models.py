"""Queries and answers of the audit routes."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from warroom.core.pagination import PageQuery
from warroom.core.types import ApiDatetime

Timestamp = ApiDatetime  # without an offset: UTC; only 1970-2100


class AuditFilters(BaseModel):
    """The filters of the list and of the export (``from``/``to`` without an offset are UTC)."""

    model_config = ConfigDict(populate_by_name=True)

    user_id: uuid.UUID | None = Field(None, description="Only what this user did.")
    action: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        None, description="Exact action, e.g. 'admin.user_create' or 'UPDATE'."
    )
    resource_type: Annotated[str, StringConstraints(max_length=50)] | None = Field(
        None, description="Exact resource type, e.g. 'user', 'api_key', 'settings'."
    )
    resource_id: Annotated[str, StringConstraints(max_length=255)] | None = Field(None, description="Exact id.")
    from_: Timestamp | None = Field(None, alias="from", description="At or after this time (ISO 8601).")
    to: Timestamp | None = Field(None, description="Before this time (ISO 8601).")


class AuditQuery(AuditFilters, PageQuery):
    pass


class ExportQuery(AuditFilters):
    format: Literal["csv", "json"] = Field("csv", description="csv (with a header row) or json (an array).")


class AuditEntry(BaseModel):
    id: str
    seq: int = Field(description="Position in the log: strictly increasing, no gaps.")
    timestamp: dt.datetime
    user_id: str | None
    action: str
    resource_type: str
    resource_id: str | None
    details: Any
    ip_address: str | None
    user_agent: str | None
    prev_hash: str = Field(description="`hash` of the entry before (64 zeros for the first).")
    hash: str = Field(description="SHA-256 of prev_hash and this entry's canonical content.")


class ChainHead(BaseModel):
    seq: int
    hash: str


class BadLink(BaseModel):
    id: str | None = Field(description="The broken entry; null when the entry the anchor names is gone.")
    seq: int
    reason: Literal["sequence_gap", "prev_hash_mismatch", "hash_mismatch", "truncated", "anchor_mismatch"]


class AnchorCheck(BaseModel):
    """The chain compared with a head kept outside the table: one the caller saved, or the stored anchor."""

    seq: int
    hash: str
    source: Literal["caller", "stored"]
    status: Literal["matches", "truncated", "mismatch"] = Field(
        description="`truncated`: the chain is shorter than the anchor (cut off, emptied or restarted); "
        "`mismatch`: the entry at the anchor's seq has another hash (rewritten)."
    )


class VerifyQuery(BaseModel):
    """A head saved earlier (``head`` of a previous verify) to check the chain against; both or neither."""

    anchor_seq: int | None = Field(None, ge=1, le=2**63 - 1)
    anchor_hash: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")

    @model_validator(mode="after")
    def _both_or_neither(self) -> VerifyQuery:
        if (self.anchor_seq is None) != (self.anchor_hash is None):
            raise ValueError("give anchor_seq and anchor_hash together")
        return self


class VerifyOut(BaseModel):
    ok: bool
    rows: int = Field(description="Entries checked.")
    head: ChainHead | None = Field(
        None, description="The last entry: keep its hash elsewhere to detect later truncation of the log's end."
    )
    first_bad: BadLink | None = None
    anchor: AnchorCheck | None = Field(
        None,
        description="The comparison with the caller's anchor or the stored one (AuditAnchorFunction, hourly, "
        "in an Object Lock bucket); null when there is none, and then a cut-off end cannot be seen.",
    )


class ExportLinkOut(BaseModel):
    """A large export: fetch it from ``download_url`` (also the ``Location`` of the 303)."""

    download_url: str
    expires_in_s: int
    rows: int
    format: Literal["csv", "json"]
