"""The last run of each scheduled job: when, how long, and how it went (``job_runs``), for ``/metrics/system``.

Example
-------
>>> @logger.inject_lambda_context
... @recorded_job("kpi_refresh")
... def handler(event, context): ...
>>> last_runs()["kpi_refresh"]["outcome"]
'ok'

A run is ``ok`` unless the handler raised, or answered a dict with a top-level ``error`` (how a job reports a
source it could not use without failing the invocation), which is ``failed`` with the error. One row per job
holds the last run, the last success and the counts. Recording is best effort: with the database down the run
is logged and the job's own result (or exception) is unchanged.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from warroom.core.db import connection

logger = logging.getLogger(__name__)
Handler = TypeVar("Handler", bound=Callable[..., Any])
_MAX_ERROR_CHARS = 500


def record_job_run(
    job: str, *, started_at: dt.datetime, duration_ms: float, outcome: str, error: str | None = None
) -> None:
    """Store one run as the job's last (and its success time, when it succeeded); never raises."""
    finished_at = started_at + dt.timedelta(milliseconds=duration_ms)
    try:
        with connection() as conn:
            conn.execute(
                "INSERT INTO job_runs (job, started_at, finished_at, duration_ms, outcome, error, last_success_at,"
                " failures) VALUES (%(job)s, %(started)s, %(finished)s, %(duration)s, %(outcome)s, %(error)s,"
                " %(success)s, %(failures)s)"
                " ON CONFLICT (job) DO UPDATE SET started_at = EXCLUDED.started_at,"
                " finished_at = EXCLUDED.finished_at, duration_ms = EXCLUDED.duration_ms, outcome = EXCLUDED.outcome,"
                " error = EXCLUDED.error, last_success_at = coalesce(EXCLUDED.last_success_at,"
                " job_runs.last_success_at), runs = job_runs.runs + 1,"
                " failures = job_runs.failures + EXCLUDED.failures",
                {
                    "job": job,
                    "started": started_at,
                    "finished": finished_at,
                    "duration": round(duration_ms, 3),
                    "outcome": outcome,
                    "error": error[:_MAX_ERROR_CHARS] if error else None,
                    "success": finished_at if outcome == "ok" else None,
                    "failures": 0 if outcome == "ok" else 1,
                },
            )
    except Exception:
        logger.warning("could not record the run of %s (%s in %.0f ms)", job, outcome, duration_ms, exc_info=True)


def _reported_error(result: Any) -> str | None:
    if isinstance(result, dict) and result.get("error"):
        error = result["error"]
        return error if isinstance(error, str) else json.dumps(error, default=str, separators=(",", ":"))
    return None


def recorded_job(
    job: str, *, variant_key: str | None = None, default_variant: str = ""
) -> Callable[[Handler], Handler]:
    """Decorate a scheduled handler so each invocation is recorded as the last run of ``job``.

    With ``variant_key`` one function's schedules are told apart by their input (``source_sync`` with
    ``{"sync": "campaigns"}`` is ``source_sync:campaigns``, without it ``source_sync:<default_variant>``).
    """

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def run(event: Any, context: Any) -> Any:
            name = job
            if variant_key is not None:
                variant = event.get(variant_key) if isinstance(event, dict) else None
                name = f"{job}:{variant if isinstance(variant, str) and variant else default_variant}"[:100]
            started_at = dt.datetime.now(dt.UTC)
            started = time.perf_counter()
            try:
                result = handler(event, context)
            except Exception as error:
                duration = (time.perf_counter() - started) * 1000
                record_job_run(
                    name, started_at=started_at, duration_ms=duration, outcome="failed", error=type(error).__name__
                )
                raise
            error_text = _reported_error(result)
            record_job_run(
                name,
                started_at=started_at,
                duration_ms=(time.perf_counter() - started) * 1000,
                outcome="failed" if error_text else "ok",
                error=error_text,
            )
            return result

        return run  # type: ignore[return-value]

    return decorate


def last_runs() -> dict[str, dict[str, Any]]:
    """Every job's last run by name (raises :class:`~warroom.core.errors.DependencyUnavailable` without a database)."""
    with connection() as conn:
        rows = conn.execute(
            "SELECT job, started_at, finished_at, duration_ms, outcome, error, last_success_at, runs, failures"
            " FROM job_runs ORDER BY job"
        ).fetchall()
    return {row["job"]: dict(row) for row in rows}
