"""``warroom invoke`` and ``warroom trigger``: run one function once, as ``sam local invoke`` does.

Example
-------
>>> main(["invoke", "DocumentIngestFunction", "--event", "events/document_ingest_sqs_s3.json"])
{"batchItemFailures": []}
>>> main(["trigger", "WsSweeperFunction"])  # its schedule, fired now with a fresh scheduled event
{"dropped": 0}

The function runs in this process against the backing services of the ``warroom dev`` running on the state
directory (its ``runtime.json`` names them, and each function's environment), or, when none runs, against
services started here exactly as ``warroom dev`` starts them, and stopped after. The handler's result is printed
to standard output as JSON; everything else (start-up, the function's logs, the invocation line) goes to standard
error. The exit code is 1 when the handler raised or timed out, and then the output is Lambda's error payload.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from localcloud.template import FunctionSpec

EventFactory = Callable[[Mapping[str, "FunctionSpec"], Callable[[Any], Any], str], Any]


class InvokeError(Exception):
    """The command cannot run the function (unknown function, unreadable event, no such schedule, ...)."""


def add_invoke_commands(commands: Any, dev_parser: argparse.ArgumentParser) -> None:
    """Add ``invoke`` and ``trigger`` to the sub-commands; `dev_parser` gives `warroom dev`'s defaults."""
    invoke = commands.add_parser("invoke", help="run one function once with an event, like `sam local invoke`")
    invoke.add_argument("function", help="the function's logical id in the template, e.g. DocumentIngestFunction")
    invoke.add_argument("--event", "-e", help="event JSON file, '-' for standard input (default: {})")
    _add_common_options(invoke)
    invoke.set_defaults(func=cmd_invoke, dev_parser=dev_parser)

    trigger = commands.add_parser("trigger", help="fire a function's schedule once now")
    trigger.add_argument("function", help="the function's logical id in the template")
    trigger.add_argument("--schedule", help="the schedule's event name, when the function has several")
    _add_common_options(trigger)
    trigger.set_defaults(func=cmd_trigger, dev_parser=dev_parser)


def cmd_invoke(args: argparse.Namespace) -> int:
    try:
        event = _read_event(args.event)
    except InvokeError as error:
        print(f"warroom invoke: {error}", file=sys.stderr)
        return 2
    return run_once(args, lambda functions, resolve, stack_name: event, trigger="invoke")


def cmd_trigger(args: argparse.Namespace) -> int:
    from localcloud.scheduler import build_scheduled_event
    from localcloud.template import read_schedules

    def scheduled_event(functions: Mapping[str, FunctionSpec], resolve: Callable[[Any], Any], stack_name: str) -> Any:
        schedules = [s for s in read_schedules(functions, resolve) if s.function == args.function]
        if args.schedule:
            schedules = [s for s in schedules if s.name == args.schedule]
        if not schedules:
            which = f" named {args.schedule}" if args.schedule else ""
            raise InvokeError(f"{args.function} has no Schedule or ScheduleV2 event{which}")
        if len(schedules) > 1:
            names = ", ".join(s.name for s in schedules)
            raise InvokeError(f"{args.function} has {len(schedules)} schedules ({names}); pass --schedule NAME")
        return build_scheduled_event(schedules[0], datetime.now(UTC), stack_name=stack_name)

    return run_once(args, scheduled_event, trigger="trigger")


