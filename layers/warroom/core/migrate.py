"""Apply ``infra/migrations/NNNN_name.sql`` in order, each exactly once.

Example
-------
>>> from warroom.core.migrate import apply_migrations
>>> apply_migrations("postgresql://...", Path("infra/migrations"))
['0001_core.sql']

Concurrent runners (two ``warroom dev`` processes, parallel test workers, a deploy racing a
container) serialise on a PostgreSQL advisory lock; each file runs in its own transaction together
with its row in ``schema_migrations``, so a failed file leaves nothing half applied.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

import psycopg

logger = logging.getLogger(__name__)

MIGRATION_LOCK_ID = 0x5741_5252  # "WARR": any constant shared by every runner
_MIGRATION_NAME = re.compile(r"^\d{4}_[a-z0-9_]+\.sql$")


def default_migrations_dir() -> Path:
    """``infra/migrations`` of the source tree (the local cloud, tests and the deploy step run from it)."""
    return Path(__file__).resolve().parents[3] / "infra" / "migrations"


def list_migrations(directory: Path) -> list[Path]:
    """The migration files in the order they apply; refuses names that would sort ambiguously."""
    files = sorted(p for p in directory.glob("*.sql"))
    bad = [p.name for p in files if not _MIGRATION_NAME.match(p.name)]
    if bad:
        raise ValueError(f"migration files must be named NNNN_lower_snake.sql: {bad}")
    return files


def apply_migrations(database_url: str, directory: Path | None = None) -> list[str]:
    """Apply every migration not yet recorded; returns the names applied by this call."""
    directory = directory or default_migrations_dir()
    applied_now: list[str] = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_ID,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " name TEXT PRIMARY KEY, checksum TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            done = {row[0]: row[1] for row in conn.execute("SELECT name, checksum FROM schema_migrations")}
            for path in list_migrations(directory):
                sql = path.read_text()
                checksum = hashlib.sha256(sql.encode()).hexdigest()
                if path.name in done:
                    if done[path.name] != checksum:
                        logger.warning("migration %s changed after it was applied; not re-applied", path.name)
                    continue
                with conn.transaction():
                    conn.execute(sql)
                    conn.execute(
                        "INSERT INTO schema_migrations (name, checksum) VALUES (%s, %s)", (path.name, checksum)
                    )
                applied_now.append(path.name)
                logger.info("applied migration %s", path.name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_ID,))
    return applied_now
