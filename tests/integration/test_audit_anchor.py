"""The audit chain held against a head kept outside the database: an emptied, restarted or cut chain shows.

Once, ``verify`` said ``ok`` for an empty or restarted chain. Now the hourly AuditAnchorFunction keeps the head
in an Object Lock bucket (moto here), and ``verify`` compares with it, or with a head the caller saved.
"""

from __future__ import annotations

import contextlib

import boto3
import pytest

from tests.conftest import _reset_containers, load_event

AUDIT = "AuditFunction"
ANCHOR = "AuditAnchorFunction"
BUCKET = "warroom-test-audit-anchors"


@pytest.fixture
def anchored(services, monkeypatch):
    """An anchor bucket (Object Lock on, as the template makes it) the functions write to."""
    s3 = boto3.client("s3")
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
    for version in s3.list_object_versions(Bucket=BUCKET).get("Versions", []):
        s3.delete_object(
            Bucket=BUCKET, Key=version["Key"], VersionId=version["VersionId"], BypassGovernanceRetention=True
        )
    monkeypatch.setenv("WARROOM_AUDIT_ANCHOR_BUCKET", BUCKET)
    _reset_containers()
    return s3


def _write(db, action: str, n: int) -> None:
    for i in range(n):
        db.execute(
            "INSERT INTO audit_logs (action, resource_type, resource_id) VALUES (%s, 'thing', %s)", (action, str(i))
        )


def _empty_the_log(db) -> None:
    db.execute("SET warroom.allow_audit_truncate = on")  # only a DBA (or this harness) may
    db.execute("TRUNCATE audit_logs")


def _verify(invoke, token: str, **query: str):
    return invoke(AUDIT, "audit_verify", token=token, query={k: [v] for k, v in query.items()} or None)


def test_the_anchor_is_written_and_an_intact_chain_matches_it(invoke, lambda_runtime, anchored, token_for, db):
    token = token_for("manager")
    _write(db, "test.entry", 5)
    # WHEN the hourly anchor runs, twice
    first = lambda_runtime.invoke(ANCHOR, load_event("audit_anchor_schedule"))
    again = lambda_runtime.invoke(ANCHOR, load_event("audit_anchor_schedule"))
    # THEN the head is stored once, and verify holds the chain against it
    head = db.execute("SELECT seq, hash FROM audit_logs ORDER BY seq DESC LIMIT 1").fetchone()
    assert first == {"status": "written", "seq": head["seq"], "hash": head["hash"]}
    assert again["status"] == "unchanged"
    answer = _verify(invoke, token)
    assert answer.status == 200 and answer.body["ok"] is True
    assert answer.body["anchor"] == {"seq": head["seq"], "hash": head["hash"], "source": "stored", "status": "matches"}


@pytest.mark.parametrize("restart_with", [0, 2])
def test_an_emptied_or_restarted_chain_is_not_ok(invoke, lambda_runtime, anchored, token_for, db, restart_with):
    token = token_for("manager")
    _write(db, "test.entry", 6)
    assert lambda_runtime.invoke(ANCHOR, load_event("audit_anchor_schedule"))["status"] == "written"
    anchor_seq = db.execute("SELECT max(seq) AS s FROM audit_logs").fetchone()["s"]
    # GIVEN the log emptied behind the application's back, and maybe a few new entries since (seq restarts at 1)
    _empty_the_log(db)
    _write(db, "after.restart", restart_with)
    # WHEN it is verified
    answer = _verify(invoke, token)
    # THEN the walk alone would pass, but the chain is shorter than its anchor
    assert answer.status == 200 and answer.body["ok"] is False
    assert answer.body["first_bad"] == {"id": None, "seq": anchor_seq, "reason": "truncated"}
    assert answer.body["anchor"]["status"] == "truncated"
    # AND the anchor writer refuses to move the anchor back to the shorter chain
    refused = lambda_runtime.invoke(ANCHOR, load_event("audit_anchor_schedule"))
    assert refused == {"status": "refused", "reason": "chain_lost_its_anchor", "anchor_seq": anchor_seq}


def test_a_chain_rewritten_up_to_the_anchor_is_an_anchor_mismatch(invoke, lambda_runtime, anchored, token_for, db):
    token = token_for("manager")
    _write(db, "test.entry", 4)
    assert lambda_runtime.invoke(ANCHOR, load_event("audit_anchor_schedule"))["status"] == "written"
    # GIVEN the log emptied and rewritten with as many (different) entries: a recomputed, self-consistent chain
    _empty_the_log(db)
    _write(db, "forged.entry", 4 + 1)  # the test user's own row counts too
    answer = _verify(invoke, token)
    assert answer.body["ok"] is False and answer.body["first_bad"]["reason"] == "anchor_mismatch"


def test_a_caller_supplied_head_is_checked_and_bad_anchors_are_422(invoke, services, token_for, db):
    token = token_for("manager")
    _write(db, "test.entry", 3)
    head = db.execute("SELECT seq, hash FROM audit_logs ORDER BY seq DESC LIMIT 1").fetchone()
    good = _verify(invoke, token, anchor_seq=str(head["seq"]), anchor_hash=head["hash"])
    assert good.body["ok"] is True and good.body["anchor"]["source"] == "caller"
    ahead = _verify(invoke, token, anchor_seq=str(head["seq"] + 10), anchor_hash=head["hash"])
    assert ahead.body["ok"] is False and ahead.body["first_bad"]["reason"] == "truncated"
    for query in (
        {"anchor_seq": "3"},
        {"anchor_seq": "x", "anchor_hash": "0" * 64},
        {"anchor_seq": "1", "anchor_hash": "zz"},
    ):
        assert _verify(invoke, token, **query).status == 422
    # AND with no anchor anywhere the answer says so (anchor null) instead of vouching for the chain's end
    assert _verify(invoke, token).body["anchor"] is None
