"""The WebSocket connection registry, in Redis: who is connected, as whom, to which channels.

Example
-------
>>> register("L0SM9cOFvHcCIhw=", user_id="5f0c...", role="manager", source_ip="203.0.113.7")
>>> subscribe("L0SM9cOFvHcCIhw=", ["crisis:alerts"])
>>> [c.connection_id for c in matching(channel="crisis:alerts")]

Keys: ``ws:conn:<id>`` is a hash (user id, role, the session, token and key it was opened with, when
that credential expires, channels, connected/last-seen times) that expires on its own when a connection
stops pinging; ``ws:connections`` is a sorted set of ids scored by last seen, which the sweep walks to
drop connections silent for ``STALE_AFTER_S`` (3 missed 30 s heartbeats); ``ws:user:<id>`` is the set of a
user's connections, so revoking their access closes exactly their sockets.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

from warroom.core import cache
from warroom.core.security import role_at_least

HEARTBEAT_S = 30
STALE_AFTER_S = 3 * HEARTBEAT_S
CONNECTIONS_KEY = "ws:connections"
MAX_CHANNELS = 20
CHANNEL_NAME = re.compile(r"^[a-z0-9][a-z0-9:_-]{0,63}$")
# The hash outlives the sweep interval so a missed sweep cannot leave it forever.
_HASH_TTL_S = 2 * STALE_AFTER_S


@dataclass(frozen=True)
class Connection:
    connection_id: str
    user_id: str
    role: str
    channels: frozenset[str]
    last_seen: float
    session_id: str = ""
    key_id: str = ""
    # When the credential it was opened (or last re-authenticated) with expires; 0 for a key without expiry.
    expires_at: float = 0.0

    def expired(self, now: float | None = None) -> bool:
        return bool(self.expires_at) and self.expires_at <= (now or time.time())


def _key(connection_id: str) -> str:
    return f"ws:conn:{connection_id}"


def _user_key(user_id: str) -> str:
    return f"ws:user:{user_id}"


def register(
    connection_id: str,
    *,
    user_id: str,
    role: str,
    source_ip: str | None = None,
    session_id: str | None = None,
    key_id: str | None = None,
    expires_at: float | None = None,
) -> bool:
    """Record a new connection; False when Redis is down (the caller refuses the connection)."""
    now = time.time()

    def write(r):
        with r.pipeline() as pipe:
            pipe.hset(
                _key(connection_id),
                mapping={
                    "user_id": user_id,
                    "role": role,
                    "channels": "",
                    "connected_at": now,
                    "last_seen": now,
                    "source_ip": source_ip or "",
                    "session_id": session_id or "",
                    "key_id": key_id or "",
                    "expires_at": expires_at or 0,
                },
            )
            pipe.expire(_key(connection_id), _HASH_TTL_S)
            pipe.zadd(CONNECTIONS_KEY, {connection_id: now})
            pipe.sadd(_user_key(user_id), connection_id)
            pipe.expire(_user_key(user_id), _HASH_TTL_S)
            return pipe.execute()

    return cache.run("ws_register", write) is not None


def reauthenticate(connection_id: str, *, role: str, session_id: str | None, expires_at: float) -> bool:
    """A fresh token on an open socket: its role, session and expiry replace the old ones."""
    mapping = {"role": role, "session_id": session_id or "", "expires_at": expires_at}
    return cache.run("ws_reauth", lambda r: r.hset(_key(connection_id), mapping=mapping)) is not None


def of_user(user_id: str) -> list[Connection]:
    """The user's registered connections."""

    def read(r):
        ids = sorted(r.smembers(_user_key(user_id)))
        with r.pipeline(transaction=False) as pipe:
            for connection_id in ids:
                pipe.hgetall(_key(connection_id))
            return list(zip(ids, pipe.execute(), strict=True))

    pairs = cache.run("ws_of_user", read, default=[]) or []
    return [c for c in (_connection(i, f) for i, f in pairs) if c is not None]


