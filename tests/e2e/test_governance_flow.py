"""Governance through ``warroom dev`` over HTTP: an admin provisions a user and an API key, the key works
within its quota, and the audit log has recorded it all in an intact chain."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.e2e


def test_admin_provisions_a_user_and_a_key_and_the_audit_log_shows_it(local_cloud):
    # GIVEN the seeded admin
    client = local_cloud.client
    admin = {"Authorization": f"Bearer {local_cloud.admin_token()}", "User-Agent": "e2e-governance"}
    email = f"analyst-{uuid.uuid4().hex[:8]}@campaign.org"

    # WHEN they create a user and an API key for a reporting tool
    user = client.post(
        "/api/v1/admin/users",
        headers=admin,
        json={"email": email, "password": "harbour-violet-crayon-ninety", "role": "user", "full_name": "Analyst"},
    )
    key = client.post("/api/v1/admin/api-keys", headers=admin, json={"name": "reporting", "role": "readonly"})

    # THEN both exist, the key shown once
    assert user.status_code == 201, user.text
    assert key.status_code == 201, key.text
    api_key = key.json()["key"]
    assert api_key.startswith(f"wr_{key.json()['prefix']}_")

    # WHEN the tool calls a protected route with the key three times
    answers = [client.get("/api/v1/settings", headers={"X-API-Key": api_key}) for _ in range(3)]

    # THEN it is served, with its hourly quota counting down
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert {a.headers["X-RateLimit-Limit"] for a in answers} == {"1000"}
    assert [int(a.headers["X-RateLimit-Remaining"]) for a in answers] == [999, 998, 997]
    # AND the readonly key cannot administer
    assert client.get("/api/v1/admin/users", headers={"X-API-Key": api_key}).status_code == 403

    # WHEN the admin checks the audit trail
    verify = client.get("/api/v1/audit/verify", headers=admin)
    created_users = client.get("/api/v1/audit", headers=admin, params={"action": "admin.user_create"})
    created_keys = client.get(
        "/api/v1/audit", headers=admin, params={"action": "admin.api_key_create", "resource_id": key.json()["id"]}
    )

    # THEN the chain is intact and both actions are there, by the admin, from this client
    assert verify.status_code == 200
    assert verify.json()["ok"] is True and verify.json()["rows"] >= 2
    [user_entry] = [e for e in created_users.json()["items"] if e["resource_id"] == user.json()["id"]]
    [key_entry] = created_keys.json()["items"]
    for entry in (user_entry, key_entry):
        assert entry["user_agent"] == "e2e-governance"
        assert entry["ip_address"] == "127.0.0.1"
    assert api_key not in created_keys.text
    assert key_entry["seq"] > user_entry["seq"]
