"""Every list's cursor through the real handlers: a cursor a list handed out resumes it; anything else is a 422.

Forged (a valid shape whose MAC is not ours), foreign (handed out by another list), malformed (not base64,
not JSON, a position of the wrong type) and the issue's own case, base64 of ``{"t": "not-a-time", "id": "x"}``
(once a 500 on the admin lists): each answers 422 ``invalid_cursor`` naming ``query.cursor`` and changes nothing.
"""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from pydantic import BaseModel

from tests.integration.auth_support import create_account, open_session_for
from warroom.core.pagination import Keyset
from warroom.mentions.ingest import ingest_mentions
from warroom.mentions.sources.mock import MockSource
from warroom.pipelines.campaigns import sync_campaigns

# (function, event, list name in its Keyset)
LISTS = [
    ("AdminFunction", "admin_list_users", "admin.users"),
    ("AdminFunction", "admin_list_api_keys", "admin.api_keys"),
    ("AdminFunction", "admin_webhooks_list", "webhooks.subscriptions"),
    ("AuthFunction", "auth_list_sessions", "auth.sessions"),
    ("MentionsFunction", "mentions_list", "mentions.mentions"),
    ("AlertsFunction", "alerts_list", "crisis.alerts"),
    ("AuditFunction", "audit_list", "audit.entries"),
    ("CampaignsFunction", "campaigns_list", "campaigns.list"),
    ("MetaFunction", "meta_adsets", "campaigns.ad_sets"),
    ("DocumentsFunction", "documents_list", "documents.list"),
    ("ReportsFunction", "reports_list", "reports.list"),
    ("ReportsFunction", "reports_schedules_list", "reports.schedules"),
]


class _LoosePosition(BaseModel):
    """A position of any shape, to sign cursors no list would hand out."""

    model_config = {"extra": "allow"}


def _signed(list_name: str, position: dict) -> str:
    return Keyset(list_name, _LoosePosition).encode(_LoosePosition(**position))


@pytest.fixture
def lists_with_two_pages(invoke, db):
    """An admin with a session, and at least two items in every list; the admin's token."""
    account = create_account(db, role="admin")
    session = open_session_for(account)
    open_session_for(account, user_agent="second device")
    token = session.access_token
    for role in ("user", "manager"):
        created = invoke(
            "AdminFunction",
            "admin_create_user",
            token=token,
            body={
                "email": f"{role}-cursor@example.org",
                "password": "sunlit-ferry-quartz-meadow-41",
                "role": role,
            },
        )
        assert created.status == 201, created.body
    for name in ("one", "two"):
        assert (
            invoke("AdminFunction", "admin_create_api_key", token=token, body={"name": name, "role": "readonly"}).status
            == 201
        )
    for path in ("one", "two"):  # loopback http is accepted in local development (the tests' AWS_SAM_LOCAL)
        body = {"url": f"http://127.0.0.1:8080/{path}", "events": ["crisis:detected"]}
        assert invoke("AdminFunction", "admin_webhooks_create", token=token, body=body).status == 201
    for title in ("First alert", "Second alert"):
        assert (
            invoke("AlertsFunction", "alerts_create", token=token, body={"title": title, "severity": 5}).status == 201
        )
    sync_campaigns()  # the mock campaigns and their ad sets
    for _ in range(2):
        assert invoke("ReportsFunction", "reports_create", token=token, body={"type": "crisis_log"}).status == 201
        schedule = {"type": "crisis_log", "frequency": "daily", "hour": 7}
        assert invoke("ReportsFunction", "reports_schedules_create", token=token, body=schedule).status == 201
    db.execute(
        "INSERT INTO documents (filename, file_path, status) VALUES ('a.md', 's3://b/documents/a.md', 'pending'),"
        " ('b.md', 's3://b/documents/b.md', 'pending')"
    )
    now = dt.datetime.now(dt.UTC)
    ingest_mentions(
        MockSource(mean_per_minute=2.0, page_size=1000).fetch(now - dt.timedelta(minutes=10), now, None).mentions
    )
    return token


def _list(invoke, function: str, event: str, token: str, **query: str):
    return invoke(function, event, token=token, query={name: [value] for name, value in query.items()})


@pytest.mark.parametrize(("function", "event", "list_name"), LISTS, ids=[entry[1] for entry in LISTS])
def test_a_list_resumes_from_its_own_cursor_and_refuses_every_other(
    invoke, db, lists_with_two_pages, function, event, list_name
):
    token = lists_with_two_pages
    # GIVEN the first page of one item and its cursor
    first = _list(invoke, function, event, token, limit="1")
    assert first.status == 200, first.body
    cursor = first.body["next_cursor"]
    assert cursor, "the fixture gives every list a second page"
    # WHEN the cursor is used: the next page starts after the first
    second = _list(invoke, function, event, token, limit="1", cursor=cursor)
    assert second.status == 200 and second.body["items"] != first.body["items"]
    # THEN every cursor this list did not hand out is a 422 naming it
    payload, _, mac = cursor.partition(".")
    other_list = next(name for _, _, name in LISTS if name != list_name)
    refused = {
        "not base64": "garbage!!",
        "percent signs": "%%%",
        "no MAC": payload,
        "the issue's unsigned bad value": base64.urlsafe_b64encode(
            json.dumps({"t": "not-a-time", "id": "x"}).encode()
        ).decode(),
        "forged MAC": payload + "." + ("A" if mac[0] != "A" else "B") + mac[1:],
        "foreign (another list's)": _signed(
            other_list, {"t": "2026-11-01T00:00:00Z", "id": first.body["items"][0].get("id", "x")}
        ),
        "signed, a bad time": _signed(list_name, {"t": "not-a-time", "id": "x"}),
        "signed, an extreme time": _signed(
            list_name, {"t": "0001-01-01T00:00:00+00:00", "id": "00000000-0000-0000-0000-000000000000"}
        ),
        "signed, a NUL": _signed(list_name, {"t": "2026-11-01T00:00:00Z\x00", "id": "x\x00"}),
        "signed, a huge seq": _signed(list_name, {"seq": 10**30}),
        "signed, extra keys": _signed(
            list_name, {"t": "2026-11-01T00:00:00Z", "id": "00000000-0000-0000-0000-000000000000", "x": 1}
        ),
        "signed, not an object": base64.urlsafe_b64encode(b"[1,2]").decode() + "." + mac,
        "too long": "A" * 600,
        "non-ASCII": "é" + cursor,
    }
    audit_rows = db.execute("SELECT count(*) AS n FROM audit_logs").fetchone()["n"]
    for what, bad in refused.items():
        answer = _list(invoke, function, event, token, limit="1", cursor=bad)
        assert answer.status == 422, (what, answer.status, answer.body)
        assert answer.error_code in ("invalid_cursor", "validation_error"), what
        assert answer.body["error"]["details"][0]["loc"] == ["query", "cursor"], what
    assert db.execute("SELECT count(*) AS n FROM audit_logs").fetchone()["n"] == audit_rows


def test_a_cursor_is_bound_to_its_list_even_with_the_same_position_shape(invoke, lists_with_two_pages):
    # GIVEN a real cursor of the users list (a time and an id, the shape the API-key list uses too)
    token = lists_with_two_pages
    users_cursor = _list(invoke, "AdminFunction", "admin_list_users", token, limit="1").body["next_cursor"]
    # WHEN it is handed to the API-key list
    answer = _list(invoke, "AdminFunction", "admin_list_api_keys", token, limit="1", cursor=users_cursor)
    # THEN the key list refuses it instead of paging from a user's position
    assert answer.status == 422 and answer.error_code == "invalid_cursor"
