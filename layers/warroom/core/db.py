"""PostgreSQL access: one lazily opened psycopg 3 pool per Lambda container.

Example
-------
>>> from warroom.core.db import connection
>>> with connection() as conn:
...     conn.execute("SELECT 1").fetchone()

The pool is created on first use and reused across invocations of the container. Connections come
with pgvector's types registered and rows as dicts. A connection that cannot be had within
``db_connect_timeout_s`` (server down, network gone) raises :class:`DependencyUnavailable`, which
the HTTP glue answers as a 503, and so does a statement that outlives ``statement_timeout`` or a lock
wait that outlives ``lock_timeout`` (both set on every session, see :func:`session_options`); other SQL
errors are not translated (they are bugs, answered as a 500).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from warroom.core.config import Settings, get_settings
from warroom.core.errors import DependencyUnavailable

logger = logging.getLogger(__name__)

_pool: ConnectionPool | None = None
_pool_lock = threading.Lock()


def _configure(conn: psycopg.Connection) -> None:
    """Register pgvector on each new connection (skipped before the migration creates the extension)."""
    from pgvector.psycopg import register_vector

    try:
        register_vector(conn)
    except psycopg.ProgrammingError:
        logger.debug("vector type not installed yet; skipping pgvector registration")
    conn.commit()


def session_options(settings: Settings) -> str:
    """The libpq ``options`` of every pooled session: the least-privilege role it acts as (migration 0011) and
    the statement, lock and idle-in-transaction timeouts that bound it."""
    options = (
        f"-c statement_timeout={settings.db_statement_timeout_ms}"
        f" -c lock_timeout={settings.db_lock_timeout_ms}"
        f" -c idle_in_transaction_session_timeout={settings.db_idle_in_transaction_timeout_ms}"
    )
    return f"{options} -c role={settings.db_role}" if settings.db_role else options


def get_pool() -> ConnectionPool:
    """The container's pool, opened on first use."""
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                settings = get_settings()
                if settings.database_url is None:
                    raise DependencyUnavailable("database", "No database is configured (DATABASE_URL).")
                timeout_s = settings.db_connect_timeout_s
                pool = ConnectionPool(
                    settings.database_url.get_secret_value(),
                    min_size=settings.db_pool_min_size,
                    max_size=settings.db_pool_max_size,
                    kwargs={
                        "row_factory": dict_row,
                        "connect_timeout": max(1, int(timeout_s)),
                        "options": session_options(settings),
                    },
                    configure=_configure,
                    # A server restart or failover leaves dead sockets in the pool; check before handing out.
                    check=ConnectionPool.check_connection,
                    timeout=timeout_s,
                    open=False,
                    name="warroom",
                )
                pool.open(wait=False)
                _pool = pool
    return _pool


@contextmanager
def connection() -> Iterator[psycopg.Connection]:
    """A pooled connection; commits when the block ends without error, rolls back otherwise."""
    try:
        with get_pool().connection() as conn:
            yield conn
    except PoolTimeout as error:
        raise DependencyUnavailable("database") from error
    except (psycopg.errors.QueryCanceled, psycopg.errors.LockNotAvailable) as error:
        # statement_timeout / lock_timeout fired: the transaction was rolled back, nothing was half-written.
        logger.warning("database statement gave up: %s", type(error).__name__)
        raise DependencyUnavailable("database", "The database is busy; try again shortly.") from error
    except psycopg.OperationalError as error:
        logger.warning("database operation failed: %s", type(error).__name__)
        raise DependencyUnavailable("database") from error


def close_pool() -> None:
    """Close the pool (tests and the local cloud's shutdown); the next use opens a new one."""
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.close()
            _pool = None