def run_once(args: argparse.Namespace, make_event: EventFactory, *, trigger: str) -> int:
    """Run `args.function` once on the event `make_event` builds; print the result; 0, or 1 if the handler failed."""
    from localcloud import cli
    from localcloud.lambda_runtime import (
        FunctionError,
        FunctionTimeout,
        InvocationRecord,
        LambdaRuntime,
        print_invocation,
    )

    result_stream, sys.stdout = sys.stdout, sys.stderr  # only the result goes to standard output
    started_services: list[Any] = []
    timed_out = False
    try:
        function, spec, env, stack = _environment(args, started_services)
        event = make_event({function: spec}, stack.resolve, stack.name)
        runtime = LambdaRuntime({function: spec}, {function: env})
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
                cli._release_database()
        duration_ms = (time.perf_counter() - started) * 1000
        print_invocation(
            InvocationRecord(
                function=function,
                trigger=trigger,
                method="-",
                path=getattr(args, "event", None) or getattr(args, "schedule", None) or "-",
                status=status,
                duration_ms=duration_ms,
                cold_start=cold_start,
                request_id=request_id,
            )
        )
    except InvokeError as error:
        print(f"warroom {trigger}: {error}", file=sys.stderr)
        return 2
    finally:
        sys.stdout = result_stream
        for service in reversed(started_services):
            service.stop()
    _print_result(payload, result_stream)
    if timed_out:
        os._exit(1)  # the handler's thread is still running and cannot be stopped
    return 0 if status == 200 else 1


def _environment(
    args: argparse.Namespace, started_services: list[Any]
) -> tuple[str, FunctionSpec, dict[str, str], Any]:
    """The function, its spec and environment, and the stack: from the running `warroom dev`, or started here."""
    from localcloud import cli
    from localcloud.event_sources import stack_from_config
    from localcloud.template import load_template, read_functions
    from warroom.core.config import reset_settings

    template_path = Path(args.template).resolve()
    template = load_template(template_path)
    functions = read_functions(template, template_path.parent)
    if args.function not in functions:
        raise InvokeError(f"no function {args.function!r} in {template_path}; known: {', '.join(sorted(functions))}")
    state_dir = cli._state_dir(args.state_dir)
    running = running_instance(state_dir)
    if running is not None:
        cli._aws_defaults(running["AWS_ENDPOINT_URL"])
        cli._say(f"using the warroom dev running at {running['url']} (pid {running['pid']})")
        config = running
    else:
        cli._say(f"no warroom dev running on {state_dir}: starting the backing services")
        overrides = [item for name, value in args.parameter or [] for item in ("--parameter", f"{name}={value}")]
        where = ["--state-dir", str(state_dir), "--template", str(template_path), "--stack-name", args.stack_name]
        dev_args = args.dev_parser.parse_args([*where, *overrides])
        config = cli.prepare(dev_args, started_services)
        cli._release_database()
    reset_settings()
    if args.function not in config["env_by_function"]:
        raise InvokeError(f"the warroom dev running on {state_dir} does not serve {args.function}; restart it")
    env = dict(config["env_by_function"][args.function])
    return args.function, functions[args.function], env, stack_from_config(config, template)


def running_instance(state_dir: Path) -> dict[str, Any] | None:
    """The `runtime.json` of the `warroom dev` serving `state_dir`, or None when none is running."""
    path = state_dir / "runtime.json"
    if not path.exists():
        return None
    runtime = json.loads(path.read_text())
    if not _is_warroom_dev(int(runtime.get("pid") or 0)):
        return None
    if "env_by_function" not in runtime or "stack" not in runtime:
        raise InvokeError(f"the warroom dev running on {state_dir} is older than this command; restart it")
    return runtime


def _is_warroom_dev(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z" and b"dev" in argv and any(b"warroom" in part or b"localcloud" in part for part in argv)


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


def _add_common_options(parser: argparse.ArgumentParser) -> None:
    from localcloud.cli import DEFAULT_STACK_NAME, PROJECT_ROOT, _parameter

    parser.add_argument("--state-dir", help="the warroom dev's state directory (default: $WARROOM_HOME or ./.warroom)")
    parser.add_argument("--template", default=str(PROJECT_ROOT / "template.yaml"))
    parser.add_argument("--stack-name", default=DEFAULT_STACK_NAME)
    parser.add_argument("--parameter", action="append", type=_parameter, help="template parameter override Name=Value")
