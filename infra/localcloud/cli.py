"""``warroom``: the local cloud's command line (argument parsing; the work is done in the modules it calls).

``warroom dev`` starts (or connects to) PostgreSQL, Redis and an AWS emulator, creates the template's resources
there, applies migrations, seeds an admin, and serves every function of ``template.yaml`` on one port, reloading
the functions when their code changes (`localcloud.dev`, on `localcloud.bootstrap`). ``warroom invoke`` and
``warroom trigger`` run one function once (`localcloud.invoke`). ``warroom migrate`` applies the migrations to
``DATABASE_URL``; ``warroom openapi`` prints the generated OpenAPI document.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from localcloud.bootstrap import DEFAULT_STACK_NAME, PROJECT_ROOT, DevOptions

__all__ = ["DEFAULT_STACK_NAME", "main"]


def cmd_dev(args: argparse.Namespace) -> int:
    from localcloud.dev import exit_process, run_dev

    exit_process(run_dev(_options(args)))


def cmd_invoke(args: argparse.Namespace) -> int:
    from localcloud.invoke import invoke_function

    return invoke_function(args.function, args.event, _options(args))


def cmd_trigger(args: argparse.Namespace) -> int:
    from localcloud.invoke import trigger_schedule

    return trigger_schedule(args.function, args.schedule, _options(args))


def cmd_migrate(args: argparse.Namespace) -> int:
    from warroom.core.migrate import apply_migrations

    database_url = args.database_url or os.environ.get("DATABASE_URL")
    if not database_url:
        print("warroom migrate: set DATABASE_URL or pass --database-url", file=sys.stderr)
        return 2
    applied = apply_migrations(database_url)
    print(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none'}")
    return 0


def cmd_openapi(args: argparse.Namespace) -> int:
    from warroom.core.openapi import build_document, functions_dir, load_route_specs

    specs = load_route_specs(functions_dir())
    if not specs:
        print(f"warroom openapi: no routes found under {functions_dir()} (set WARROOM_FUNCTIONS_DIR)", file=sys.stderr)
        return 1
    document = json.dumps(build_document(specs), indent=2)
    if args.output:
        Path(args.output).write_text(document)
    else:
        print(document)
    return 0


def _options(args: argparse.Namespace) -> DevOptions:
    """The bootstrap options of `warroom dev`'s arguments (`invoke` and `trigger` take a subset)."""
    defaults = DevOptions()
    return DevOptions(
        port=getattr(args, "port", defaults.port),
        host=getattr(args, "host", defaults.host),
        state_dir=Path(args.state_dir) if args.state_dir else None,
        template=Path(args.template),
        stack_name=args.stack_name,
        migrations=getattr(args, "migrations", None),
        parameters=dict(args.parameter or []),
        aws=getattr(args, "aws", defaults.aws),
        schedules=getattr(args, "schedules", "on") == "on",
        schedule_speed=getattr(args, "schedule_speed", defaults.schedule_speed),
        reload=getattr(args, "reload", defaults.reload),
    )


def _parameter(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError("expected Name=Value")
    return name, value


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive number")
    return value


def _add_stack_options(parser: argparse.ArgumentParser, state_help: str) -> None:
    parser.add_argument("--state-dir", help=state_help)
    parser.add_argument("--template", default=str(PROJECT_ROOT / "template.yaml"))
    parser.add_argument("--stack-name", default=DEFAULT_STACK_NAME)
    parser.add_argument("--parameter", action="append", type=_parameter, help="template parameter override Name=Value")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="warroom", description="War Room local cloud and tools.")
    commands = parser.add_subparsers(dest="command", required=True)

    dev = commands.add_parser("dev", help="run the whole system locally")
    dev.add_argument("--port", type=int, default=3000)
    dev.add_argument("--host", default="127.0.0.1")
    _add_stack_options(dev, "where data is kept (default: $WARROOM_HOME or ./.warroom)")
    dev.add_argument(
        "--migrations", type=Path, help="migrations folder (default: infra/migrations beside the template)"
    )
    dev.add_argument("--no-reload", dest="reload", action="store_false", help="do not reload on code changes")
    dev.add_argument(
        "--aws",
        choices=["moto", "localstack"],
        default="moto",
        help="AWS emulator to start when AWS_ENDPOINT_URL is unset (default: moto; localstack installs on first use)",
    )
    dev.add_argument("--schedules", choices=["on", "off"], default="on", help="fire the template's schedules")
    dev.add_argument("--schedule-speed", type=_positive, default=1.0, help="run the schedules' clock N times faster")
    dev.set_defaults(func=cmd_dev)

    running_state = "the warroom dev's state directory (default: $WARROOM_HOME or ./.warroom)"
    invoke = commands.add_parser("invoke", help="run one function once with an event, like `sam local invoke`")
    invoke.add_argument("function", help="the function's logical id in the template, e.g. DocumentIngestFunction")
    invoke.add_argument("--event", "-e", help="event JSON file, '-' for standard input (default: {})")
    _add_stack_options(invoke, running_state)
    invoke.set_defaults(func=cmd_invoke)

    trigger = commands.add_parser("trigger", help="fire a function's schedule once now")
    trigger.add_argument("function", help="the function's logical id in the template")
    trigger.add_argument("--schedule", help="the schedule's event name, when the function has several")
    _add_stack_options(trigger, running_state)
    trigger.set_defaults(func=cmd_trigger)

    migrate = commands.add_parser("migrate", help="apply the schema migrations to DATABASE_URL")
    migrate.add_argument("--database-url")
    migrate.set_defaults(func=cmd_migrate)

    openapi = commands.add_parser("openapi", help="print the OpenAPI document generated from the functions")
    openapi.add_argument("--output")
    openapi.set_defaults(func=cmd_openapi)

    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
