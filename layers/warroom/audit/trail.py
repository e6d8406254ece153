"""Reading the audit log: filtered pages, newest first, and single entries.

Example
-------
>>> page = list_entries(AuditQuery(action="admin.user_create", limit=20))
>>> entry = get_entry(page["items"][0].id)

Pages are keyed on ``seq`` (the chain's strict order), so they stay stable while entries arrive.
"""

from __future__ import annotations

from typing import Any

import psycopg

from warroom.audit.models import AuditEntry, AuditFilters, AuditQuery
from warroom.core.db import connection
from warroom.core.errors import NotFound
from warroom.core.ids import uuid_or_not_found
from warroom.core.pagination import Keyset, Page, SeqPosition

ENTRY_COLUMNS = (
    "id, seq, timestamp, user_id, action, resource_type, resource_id, details,"
    " host(ip_address) AS ip_address, user_agent, prev_hash, hash"
)


def filter_clause(filters: AuditFilters) -> tuple[list[str], list[Any]]:
    """SQL conditions (ANDed) and their parameters for the list's and the export's filters."""
    conditions: list[str] = []
    params: list[Any] = []
    for column in ("user_id", "action", "resource_type", "resource_id"):
        value = getattr(filters, column)
        if value is not None:
            conditions.append(f"{column} = %s")
            params.append(str(value))
    if filters.from_ is not None:
        conditions.append("timestamp >= %s")
        params.append(filters.from_)
    if filters.to is not None:
        conditions.append("timestamp < %s")
        params.append(filters.to)
    return conditions, params


def entry_out(row: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        **{**row, "id": str(row["id"]), "user_id": str(row["user_id"]) if row["user_id"] else None},
    )


AUDIT_KEYSET = Keyset("audit.entries", SeqPosition)


def list_entries(query: AuditQuery) -> Page[AuditEntry]:
    """One page of entries matching the filters, newest (highest ``seq``) first."""
    conditions, params = filter_clause(query)
    after = AUDIT_KEYSET.decode(query.cursor)
    if after is not None:
        conditions.append("seq < %s")
        params.append(after.seq)
    where = (" WHERE " + " AND ".join(conditions)) if conditions else ""
    with connection() as conn:
        rows = conn.execute(
            f"SELECT {ENTRY_COLUMNS} FROM audit_logs{where} ORDER BY seq DESC LIMIT %s",  # noqa: S608
            (*params, query.limit + 1),
        ).fetchall()
    page = AUDIT_KEYSET.page(rows, query.limit, lambda row: SeqPosition(seq=row["seq"]))
    return page.map(entry_out)


def get_entry(entry_id: str) -> AuditEntry:
    """One entry; 404 when unknown (or not an id at all)."""
    entry_id = uuid_or_not_found(entry_id, "audit entry")
    with connection() as conn:
        row = fetch_entry(conn, entry_id)
    if row is None:
        raise NotFound("No audit entry with this id.", details={"resource": "audit entry"})
    return entry_out(row)


def fetch_entry(conn: psycopg.Connection, entry_id: str) -> dict[str, Any] | None:
    return conn.execute(f"SELECT {ENTRY_COLUMNS} FROM audit_logs WHERE id = %s", (entry_id,)).fetchone()  # noqa: S608
