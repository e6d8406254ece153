"""Request and response models of the document routes (``/api/v1/documents``)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from warroom.core.pagination import PageQuery
from warroom.core.types import ApiDatetime

Status = Literal["pending", "uploaded", "processing", "processed", "failed"]
DocumentType = Literal["pdf", "docx", "markdown", "text"]
SearchMode = Literal["semantic", "keyword", "hybrid"]
# What a client may announce; the ingest checks the real type from the bytes.
CONTENT_TYPES: dict[str, DocumentType] = {
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "text/markdown": "markdown",
    "text/plain": "text",
}
_UNSAFE_NAME = re.compile(r"[/\\\x00-\x1f\x7f]")


class UploadRequest(BaseModel):
    """``POST /documents/upload``: what is about to be uploaded (the answer is where and how)."""

    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1, max_length=200, description="A file name: no path separators.")
    content_type: Literal[
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "text/markdown",
        "text/plain",
    ]
    size: int = Field(ge=1, description="Bytes; at most the setting `document_max_bytes` (413 beyond).")
    title: str | None = Field(None, min_length=1, max_length=300)
    shared: bool = Field(False, description="Everyone with read access may see it (else the uploader only).")
    content_base64: str | None = Field(
        None,
        description="The file itself, base64-encoded, for files up to `document_inline_max_bytes` (4 MiB; 413 beyond):"
        " stored by the function, no presigned POST needed. Omit it to get a presigned POST instead.",
    )

    @field_validator("content_base64")
    @classmethod
    def _base64(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError) as error:
                raise ValueError("standard base64 (A-Z, a-z, 0-9, +, /, = padding)") from error
        return value

    def content(self) -> bytes | None:
        """The inline file's bytes, if it was sent in the body."""
        return None if self.content_base64 is None else base64.b64decode(self.content_base64, validate=True)

    @field_validator("filename")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if _UNSAFE_NAME.search(value) or value.strip() in ("", ".", ".."):
            raise ValueError("a file name without path separators or control characters")
        return value.strip()


class DocumentOut(BaseModel):
    id: uuid.UUID
    filename: str
    title: str | None
    status: Status
    document_type: DocumentType | None = Field(description="From the file's bytes, once processed.")
    content_type: str | None
    size_bytes: int | None
    shared: bool
    uploaded_by: uuid.UUID | None
    page_count: int | None
    chunk_count: int | None
    summary: str | None = Field(description="The AI summary (OpenAI in LIVE, extractive in MOCK or as fallback).")
    summary_source: Literal["openai", "extractive"] | None
    summary_note: str | None = Field(description="Why the summary is extractive in LIVE (OpenAI's failure).")
    error_reason: str | None = Field(description="Why processing failed: encrypted, corrupt, empty, ...")
    error_message: str | None
    created_at: dt.datetime
    processed_at: dt.datetime | None


class UploadForm(BaseModel):
    """A presigned S3 POST: send the file as multipart/form-data to ``url`` with ``fields`` and then ``file``."""

    url: str
    fields: dict[str, str]
    expires_at: dt.datetime
    max_bytes: int


class UploadOut(BaseModel):
    document: DocumentOut
    upload: UploadForm | None = Field(description="Where to POST the file; null when it came in the body.")


class DocumentListQuery(PageQuery):
    """Filters of ``GET /documents`` (newest first)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    status: Status | None = None
    uploaded_by: uuid.UUID | None = None
    type: DocumentType | None = None
    q: str | None = Field(None, min_length=1, max_length=200, description="Part of the title or file name.")
    from_: ApiDatetime | None = Field(None, alias="from", description="Uploaded at or after (ISO 8601).")
    to: ApiDatetime | None = Field(None, description="Uploaded before (ISO 8601).")


class DownloadOut(BaseModel):
    url: str = Field(description="A presigned GET, valid for `expires_in` seconds, that downloads the file.")
    expires_in: int


class SearchFilters(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    document_ids: list[uuid.UUID] | None = Field(None, max_length=100)
    type: DocumentType | None = None
    uploaded_by: uuid.UUID | None = None
    from_: ApiDatetime | None = Field(None, alias="from")
    to: ApiDatetime | None = None


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=2000)
    limit: int = Field(10, ge=1, le=50)
    mode: SearchMode = "hybrid"
    filters: SearchFilters = Field(default_factory=SearchFilters)

    @field_validator("query")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the query must not be blank")
        return value.strip()


class Ranks(BaseModel):
    semantic: int | None = Field(description="1-based rank in the semantic ranking (none: not in its top).")
    keyword: int | None


class SearchHit(BaseModel):
    document: DocumentOut
    chunk_id: int
    ordinal: int
    heading: str | None
    text: str = Field(description="The chunk; in keyword and hybrid modes matched terms are marked <<like this>>.")
    page_start: int
    page_end: int
    ranks: Ranks
    score: float = Field(description="Reciprocal rank fusion (hybrid), cosine similarity (semantic) or ts_rank.")


class SearchOut(BaseModel):
    mode: SearchMode = Field(description="The mode that answered (keyword when semantic search is unavailable).")
    requested_mode: SearchMode
    fallback: str | None = Field(None, description="Why the answer fell back to keyword search.")
    hits: list[SearchHit]
