"""The non-HTTP triggers of `warroom dev`: the scheduler and one poller per consumed SQS queue, started together.

Example
-------
>>> sources = start_event_sources(functions, app.state.runtime, stack.resolve, stack_name="warroom-local")
>>> ...
>>> sources.request_stop()   # at once, e.g. from a signal handler: no new fire, no new batch
>>> sources.stop(timeout_s=1)

They invoke through the gateway's `LambdaRuntime`, so a code reload (which recycles the runtime's containers, or
restarts the serving process) applies to them too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from localcloud.lambda_runtime import InvocationRecord, LambdaRuntime
from localcloud.provision import Stack
from localcloud.queues import QueuePoller
from localcloud.scheduler import ScaledClock, Scheduler
from localcloud.template import FunctionSpec, TemplateError, read_queue_consumers, read_schedules


@dataclass
class EventSources:
    """The running scheduler (None when schedules are off or there are none) and queue pollers."""

    scheduler: Scheduler | None
    pollers: list[QueuePoller] = field(default_factory=list)
    _stopped: threading.Event = field(default_factory=threading.Event, repr=False)
    _launcher: threading.Thread | None = field(default=None, repr=False)

    def request_stop(self) -> None:
        """Stop firing and polling, without waiting for the long polls in progress to return."""
        self._stopped.set()
        if self.scheduler is not None:
            self.scheduler.request_stop()
        for poller in self.pollers:
            poller.request_stop()

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop, and wait up to `timeout_s` in all for the long polls (at most a second) and batches to end."""
        deadline = time.monotonic() + timeout_s
        self.request_stop()
        if self._launcher is not None:
            self._launcher.join(max(0.0, deadline - time.monotonic()))
            self.request_stop()  # what the launcher may have started meanwhile
        if self.scheduler is not None:
            self.scheduler.stop(max(0.0, deadline - time.monotonic()))
        for poller in self.pollers:
            poller.stop(max(0.0, deadline - time.monotonic()))


def start_event_sources(
    functions: Mapping[str, FunctionSpec],
    runtime: LambdaRuntime,
    resolve: Callable[[Any], Any],
    *,
    stack_name: str,
    schedules: bool = True,
    schedule_speed: float = 1.0,
    on_invocation: Callable[[InvocationRecord], None] | None = None,
    say: Callable[[str], None] = print,
) -> EventSources:
    """Start the scheduler (unless `schedules` is False) and a poller per enabled `SQS` event; `say` logs a summary."""
    scheduler = None
    specs = [schedule for schedule in read_schedules(functions, resolve) if schedule.enabled]
    if schedules and specs:
        clock = ScaledClock(schedule_speed)
        scheduler = Scheduler(specs, runtime, stack_name=stack_name, clock=clock, on_invocation=on_invocation)
        scheduler.start()
        faster = f" (clock {schedule_speed:g}x)" if schedule_speed != 1 else ""
        say(f"schedules{faster}: " + ", ".join(f"{s.function}.{s.name} {s.expression}" for s in specs))
    elif specs:
        say(f"schedules off: {len(specs)} not fired (`warroom trigger FUNCTION` fires one)")
    pollers = []
    for consumer in read_queue_consumers(functions, resolve):
        if not consumer.enabled:
            continue
        poller = QueuePoller(consumer, runtime, on_invocation=on_invocation)
        poller.start()
        pollers.append(poller)
        say(f"polling {consumer.queue_name} for {consumer.function} (batches of up to {consumer.batch_size})")
    return EventSources(scheduler, pollers)


def check_event_sources(functions: Mapping[str, FunctionSpec], resolve: Callable[[Any], Any]) -> None:
    """Read the schedules and queue consumers once, so a bad expression or queue stops `warroom dev` at start."""
    read_schedules(functions, resolve)
    read_queue_consumers(functions, resolve)


def launch_event_sources(
    functions: Mapping[str, FunctionSpec],
    runtime: LambdaRuntime,
    stack: Stack,
    *,
    schedules: bool = True,
    schedule_speed: float = 1.0,
    ready: Callable[[], bool] = lambda: True,
    say: Callable[[str], None] = print,
) -> EventSources:
    """Start the event sources once `ready()` (e.g. the HTTP server is listening: a function may call the gateway).

    Returns at once; `stop()` on the result stops them, or cancels the start if it has not happened yet.
    """
    sources = EventSources(None)

    def start_when_ready() -> None:
        while not ready():
            if sources._stopped.wait(0.05):
                return
        try:
            started = start_event_sources(
                functions,
                runtime,
                stack.resolve,
                stack_name=stack.name,
                schedules=schedules,
                schedule_speed=schedule_speed,
                say=say,
            )
        except TemplateError as error:  # e.g. a queue added to the template since start: restart to provision it
            say(f"schedules and queues NOT started: {error}")
            return
        sources.scheduler, sources.pollers = started.scheduler, started.pollers
        if sources._stopped.is_set():  # asked to stop while they were starting
            sources.request_stop()

    sources._launcher = threading.Thread(target=start_when_ready, name="localcloud-event-sources", daemon=True)
    sources._launcher.start()
    return sources
