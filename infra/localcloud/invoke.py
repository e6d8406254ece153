"""``warroom invoke`` and ``warroom trigger``: run one function once, as ``sam local invoke`` does.

Example
-------
>>> invoke_function("DocumentIngestFunction", "events/document_ingest_sqs_s3.json", DevOptions())
{"batchItemFailures": []}
>>> trigger_schedule("WsSweeperFunction", None, DevOptions())  # its schedule, fired now with a fresh event
{"dropped": 0}

The function runs in this process against the backing services of the ``warroom dev`` running on the state
directory (its ``runtime.json`` names them, and each function's environment), or, when none runs, against
services started here exactly as ``warroom dev`` starts them, and stopped after. The handler's result is printed
to standard output as JSON; everything else (start-up, the function's logs, the invocation line) goes to standard
error. The exit code is 1 when the handler raised or timed out, and then the output is Lambda's error payload.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from localcloud.bootstrap import (
    BackingServices,
    DevOptions,
    LocalCloudConfig,
    LocalCloudError,
    prepare,
    release_database,
    resolve_state_dir,
    running_instance,
    say,
    use_aws_endpoint,
)

if TYPE_CHECKING:
    from localcloud.template import FunctionSpec

EventFactory = Callable[[Mapping[str, "FunctionSpec"], LocalCloudConfig], Any]


class InvokeError(Exception):
    """The command cannot run the function (unknown function, unreadable event, no such schedule, ...)."""


def invoke_function(function: str, event_source: str | None, options: DevOptions) -> int:
    """``warroom invoke``: run `function` once on the event in the file `event_source` ('-': stdin, None: {})."""
    try:
        event = _read_event(event_source)
    except InvokeError as error:
        print(f"warroom invoke: {error}", file=sys.stderr)
        return 2
    return run_once(function, lambda functions, config: event, options, trigger="invoke", label=event_source)


def trigger_schedule(function: str, schedule_name: str | None, options: DevOptions) -> int:
    """``warroom trigger``: fire `function`'s schedule (the one named `schedule_name` if it has several) now."""
    from localcloud.scheduler import build_scheduled_event
    from localcloud.template import read_schedules

    def scheduled_event(functions: Mapping[str, FunctionSpec], config: LocalCloudConfig) -> Any:
        schedules = [s for s in read_schedules(functions, config.stack.resolve) if s.function == function]
        if schedule_name:
            schedules = [s for s in schedules if s.name == schedule_name]
        if not schedules:
            which = f" named {schedule_name}" if schedule_name else ""
            raise InvokeError(f"{function} has no Schedule or ScheduleV2 event{which}")
        if len(schedules) > 1:
            names = ", ".join(s.name for s in schedules)
            raise InvokeError(f"{function} has {len(schedules)} schedules ({names}); pass --schedule NAME")
        return build_scheduled_event(schedules[0], datetime.now(UTC), stack_name=config.stack.name)

    return run_once(function, scheduled_event, options, trigger="trigger", label=schedule_name)


def run_once(
    function: str, make_event: EventFactory, options: DevOptions, *, trigger: str, label: str | None = None
) -> int:
    """Run `function` once on the event `make_event` builds; print the result; 0, or 1 if the handler failed."""
    from localcloud.lambda_runtime import (
        FunctionError,
        FunctionTimeout,
        InvocationRecord,
        LambdaRuntime,
        print_invocation,
    )
    from localcloud.template import load_template, read_functions

    result_stream, sys.stdout = sys.stdout, sys.stderr  # only the result goes to standard output
    services = BackingServices()
    timed_out = False
    try:
        template_path = options.template.resolve()
        functions = read_functions(load_template(template_path), template_path.parent)
        if function not in functions:
            known = ", ".join(sorted(functions))
            raise InvokeError(f"no function {function!r} in {template_path}; known: {known}")
        config = _local_cloud(options, services)
        if function not in config.env_by_function:
            raise InvokeError(f"the warroom dev running on {config.state_dir} does not serve {function}; restart it")
        event = make_event({function: functions[function]}, config)
        runtime = LambdaRuntime({function: functions[function]}, {function: config.env_by_function[function]})
        started = time.perf_counter()
        status, cold_start, request_id = 200, False, "-"
        try:
            execution = runtime.execute(function, event)
            payload: Any = execution.result
            cold_start, request_id = execution.cold_start, execution.request_id
        except FunctionError as error:
            timed_out = isinstance(error, FunctionTimeout)
            status, payload = (504 if timed_out else 500), _error_payload(error)
        finally:
            if not timed_out:
                runtime.close()
                release_database()
        print_invocation(
            InvocationRecord(
                function=function,
                trigger=trigger,
                method="-",
                path=label or "-",
                status=status,
                duration_ms=(time.perf_counter() - started) * 1000,
                cold_start=cold_start,
                request_id=request_id,
            )
        )
    except (InvokeError, LocalCloudError) as error:
        print(f"warroom {trigger}: {error}", file=sys.stderr)
        return 2
    finally:
        sys.stdout = result_stream
        services.stop()
    _print_result(payload, result_stream)
    if timed_out:
        os._exit(1)  # the handler's thread is still running and cannot be stopped
    return 0 if status == 200 else 1


def _local_cloud(options: DevOptions, services: BackingServices) -> LocalCloudConfig:
    """The `warroom dev` running on the state directory, or the services started here as it would start them."""
    from warroom.core.config import reset_settings

    state_dir = resolve_state_dir(options.state_dir)
    config = running_instance(state_dir)
    if config is not None:
        use_aws_endpoint(config.urls.aws_endpoint_url, state_dir)
        say(f"using the warroom dev running at {config.url} (pid {config.pid})")
    else:
        say(f"no warroom dev running on {state_dir}: starting the backing services")
        config = prepare(dataclasses.replace(options, state_dir=state_dir), services)
        release_database()
    reset_settings()
    return config


def _read_event(source: str | None) -> Any:
    if source is None:
        return {}
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text()
        return json.loads(text)
    except OSError as error:
        raise InvokeError(f"cannot read the event {source}: {error}") from error
    except ValueError as error:
        raise InvokeError(f"the event {source} is not JSON: {error}") from error


def _error_payload(error: Exception) -> dict[str, Any]:
    """Lambda's answer for a failed invocation: the exception's type and message (the traceback went to stderr)."""
    cause = error.__cause__ or error
    return {"errorMessage": str(cause), "errorType": type(cause).__name__}


def _print_result(payload: Any, stream: TextIO) -> None:
    stream.write(json.dumps(payload, default=str) + "\n")
    stream.flush()
