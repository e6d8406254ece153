"""Per-request timings, written to ``performance_logs`` in batches off the request path.

Example
-------
>>> from warroom.core.perf import record_request
>>> record_request("system", "GET /api/v1/health", status_code=200, duration_ms=3.2, request_id="...")

A request only appends to an in-memory buffer (no I/O). A daemon thread writes the buffer with one
``executemany`` every ``perf_flush_interval_s`` or when ``perf_flush_batch_size`` rows wait, and at
exit. In Lambda the thread runs while the container is thawed, so rows wait at most one interval
after the next invocation; the last few seconds of a container that AWS retires can be lost, which
is acceptable for latency statistics and not for anything else (audit rows are written inline).

Every insert takes a transaction lock first (a statement trigger, migration 0019), so the rows' ``seq`` is in
commit order: the 1-minute metrics job rolls them up behind that watermark (:mod:`warroom.metrics.rollups`).
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import threading
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from warroom.core.config import get_settings

logger = logging.getLogger(__name__)

_MAX_BUFFERED_ROWS = 10_000  # when the database is down for long, keep the newest rows only
_buffer: list[tuple[Any, ...]] = []
_lock = threading.Lock()
_wake = threading.Event()
_thread: threading.Thread | None = None


def record_request(
    service: str, endpoint: str, *, status_code: int, duration_ms: float, request_id: str | None = None
) -> None:
    """Remember one request's timing; never blocks, never raises."""
    row = (
        service,
        endpoint[:200],
        round(duration_ms),
        status_code,
        dt.datetime.now(dt.UTC),
        Jsonb({"request_id": request_id, "duration_ms": round(duration_ms, 3)}),
    )
    with _lock:
        _buffer.append(row)
        if len(_buffer) > _MAX_BUFFERED_ROWS:
            del _buffer[: len(_buffer) - _MAX_BUFFERED_ROWS]
        full = len(_buffer) >= get_settings().perf_flush_batch_size
    _ensure_flusher()
    if full:
        _wake.set()


def flush() -> int:
    """Write what is buffered now; returns the number of rows written (0 if the database is down)."""
    from warroom.core.db import connection
    from warroom.core.errors import DependencyUnavailable

    with _lock:
        rows = list(_buffer)
        _buffer.clear()
    if not rows:
        return 0
    try:
        with connection() as conn, conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO performance_logs"
                " (service_name, endpoint, response_time_ms, status_code, timestamp, metadata)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                rows,
            )
    except DependencyUnavailable:
        with _lock:  # keep them for the next attempt
            _buffer[:0] = rows
        return 0
    except Exception:
        logger.exception("could not write %d performance rows; dropped", len(rows))
        return 0
    return len(rows)


def _flush_forever() -> None:
    interval = get_settings().perf_flush_interval_s
    while True:
        _wake.wait(interval)
        _wake.clear()
        flush()


def _ensure_flusher() -> None:
    global _thread
    if _thread is None:
        with _lock:
            if _thread is None:
                _thread = threading.Thread(target=_flush_forever, name="warroom-perf-flush", daemon=True)
                _thread.start()
                atexit.register(flush)


def prune_performance_logs(conn: psycopg.Connection, before: dt.datetime) -> int:
    """Delete request timings older than ``before`` (the retention job); how many went."""
    return conn.execute("DELETE FROM performance_logs WHERE timestamp < %s", (before,)).rowcount
