"""A socket's credential expires with it: an expired one receives no broadcast and the sweep closes it."""

from __future__ import annotations

import time

from warroom.realtime import connections
from warroom.realtime.websocket import sweep_stale


def test_an_expired_socket_gets_no_broadcast_and_is_swept(services):
    now = time.time()
    # GIVEN two admin sockets: one whose token is still valid, one whose token expired without an auth frame
    connections.register("live-one", user_id="u1", role="admin", session_id="s1", expires_at=now + 600)
    connections.register("expired-one", user_id="u2", role="admin", session_id="s2", expires_at=now - 1)
    # WHEN an admin-only event picks its audience
    audience = [c.connection_id for c in connections.matching(min_role="admin")]
    # THEN only the valid socket is in it
    assert audience == ["live-one"]
    # AND the sweep closes the expired one and keeps the other
    assert sweep_stale(None) == 1
    assert connections.get("expired-one") is None and connections.get("live-one") is not None
    assert [c.connection_id for c in connections.of_user("u2")] == []


def test_a_renewed_socket_takes_the_new_role_and_expiry(services):
    connections.register("renewed", user_id="u3", role="admin", session_id="s3", expires_at=time.time() - 1)
    assert connections.reauthenticate("renewed", role="readonly", session_id="s4", expires_at=time.time() + 900)
    renewed = connections.get("renewed")
    assert renewed.role == "readonly" and renewed.session_id == "s4" and not renewed.expired()
    assert [c.connection_id for c in connections.matching(min_role="admin")] == []
