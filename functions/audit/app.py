"""Audit: the append-only, hash-chained log of who did what, for managers and admins."""

from __future__ import annotations

import json

from chalice import Response

from warroom.audit.chain import verify_chain
from warroom.audit.export import export_entries
from warroom.audit.models import AuditEntry, AuditQuery, ChainHead, ExportLinkOut, ExportQuery, VerifyOut, VerifyQuery
from warroom.audit.trail import get_entry, list_entries
from warroom.auth.guard import authenticate_request
from warroom.core.http import OtherAnswer, RequestContext, WarRoomApp
from warroom.core.pagination import Page

app = WarRoomApp("audit", authenticate=authenticate_request)


@app.endpoint("GET", "/api/v1/audit", role="manager", query=AuditQuery, response=Page[AuditEntry])
def list_audit(query: AuditQuery) -> Page[AuditEntry]:
    """Audit entries, newest first, filtered by user, action, resource and time."""
    return list_entries(query)


@app.endpoint("GET", "/api/v1/audit/verify", role="manager", query=VerifyQuery, response=VerifyOut, errors=(503,))
def verify(query: VerifyQuery) -> VerifyOut:
    """Check the whole hash chain against an anchor: `ok`, or the first broken entry and why.

    The anchor is the `anchor_seq`/`anchor_hash` given (a `head` saved from an earlier verify), else the head
    stored hourly outside the database; a chain shorter than it is `truncated`, another hash `anchor_mismatch`.
    """
    anchor = ChainHead(seq=query.anchor_seq, hash=query.anchor_hash) if query.anchor_seq is not None else None
    return verify_chain(anchor)


@app.endpoint(
    "GET",
    "/api/v1/audit/export",
    role="manager",
    query=ExportQuery,
    response=str,
    content_type="text/csv",
    other_answers=(
        OtherAnswer(200, list[AuditEntry], description="`format=json`: the entries as a JSON array."),
        OtherAnswer(303, ExportLinkOut, headers=("Location",), description="Over 4 MB: a link to download it."),
    ),
)
def export(query: ExportQuery, ctx: RequestContext) -> Response:
    """Export the matching entries as CSV or JSON, oldest first (audited).

    The file is the body when it is under 4 MB; a larger export answers 303 with the `Location` (and a
    JSON body) of a download link valid for 15 minutes. Over 200,000 entries: narrow the filters (422).
    """
    result = export_entries(query, ctx.actor())
    if result.body is not None:
        headers = {
            "Content-Type": result.content_type,
            "Content-Disposition": f'attachment; filename="{result.filename}"',
            "X-Export-Rows": str(result.rows),
        }
        return Response(body=result.body, status_code=200, headers=headers)
    link = ExportLinkOut(
        download_url=result.download_url, expires_in_s=result.expires_in_s, rows=result.rows, format=result.format
    )
    return Response(
        body=json.dumps(link.model_dump()),
        status_code=303,
        headers={"Content-Type": "application/json", "Location": link.download_url},
    )


@app.endpoint("GET", "/api/v1/audit/{entry_id}", role="manager", response=AuditEntry, errors=(404,))
def get_audit_entry(entry_id: str) -> AuditEntry:
    """One audit entry by id."""
    return get_entry(entry_id)
