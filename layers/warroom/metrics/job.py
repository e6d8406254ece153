"""The 1-minute metrics job: roll up and prune the request timings, refresh the system snapshot, and
broadcast ``system:health-change`` when a dependency goes down or comes back.

Example
-------
>>> run_metrics_job()                                  # MetricsJobFunction, rate(1 minute)
{'rolled_up': 5210, 'watermark': 981234, 'pruned': {...}, 'health': 'ok', 'changes': [], 'notified': 0}

Each step runs on its own: the database down still refreshes the snapshot (which says so) and broadcasts the
change; a failed step is reported under ``error`` (so the run is recorded as failed). The dependency states
the job last saw are kept in PostgreSQL (``system_health_state``) and in Redis (``metrics:health-state``),
each stamped, and the newer of the two is the previous state: either store may be the one that is down. The
first run only records the states; after that each change of a dependency's status (``up``, ``down``,
``not_configured``; ``sqs`` is the queues part) is broadcast once, with every change of the run.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from psycopg.types.json import Jsonb

from warroom.core import cache
from warroom.core.db import connection
from warroom.metrics import rollups
from warroom.metrics.models import SystemMetricsOut
from warroom.metrics.system import system_snapshot
from warroom.realtime import broadcast

logger = logging.getLogger(__name__)
HEALTH_STATE_KEY = "metrics:health-state"


def dependency_states(snapshot: SystemMetricsOut) -> dict[str, str]:
    """Each dependency's status in the snapshot, the queues as ``sqs``."""
    states = {name: dep["status"] for name, dep in snapshot.health["dependencies"].items()}
    if snapshot.queues.error != "not_configured":
        states["sqs"] = "up" if snapshot.queues.status == "ok" else "down"
    return states


def _stored_states() -> dict[str, Any] | None:
    """The newer of the two stored copies ({"at", "states"}), or None before the first run."""
    copies = []
    try:
        with connection() as conn:
            row = conn.execute("SELECT states, updated_at FROM system_health_state WHERE id = 1").fetchone()
        if row:
            copies.append({"at": row["updated_at"].isoformat(), "states": row["states"]})
    except Exception as error:
        logger.info("health state unreadable in PostgreSQL: %s", type(error).__name__)
    raw = cache.run("get", lambda r: r.get(HEALTH_STATE_KEY))
    if raw is not None:
        copies.append(json.loads(raw))
    return max(copies, key=lambda c: dt.datetime.fromisoformat(c["at"])) if copies else None


def _store_states(states: dict[str, str], at: dt.datetime) -> None:
    payload = json.dumps({"at": at.isoformat(), "states": states}, separators=(",", ":"))
    cache.run("set", lambda r: r.set(HEALTH_STATE_KEY, payload))
    try:
        with connection() as conn:
            conn.execute(
                "INSERT INTO system_health_state (id, states, updated_at) VALUES (1, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET states = EXCLUDED.states, updated_at = EXCLUDED.updated_at",
                (Jsonb(states), at),
            )
    except Exception as error:
        logger.info("health state not stored in PostgreSQL: %s", type(error).__name__)


def health_changes(previous: dict[str, str], current: dict[str, str]) -> list[dict[str, str | None]]:
    """Every dependency whose status differs, appeared or went (``from`` / ``to`` None)."""
    return [
        {"dependency": name, "from": previous.get(name), "to": current.get(name)}
        for name in sorted(set(previous) | set(current))
        if previous.get(name) != current.get(name)
    ]


def notify_health_change(snapshot: SystemMetricsOut) -> tuple[list[dict[str, str | None]], int]:
    """Compare with the last stored states, store the new ones, broadcast a change: (changes, sockets reached)."""
    current = dependency_states(snapshot)
    stored = _stored_states()
    _store_states(current, snapshot.generated_at)
    if stored is None:
        return [], 0
    changes = health_changes(stored["states"], current)
    if not changes:
        return [], 0
    logger.warning("dependency health changed: %s", changes)
    reached = broadcast(
        "system:health-change",
        {"status": snapshot.health["status"], "changes": changes, "dependencies": snapshot.health["dependencies"]},
    )
    return changes, reached


def run_metrics_job(now: dt.datetime | None = None) -> dict[str, Any]:
    """One tick: roll up, prune, snapshot, health change; the outcome of each step."""
    result: dict[str, Any] = {}
    errors: dict[str, str] = {}
    try:
        rolled = rollups.roll_up()
        result.update(rolled_up=rolled.rows, watermark=rolled.up_to)
    except Exception as error:
        logger.exception("rollup failed")
        errors["rollup"] = type(error).__name__
    try:
        result["pruned"] = rollups.prune(now)
    except Exception as error:
        logger.exception("pruning failed")
        errors["prune"] = type(error).__name__
    snapshot = system_snapshot(fresh_health=True)
    changes, reached = notify_health_change(snapshot)
    result.update(health=snapshot.health["status"], changes=changes, notified=reached)
    if errors:
        result["error"] = errors
    return result
