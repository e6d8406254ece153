"""The audit log's hash chain: how it is written, and checking it end to end.

Example
-------
>>> verify_chain()
VerifyOut(ok=True, rows=1234, head=ChainHead(seq=1234, hash='9f2c...'), first_bad=None)

Written by the database (migration ``0005_governance.sql``), whoever inserts: a BEFORE INSERT
trigger takes a transaction-level advisory lock (writers are serialised until they commit), reads
the last entry and sets ``seq`` = last + 1, ``prev_hash`` = its hash and ``hash`` =
``sha256(prev_hash || canonical content)`` (SQL function ``audit_row_hash``: id, seq, user, action,
resource, the details' jsonb text, IP, user agent and the UTC timestamp in a fixed format). UPDATE
and DELETE on ``audit_logs`` are refused by a trigger.

Checking walks every entry in ``seq`` order in one SQL statement (a window function pairs each entry
with the one before it, the hash is recomputed in the database), inside a read-only REPEATABLE READ
transaction so the count, the walk and the head describe one snapshot. The first broken entry is
reported with why:

- ``sequence_gap``: entries before it are missing (deleted);
- ``prev_hash_mismatch``: it does not link to the entry before it (one was deleted or re-hashed);
- ``hash_mismatch``: its content was changed after it was written.

What the walk cannot see alone -- entries cut off the end, an emptied or restarted chain, or a chain
recomputed from an edit onwards by someone holding the owner's rights -- the anchor shows: a head kept
outside the table, either the caller's (``anchor_seq`` / ``anchor_hash``, a ``head`` saved from an
earlier verify) or the one :mod:`warroom.audit.anchor` stores hourly in an Object Lock bucket. A chain
shorter than its anchor is ``truncated``; another hash at the anchor's ``seq`` is ``anchor_mismatch``.
"""

from __future__ import annotations

from warroom.audit.anchor import stored_anchor
from warroom.audit.models import AnchorCheck, BadLink, ChainHead, VerifyOut
from warroom.core.db import connection

GENESIS_HASH = "0" * 64

_FIRST_BAD_LINK = """
WITH chain AS (
    SELECT id, seq, prev_hash, hash,
           lag(seq) OVER (ORDER BY seq) AS previous_seq,
           lag(hash) OVER (ORDER BY seq) AS previous_hash,
           audit_row_hash(prev_hash, id, seq, user_id, action, resource_type, resource_id, details, ip_address,
                          user_agent, timestamp) AS recomputed
    FROM audit_logs
), checked AS (
    SELECT id, seq, CASE
        WHEN seq <> COALESCE(previous_seq, 0) + 1 THEN 'sequence_gap'
        WHEN prev_hash <> COALESCE(previous_hash, %(genesis)s) THEN 'prev_hash_mismatch'
        WHEN hash <> recomputed THEN 'hash_mismatch'
    END AS reason
    FROM chain
)
SELECT id, seq, reason FROM checked WHERE reason IS NOT NULL ORDER BY seq LIMIT 1
"""


def verify_chain(anchor: ChainHead | None = None) -> VerifyOut:
    """Walk the whole chain and hold it against ``anchor`` (else the stored anchor, if any); ``ok`` with the row
    count and head, or the first broken entry and why."""
    source = "caller" if anchor is not None else "stored"
    anchor = anchor or stored_anchor()
    with connection() as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        rows = conn.execute("SELECT count(*) AS n FROM audit_logs").fetchone()["n"]
        head = conn.execute("SELECT seq, hash FROM audit_logs ORDER BY seq DESC LIMIT 1").fetchone()
        bad = conn.execute(_FIRST_BAD_LINK, {"genesis": GENESIS_HASH}).fetchone()
        at_anchor = (
            conn.execute("SELECT id, hash FROM audit_logs WHERE seq = %s", (anchor.seq,)).fetchone() if anchor else None
        )
    head_out = ChainHead(seq=head["seq"], hash=head["hash"]) if head else None
    check = None
    if anchor is not None:
        status = (
            "matches" if at_anchor and at_anchor["hash"] == anchor.hash else "mismatch" if at_anchor else "truncated"
        )
        check = AnchorCheck(seq=anchor.seq, hash=anchor.hash, source=source, status=status)
    if bad is not None:
        first_bad = BadLink(id=str(bad["id"]), seq=bad["seq"], reason=bad["reason"])
        return VerifyOut(ok=False, rows=rows, head=head_out, first_bad=first_bad, anchor=check)
    if check is not None and check.status != "matches":
        reason = "truncated" if check.status == "truncated" else "anchor_mismatch"
        first_bad = BadLink(id=str(at_anchor["id"]) if at_anchor else None, seq=anchor.seq, reason=reason)
        return VerifyOut(ok=False, rows=rows, head=head_out, first_bad=first_bad, anchor=check)
    return VerifyOut(ok=True, rows=rows, head=head_out, anchor=check)