def touch(connection_id: str) -> bool:
    """Mark a connection as seen now (a ping); False if it is not registered."""
    now = time.time()

    def write(r):
        if not r.exists(_key(connection_id)):
            return False
        with r.pipeline() as pipe:
            pipe.hset(_key(connection_id), "last_seen", now)
            pipe.expire(_key(connection_id), _HASH_TTL_S)
            pipe.zadd(CONNECTIONS_KEY, {connection_id: now})
            pipe.execute()
        return True

    return bool(cache.run("ws_touch", write, default=False))


def get(connection_id: str) -> Connection | None:
    """One connection, or None."""
    fields = cache.run("ws_get", lambda r: r.hgetall(_key(connection_id)), default={}) or {}
    return _connection(connection_id, fields)


def _connection(connection_id: str, fields: dict[str, str]) -> Connection | None:
    if not fields:
        return None
    return Connection(
        connection_id=connection_id,
        user_id=fields.get("user_id", ""),
        role=fields.get("role", "readonly"),
        channels=frozenset(c for c in fields.get("channels", "").split(",") if c),
        last_seen=float(fields.get("last_seen") or 0),
        session_id=fields.get("session_id", ""),
        key_id=fields.get("key_id", ""),
        expires_at=float(fields.get("expires_at") or 0),
    )


def set_channels(connection_id: str, channels: Iterable[str]) -> frozenset[str]:
    """Replace a connection's channel subscriptions."""
    chosen = frozenset(channels)
    cache.run("ws_channels", lambda r: r.hset(_key(connection_id), "channels", ",".join(sorted(chosen))))
    return chosen


def remove(connection_id: str) -> None:
    """Forget a connection (disconnected, gone or swept)."""

    def delete(r):
        user_id = r.hget(_key(connection_id), "user_id")
        with r.pipeline() as pipe:
            pipe.delete(_key(connection_id))
            pipe.zrem(CONNECTIONS_KEY, connection_id)
            if user_id:
                pipe.srem(_user_key(user_id), connection_id)
            pipe.execute()

    cache.run("ws_remove", delete)


def all_connections() -> list[Connection]:
    """Every registered connection (one round trip for the ids, one pipelined round trip for their hashes)."""

    def read(r):
        ids = r.zrange(CONNECTIONS_KEY, 0, -1)
        with r.pipeline(transaction=False) as pipe:
            for connection_id in ids:
                pipe.hgetall(_key(connection_id))
            return list(zip(ids, pipe.execute(), strict=True))

    pairs = cache.run("ws_all", read, default=[]) or []
    return [c for c in (_connection(i, f) for i, f in pairs) if c is not None]


def matching(*, channel: str | None = None, user_id: str | None = None, min_role: str = "readonly") -> list[Connection]:
    """Connections that should receive an event for this audience: none whose credential has expired."""
    now = time.time()
    return [
        c
        for c in all_connections()
        if role_at_least(c.role, min_role)  # type: ignore[arg-type]
        and not c.expired(now)
        and (channel is None or channel in c.channels)
        and (user_id is None or c.user_id == user_id)
    ]


def expired(now: float | None = None) -> list[str]:
    """Ids of connections whose credential expired without a re-authentication on the socket."""
    now = now or time.time()
    return [c.connection_id for c in all_connections() if c.expired(now)]


def stale(now: float | None = None) -> list[str]:
    """Ids of connections not seen for ``STALE_AFTER_S``."""
    cutoff = (now or time.time()) - STALE_AFTER_S
    return list(cache.run("ws_stale", lambda r: r.zrangebyscore(CONNECTIONS_KEY, "-inf", cutoff), default=[]) or [])


def count() -> int:
    """How many connections are registered."""
    return int(cache.run("ws_count", lambda r: r.zcard(CONNECTIONS_KEY), default=0) or 0)
