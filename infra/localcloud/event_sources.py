"""The non-HTTP triggers of `warroom dev`: the scheduler and one poller per consumed SQS queue, started together.

Example
-------
>>> sources = start_event_sources(functions, app.state.runtime, stack.resolve, stack_name="warroom-local")
>>> ...
>>> sources.stop()

They invoke through the gateway's `LambdaRuntime`, so a code reload (which recycles the runtime's containers, or
restarts the serving process) applies to them too.
"""

from __future__ import annotations

import argparse
import threading
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

    def stop(self) -> None:
        """Stop polling and firing (or starting); waits about a second for the long polls to return."""
        self._stopped.set()
        if self._launcher is not None:
            self._launcher.join(10)
        if self.scheduler is not None:
            self.scheduler.stop()
        for poller in self.pollers:
            poller.request_stop()  # all at once, then wait: the long polls end in parallel
        for poller in self.pollers:
            poller.stop()


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


def event_source_config(
    args: argparse.Namespace, functions: Mapping[str, FunctionSpec], stack: Stack
) -> dict[str, Any]:
    """What the serving process needs to start the event sources, as plain JSON types (see `prepare`).

    Reads the schedules and queue consumers once here, so a bad expression or queue stops `warroom dev` at start.
    """
    read_schedules(functions, stack.resolve)
    read_queue_consumers(functions, stack.resolve)
    return {
        "stack": {
            "name": stack.name,
            "parameters": dict(stack.parameters),
            "refs": dict(stack.refs),
            "attributes": [[resource, attribute, value] for (resource, attribute), value in stack.attributes.items()],
        },
        "schedules": getattr(args, "schedules", "on") == "on",
        "schedule_speed": getattr(args, "schedule_speed", 1.0),
    }


def stack_from_config(config: Mapping[str, Any], template: Mapping[str, Any]) -> Stack:
    """The provisioned stack (what `Ref` and `Fn::GetAtt` answer) from `event_source_config`'s output."""
    saved = config["stack"]
    attributes = {(resource, attribute): value for resource, attribute, value in saved["attributes"]}
    return Stack(saved["name"], template, dict(saved["parameters"]), dict(saved["refs"]), attributes)


def launch_event_sources(
    config: Mapping[str, Any],
    template: Mapping[str, Any],
    functions: Mapping[str, FunctionSpec],
    runtime: LambdaRuntime,
    *,
    ready: Callable[[], bool] = lambda: True,
    say: Callable[[str], None] = print,
) -> EventSources:
    """Start the event sources once `ready()` (e.g. the HTTP server is listening: a function may call the gateway).

    Returns at once; `stop()` on the result stops them, or cancels the start if it has not happened yet.
    """
    stack = stack_from_config(config, template)
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
                schedules=bool(config.get("schedules", True)),
                schedule_speed=float(config.get("schedule_speed", 1.0)),
                say=say,
            )
        except TemplateError as error:  # e.g. a queue added to the template since start: restart to provision it
            say(f"schedules and queues NOT started: {error}")
            return
        sources.scheduler, sources.pollers = started.scheduler, started.pollers

    sources._launcher = threading.Thread(target=start_when_ready, name="localcloud-event-sources", daemon=True)
    sources._launcher.start()
    return sources
