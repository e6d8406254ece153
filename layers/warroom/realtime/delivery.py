"""Posting messages to WebSocket connections through the API Gateway Management API.

Posts run concurrently on a small, container-wide thread pool; a connection that answers
``GoneException`` (410) is removed from the registry and does not stop the others.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from warroom.realtime import connections

logger = logging.getLogger(__name__)

MAX_PARALLEL_POSTS = 32
_executor = ThreadPoolExecutor(max_workers=MAX_PARALLEL_POSTS, thread_name_prefix="ws-post")


@functools.cache
def management_client(endpoint_url: str) -> Any:
    """The Management API client of one WebSocket stage (``https://{api}.execute-api.{region}.amazonaws.com/{stage}``)."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=1,
        read_timeout=2,
        retries={"max_attempts": 1, "mode": "standard"},
        max_pool_connections=MAX_PARALLEL_POSTS,
    )
    return boto3.session.Session().client("apigatewaymanagementapi", endpoint_url=endpoint_url, config=config)


def _post(client: Any, connection_id: str, payload: bytes) -> bool:
    try:
        client.post_to_connection(ConnectionId=connection_id, Data=payload)
    except client.exceptions.GoneException:
        connections.remove(connection_id)
        return False
    except Exception:
        logger.exception("post to connection %s failed", connection_id)
        return False
    return True


def deliver(endpoint_url: str, payload: bytes, connection_ids: Sequence[str]) -> int:
    """Post ``payload`` to every connection concurrently; returns how many received it."""
    client = management_client(endpoint_url)
    if len(connection_ids) == 1:
        return int(_post(client, connection_ids[0], payload))
    return sum(_executor.map(lambda cid: _post(client, cid, payload), connection_ids))


def close_connection(endpoint_url: str, connection_id: str) -> None:
    """Close a connection from the server side (the sweep); a gone one is fine."""
    client = management_client(endpoint_url)
    with contextlib.suppress(client.exceptions.GoneException):
        client.delete_connection(ConnectionId=connection_id)
    connections.remove(connection_id)
