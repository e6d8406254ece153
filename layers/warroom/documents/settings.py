"""The documents domain's global settings (composed into the settings routes by :mod:`warroom.system.settings`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from warroom.core.settings import define_setting

DOCUMENT_MAX_BYTES = define_setting(
    "document_max_bytes",
    Annotated[int, Field(ge=1024, le=100 * 1024 * 1024)],
    25 * 1024 * 1024,
    "The largest document that may be uploaded, in bytes (the presigned POST enforces it).",
)
# Lambda takes at most 6 MB in a synchronous invocation and API Gateway hands it the JSON body as is, so the base64
# of a file (4/3 of its size) plus the event must fit in 6,291,456 bytes: 4.5 MB of file at most, 4 MiB by default.
INLINE_UPLOAD_HARD_LIMIT = 4_500_000
DOCUMENT_INLINE_MAX_BYTES = define_setting(
    "document_inline_max_bytes",
    Annotated[int, Field(ge=1024, le=INLINE_UPLOAD_HARD_LIMIT)],
    4 * 1024 * 1024,
    "The largest document that may be sent inline (base64 in the upload request) rather than by presigned POST.",
)
PENDING_UPLOAD_MAX_AGE_HOURS = define_setting(
    "document_pending_max_age_hours",
    Annotated[int, Field(ge=1, le=24 * 30)],
    24,
    "An upload announced but never completed is removed after this many hours.",
)
SEARCH_SEMANTIC_WEIGHT = define_setting(
    "document_search_semantic_weight",
    Annotated[float, Field(ge=0, le=10)],
    1.0,
    "Hybrid search: the weight of the semantic ranking in the reciprocal rank fusion.",
)
SEARCH_KEYWORD_WEIGHT = define_setting(
    "document_search_keyword_weight",
    Annotated[float, Field(ge=0, le=10)],
    1.0,
    "Hybrid search: the weight of the keyword ranking in the reciprocal rank fusion.",
)
SETTINGS = (
    DOCUMENT_MAX_BYTES,
    DOCUMENT_INLINE_MAX_BYTES,
    PENDING_UPLOAD_MAX_AGE_HOURS,
    SEARCH_SEMANTIC_WEIGHT,
    SEARCH_KEYWORD_WEIGHT,
)
