"""The reports domain's settings: when an export is answered directly or becomes a job, and its limits."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from warroom.core.settings import define_setting

REPORT_EXPORT_INLINE_MAX_ROWS = define_setting(
    "report_export_inline_max_rows",
    Annotated[int, Field(ge=0, le=1_000_000)],
    20_000,
    "Exports of more rows than this are answered 202 with a job to poll; smaller ones are the answer's body.",
)
REPORT_EXPORT_INLINE_MAX_SECONDS = define_setting(
    "report_export_inline_max_seconds",
    Annotated[float, Field(ge=0, le=25)],
    8.0,
    "Exports whose estimated build time is longer than this many seconds become a job (202) as well.",
)
REPORT_EXPORT_MAX_ROWS = define_setting(
    "report_export_max_rows",
    Annotated[int, Field(ge=1, le=10_000_000)],
    2_000_000,
    "The most rows one export may hold; a larger query is a 422 asking to narrow it.",
)
REPORT_PDF_MAX_TABLE_ROWS = define_setting(
    "report_pdf_max_table_rows",
    Annotated[int, Field(ge=10, le=50_000)],
    5_000,
    "A PDF tables at most this many rows (its figures and chart still cover every row; CSV and JSON hold all).",
)
SETTINGS = (
    REPORT_EXPORT_INLINE_MAX_ROWS,
    REPORT_EXPORT_INLINE_MAX_SECONDS,
    REPORT_EXPORT_MAX_ROWS,
    REPORT_PDF_MAX_TABLE_ROWS,
)
