"""The realtime function and the connection registry, through the real handler and real Redis."""

from __future__ import annotations

import json
import time

import pytest
import redis

from tests.conftest import load_event
from warroom.realtime import broadcast, connections

REALTIME = "RealtimeFunction"


@pytest.fixture
def ws(services, lambda_runtime):
    """Invoke the realtime function with a WebSocket event file, optionally changed."""

    def call(
        event_name: str, *, token: str | None = None, body: str | None = None, connection_id: str = "L0SM9cOFvHcCIhw="
    ) -> dict:
        event = load_event(event_name)
        event["requestContext"]["connectionId"] = connection_id
        if event_name == "realtime_connect":
            event["queryStringParameters"] = {"token": token} if token else None
            event["multiValueQueryStringParameters"] = {"token": [token]} if token else None
        if body is not None:
            event["body"] = body
        return lambda_runtime.invoke(REALTIME, event)

    return call


def _frame(answer: dict) -> dict:
    return json.loads(answer["body"])


def test_connect_with_a_valid_token_registers_the_connection(ws, token_for, services):
    # WHEN a manager's dashboard connects
    answer = ws("realtime_connect", token=token_for("manager"))
    # THEN the connection opens and is registered with the user's role
    assert answer["statusCode"] == 200
    connection = connections.get("L0SM9cOFvHcCIhw=")
    assert connection is not None and connection.role == "manager"
    assert redis.Redis.from_url(services.redis_url).zscore("ws:connections", "L0SM9cOFvHcCIhw=") is not None


@pytest.mark.parametrize("token", [None, "garbage", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."])
def test_connect_without_a_valid_token_is_refused_and_registers_nothing(ws, token):
    answer = ws("realtime_connect", token=token)
    assert answer["statusCode"] == 401
    assert connections.count() == 0


def test_ping_answers_pong_and_refreshes_last_seen(ws, token_for):
    ws("realtime_connect", token=token_for("readonly"))
    before = connections.get("L0SM9cOFvHcCIhw=").last_seen
    time.sleep(0.01)
    frame = _frame(ws("realtime_message", body='{"action": "ping"}'))
    assert frame["event"] == "pong"
    assert set(frame) == {"event", "data", "timestamp"}
    assert connections.get("L0SM9cOFvHcCIhw=").last_seen > before


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("not json", "bad_request"),
        ("[1, 2]", "bad_request"),
        ('{"no": "action"}', "bad_request"),
        ('{"action": "dance"}', "unknown_action"),
        ('{"action": "subscribe"}', "validation_error"),
        ('{"action": "subscribe", "channels": ["Bad Name!"]}', "validation_error"),
        ('{"action": "subscribe", "channels": []}', "validation_error"),
    ],
)
def test_bad_frames_get_an_error_event_and_the_connection_stays(ws, token_for, body, code):
    ws("realtime_connect", token=token_for("user"))
    answer = ws("realtime_message", body=body)
    assert answer["statusCode"] == 200
    assert _frame(answer)["event"] == "error"
    assert _frame(answer)["data"]["code"] == code
    assert connections.get("L0SM9cOFvHcCIhw=") is not None


def test_subscribe_and_unsubscribe_channels(ws, token_for):
    ws("realtime_connect", token=token_for("user"))
    subscribed = _frame(ws("realtime_message", body='{"action": "subscribe", "channels": ["crisis:alerts", "kpi"]}'))
    assert subscribed["data"]["channels"] == ["crisis:alerts", "kpi"]
    left = _frame(ws("realtime_message", body='{"action": "unsubscribe", "channels": ["kpi"]}'))
    assert left["data"]["channels"] == ["crisis:alerts"]
    assert connections.get("L0SM9cOFvHcCIhw=").channels == {"crisis:alerts"}


def test_disconnect_removes_the_connection(ws, token_for):
    ws("realtime_connect", token=token_for("user"))
    assert ws("realtime_disconnect")["statusCode"] == 200
    assert connections.get("L0SM9cOFvHcCIhw=") is None
    assert connections.count() == 0


def test_audiences_respect_channel_user_and_role(services):
    connections.register("admin-1", user_id="u-admin", role="admin")
    connections.register("viewer-1", user_id="u-viewer", role="readonly")
    connections.register("viewer-2", user_id="u-viewer", role="readonly")
    connections.set_channels("viewer-2", ["crisis:alerts"])
    ids = lambda found: sorted(c.connection_id for c in found)  # noqa: E731
    assert ids(connections.matching()) == ["admin-1", "viewer-1", "viewer-2"]
    assert ids(connections.matching(min_role="admin")) == ["admin-1"]
    assert ids(connections.matching(channel="crisis:alerts")) == ["viewer-2"]
    assert ids(connections.matching(user_id="u-viewer")) == ["viewer-1", "viewer-2"]


def test_sweep_drops_connections_that_missed_three_heartbeats(services, lambda_runtime):
    connections.register("fresh", user_id="u1", role="user")
    connections.register("stale", user_id="u2", role="user")
    redis.Redis.from_url(services.redis_url).zadd("ws:connections", {"stale": time.time() - 91})
    result = lambda_runtime.invoke("WsSweeperFunction", load_event("scheduled_event"))
    assert result == {"dropped": 1}
    assert connections.get("stale") is None
    assert connections.get("fresh") is not None


def test_broadcast_without_a_websocket_api_reaches_no_one_and_does_not_fail(services, monkeypatch):
    monkeypatch.delenv("WARROOM_WS_MANAGEMENT_ENDPOINT", raising=False)
    connections.register("c1", user_id="u1", role="user")
    assert broadcast("system:health-change", {"status": "degraded"}) == 0


def test_redis_down_refuses_new_sockets_and_broadcast_degrades(ws, token_for, monkeypatch):
    from tests.conftest import _reset_containers

    token = token_for("user")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("WARROOM_WS_MANAGEMENT_ENDPOINT", "http://127.0.0.1:1")
    _reset_containers()
    assert ws("realtime_connect", token=token)["statusCode"] == 503
    assert broadcast("system:data-mode-change", {"mode": "LIVE"}) == 0


def test_connect_with_an_api_key_in_the_query_string(services, lambda_runtime, make_user):
    # GIVEN an API key of a manager (browsers cannot send headers on a WebSocket, so it comes as ?api_key=)
    from warroom.admin.api_keys import create_api_key
    from warroom.core.security import decode_access_token, issue_access_token

    creator = decode_access_token(issue_access_token(make_user("manager"), "manager"))
    key = create_api_key("dashboard wall", "readonly", None, creator, {"user_id": creator.user_id}).key

    def connect(api_key: str) -> dict:
        event = load_event("realtime_connect")
        event["queryStringParameters"] = {"api_key": api_key}
        event["multiValueQueryStringParameters"] = {"api_key": [api_key]}
        return lambda_runtime.invoke(REALTIME, event)

    # WHEN it connects, and so does a made-up key
    accepted, refused = connect(key), connect("wr_" + "x" * 40)
    # THEN the real key opens a connection with the key's role, the made-up one does not
    assert accepted["statusCode"] == 200
    assert connections.get("L0SM9cOFvHcCIhw=").role == "readonly"
    assert refused["statusCode"] == 401
