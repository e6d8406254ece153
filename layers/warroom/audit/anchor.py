"""The audit chain's anchor: its head kept outside the database, so a cut-off, emptied or restarted chain shows.

Example
-------
>>> write_anchor()                 # AuditAnchorFunction, hourly: {"status": "written", "seq": 1234, ...}
>>> stored_anchor()                # ChainHead(seq=1234, hash='9f2c...') | None

The head (``seq``, ``hash``) goes to ``anchors/head.json`` in the anchor bucket (``WARROOM_AUDIT_ANCHOR_BUCKET``),
which the template creates with versioning and S3 Object Lock (governance mode, 400 days): each write is a
new version no one with database rights can delete, so the previous heads stay readable too. The writer
never moves the anchor backwards: if the chain no longer holds the stored head (shorter, or another hash at
that ``seq``), it leaves the anchor as it is and logs an error -- that is tampering to investigate, not a
new head to accept.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import psycopg

from warroom.audit.models import ChainHead
from warroom.core.aws import aws_client
from warroom.core.config import get_settings
from warroom.core.db import connection
from warroom.core.errors import DependencyUnavailable

logger = logging.getLogger(__name__)

ANCHOR_KEY = "anchors/head.json"


def _bucket() -> str | None:
    return get_settings().audit_anchor_bucket


def chain_head(conn: psycopg.Connection) -> ChainHead | None:
    row = conn.execute("SELECT seq, hash FROM audit_logs ORDER BY seq DESC LIMIT 1").fetchone()
    return ChainHead(seq=row["seq"], hash=row["hash"]) if row else None


def hash_at(conn: psycopg.Connection, seq: int) -> str | None:
    row = conn.execute("SELECT hash FROM audit_logs WHERE seq = %s", (seq,)).fetchone()
    return row["hash"] if row else None


def stored_anchor() -> ChainHead | None:
    """The last anchored head, or None when no anchor bucket is configured or nothing was anchored yet."""
    bucket = _bucket()
    if not bucket:
        return None
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        body = aws_client("s3").get_object(Bucket=bucket, Key=ANCHOR_KEY)["Body"].read()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise DependencyUnavailable("s3", "The audit anchor cannot be read right now.") from error
    except BotoCoreError as error:
        raise DependencyUnavailable("s3", "The audit anchor cannot be read right now.") from error
    data = json.loads(body)
    return ChainHead(seq=int(data["seq"]), hash=str(data["hash"]))


def write_anchor(now: dt.datetime | None = None) -> dict[str, Any]:
    """Anchor the current head unless the chain no longer holds the stored one; what was done, and why."""
    bucket = _bucket()
    if not bucket:
        return {"status": "not_configured"}
    previous = stored_anchor()
    with connection() as conn:
        head = chain_head(conn)
        held = previous is None or hash_at(conn, previous.seq) == previous.hash
    if not held:
        logger.error("audit chain no longer holds its anchor (seq %s): the anchor is left as it is", previous.seq)
        return {"status": "refused", "reason": "chain_lost_its_anchor", "anchor_seq": previous.seq}
    if head is None or (previous is not None and head.seq == previous.seq):
        return {"status": "unchanged", "seq": previous.seq if previous else None}
    moment = (now or dt.datetime.now(dt.UTC)).isoformat()
    body = json.dumps({"seq": head.seq, "hash": head.hash, "anchored_at": moment}).encode()
    aws_client("s3").put_object(Bucket=bucket, Key=ANCHOR_KEY, Body=body, ContentType="application/json")
    return {"status": "written", "seq": head.seq, "hash": head.hash}
