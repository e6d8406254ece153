"""The local EventBridge: fires the template's `Schedule` and `ScheduleV2` events through the `LambdaRuntime`.

Example
-------
>>> scheduler = Scheduler(read_schedules(functions), runtime, stack_name="warroom-local")
>>> scheduler.start()          # a daemon thread fires every enabled schedule when due
>>> scheduler.fire(schedule)   # or fire one now, synchronously
>>> scheduler.stop()

Each invocation gets the event AWS sends: EventBridge's "Scheduled Event" for a rule, EventBridge Scheduler's
variant (``"source": "aws.scheduler"``, ``"detail": "{}"``) for a ``ScheduleV2``, or the ``Input`` JSON when the
template sets one. A failing invocation is logged and the schedule keeps firing; EventBridge's asynchronous
retries are not emulated. Rate schedules count from the scheduler's start, as a new rule counts from its
creation; a fire missed while the machine slept is skipped, not replayed. Tests pass a :class:`ScaledClock`
that runs faster than real time, so ``rate(1 minute)`` can fire every second.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from localcloud.lambda_runtime import (
    ACCOUNT_ID,
    DEFAULT_REGION,
    FunctionError,
    FunctionTimeout,
    InvocationRecord,
    LambdaRuntime,
    print_invocation,
)
from localcloud.schedule_expression import RateExpression
from localcloud.template import ScheduleSpec

_log = logging.getLogger("localcloud.scheduler")
_MAX_RULE_NAME = 64  # EventBridge's limit on rule and schedule names


class ScaledClock:
    """UTC time that runs `speed` times faster than the wall clock, from `start` (default: now)."""

    def __init__(self, speed: float = 1.0, start: datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._start = start or datetime.now(UTC)
        self._started_monotonic = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(time.monotonic() - self._started_monotonic) * self.speed)

    def real_seconds_until(self, moment: datetime) -> float:
        return max(0.0, (moment - self.now()).total_seconds() / self.speed)


def rule_name(schedule: ScheduleSpec, stack_name: str) -> str:
    """The rule's (or schedule's) name: `Name` if set, else what CloudFormation / SAM would derive."""
    if schedule.rule_name:
        return schedule.rule_name
    if schedule.kind == "ScheduleV2":
        return f"{schedule.function}{schedule.name}"[:_MAX_RULE_NAME]  # SAM names a schedule after its logical id
    return f"{stack_name}-{schedule.function}{schedule.name}"[:_MAX_RULE_NAME]


def build_scheduled_event(
    schedule: ScheduleSpec,
    fire_time: datetime,
    *,
    stack_name: str,
    region: str | None = None,
    account: str = ACCOUNT_ID,
) -> Any:
    """What the function receives when `schedule` fires at `fire_time`."""
    if schedule.input is not None:
        return json.loads(schedule.input)
    region = region or os.environ.get("AWS_REGION", DEFAULT_REGION)
    name = rule_name(schedule, stack_name)
    if schedule.kind == "ScheduleV2":
        source, resource, detail = (
            "aws.scheduler",
            f"arn:aws:scheduler:{region}:{account}:schedule/{schedule.group_name}/{name}",
            "{}",  # EventBridge Scheduler sends the empty detail as a string
        )
    else:
        source, resource, detail = "aws.events", f"arn:aws:events:{region}:{account}:rule/{name}", {}
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": source,
        "account": account,
        "time": fire_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [resource],
        "detail": detail,
    }


class Scheduler:
    """Fires enabled schedules when due on a daemon thread; invocations run on a small pool, never on that thread."""

    def __init__(
        self,
        schedules: Iterable[ScheduleSpec],
        runtime: LambdaRuntime,
        *,
        stack_name: str,
        clock: ScaledClock | None = None,
        on_invocation: Callable[[InvocationRecord], None] | None = None,
        max_concurrent_invocations: int = 4,
    ) -> None:
        self.schedules = list(schedules)
        self.runtime = runtime
        self.stack_name = stack_name
        self.clock = clock or ScaledClock()
        self._on_invocation = on_invocation or print_invocation
        self._max_workers = max_concurrent_invocations
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._next_fire: dict[ScheduleSpec, datetime | None] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> list[ScheduleSpec]:
        return [schedule for schedule in self.schedules if schedule.enabled]

    def next_fire_times(self) -> dict[ScheduleSpec, datetime | None]:
        """When each enabled schedule fires next (None: never again), as of the last scheduling decision."""
        with self._lock:
            return dict(self._next_fire)

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the scheduler is already running")
        self._pool = ThreadPoolExecutor(self._max_workers, thread_name_prefix="localcloud-schedule")
        now = self.clock.now()
        with self._lock:
            self._next_fire = {schedule: _first_fire(schedule, now) for schedule in self.enabled}
        self._thread = threading.Thread(target=self._run, name="localcloud-scheduler", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Stop firing, without waiting for anything."""
        self._stop.set()

    def stop(self, timeout_s: float = 5) -> None:
        """Stop firing; invocations already running finish on their own (closing the runtime abandons them)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def fire(self, schedule: ScheduleSpec, fire_time: datetime | None = None) -> InvocationRecord:
        """Invoke the schedule's function once now (synchronously) and log it; never raises for a failing function."""
        event = build_scheduled_event(schedule, fire_time or self.clock.now(), stack_name=self.stack_name)
        started = time.perf_counter()
        status, cold_start, request_id = 200, False, "-"
        try:
            execution = self.runtime.execute(schedule.function, event)
            cold_start, request_id = execution.cold_start, execution.request_id
        except FunctionTimeout:
            status = 504
        except FunctionError:  # the runtime logged the traceback
            status = 500
        except Exception:
            _log.exception("schedule %s.%s could not be invoked", schedule.function, schedule.name)
            status = 500
        record = InvocationRecord(
            function=schedule.function,
            trigger="schedule",
            method=schedule.name,
            path=schedule.expression,
            status=status,
            duration_ms=(time.perf_counter() - started) * 1000,
            cold_start=cold_start,
            request_id=request_id,
        )
        self._on_invocation(record)
        return record

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                pending = {schedule: moment for schedule, moment in self._next_fire.items() if moment is not None}
            if not pending:
                return  # every schedule is disabled or has run its course
            schedule, due = min(pending.items(), key=lambda item: item[1])
            if self._stop.wait(self.clock.real_seconds_until(due)):
                return
            now = self.clock.now()
            if now < due:
                continue  # woke a little early
            assert self._pool is not None
            self._pool.submit(self.fire, schedule, due)
            with self._lock:
                self._next_fire[schedule] = _next_fire(schedule, due, now)


def _first_fire(schedule: ScheduleSpec, now: datetime) -> datetime | None:
    expression = schedule.parsed()
    anchor = max(now, schedule.start_date) if schedule.start_date else now
    if isinstance(expression, RateExpression):
        first = anchor + expression.interval  # a new rule's first rate fire comes one interval after its creation
    else:
        first = expression.next_after(anchor - timedelta(microseconds=1))
    return _before_end(schedule, first)


def _next_fire(schedule: ScheduleSpec, fired: datetime, now: datetime) -> datetime | None:
    expression = schedule.parsed()
    following = expression.next_after(fired)
    if following is not None and following <= now:
        following = expression.next_after(now)  # fell behind (a sleeping laptop): skip, do not replay
    return _before_end(schedule, following)


def _before_end(schedule: ScheduleSpec, moment: datetime | None) -> datetime | None:
    if moment is None or (schedule.end_date is not None and moment > schedule.end_date):
        return None
    return moment
