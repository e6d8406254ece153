"""``warroom``: the local cloud's command line.

``warroom dev`` starts (or connects to) PostgreSQL, Redis and an AWS emulator, creates the template's
resources there, applies migrations, seeds an admin, and serves every function of ``template.yaml``
on one port, reloading the functions when their code changes. ``warroom migrate`` applies the
migrations to ``DATABASE_URL``; ``warroom openapi`` prints the generated OpenAPI document.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import secrets
import signal
import sys
import time
from pathlib import Path
from typing import Any

DEFAULT_ADMIN_EMAIL = "admin@warroom.local"
DEFAULT_STACK_NAME = "warroom-local"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _state_dir(arg: str | None) -> Path:
    path = Path(arg or os.environ.get("WARROOM_HOME") or Path.cwd() / ".warroom").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _local_secrets(state_dir: Path) -> dict[str, str]:
    """The signing key of this local cloud, generated once and kept (0600) in the state directory."""
    path = state_dir / "local-secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    values = {"JWT_SECRET": secrets.token_urlsafe(48)}
    path.touch(mode=0o600)
    path.write_text(json.dumps(values))
    return values


def _say(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} warroom  {message}", flush=True)


def _start_backing_services(state_dir: Path, stack: list[Any], aws: str = "moto") -> dict[str, str]:
    """The URLs of PostgreSQL, Redis and AWS: the ``*_URL`` variables when set, else servers we start.

    ``aws`` picks the emulator started when ``AWS_ENDPOINT_URL`` is unset: ``moto`` (in-process, instant) or
    ``localstack`` (a child process from its own venv, installed on first use).
    """
    from localcloud import localstack, services

    urls = {
        "DATABASE_URL": os.environ.get("DATABASE_URL", ""),
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        "AWS_ENDPOINT_URL": os.environ.get("AWS_ENDPOINT_URL", ""),
    }
    starters = {
        "DATABASE_URL": lambda: services.start_postgres(state_dir / "pgdata"),
        "REDIS_URL": lambda: services.start_redis(state_dir / "redis"),
        "AWS_ENDPOINT_URL": (
            (lambda: localstack.start_localstack(state_dir, say=_say)) if aws == "localstack" else services.start_moto
        ),
    }
    for variable, start in starters.items():
        if urls[variable]:
            _say(f"using {variable}={_redact(urls[variable])}")
            continue
        service = start()
        stack.append(service)
        urls[variable] = service.url
        _say(f"started {service.name} at {service.url}")
    return urls


def _redact(url: str) -> str:
    """A URL without its password, for logs."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def _aws_defaults(endpoint_url: str) -> None:
    os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_REGION", os.environ["AWS_DEFAULT_REGION"])


def _seed_admin() -> None:
    from warroom.auth.users import ensure_admin

    email = os.environ.get("WARROOM_ADMIN_EMAIL", DEFAULT_ADMIN_EMAIL)
    password = os.environ.get("WARROOM_ADMIN_PASSWORD")
    generated = password is None
    password = password or secrets.token_urlsafe(18)
    _, created = ensure_admin(email, password)
    if created and generated:
        _say(f"created admin {email} with password {password} (shown once; set WARROOM_ADMIN_PASSWORD to choose)")
    elif created:
        _say(f"created admin {email} (password from WARROOM_ADMIN_PASSWORD)")
    else:
        _say(f"admin {email} exists")


def _backfill_mock_mentions() -> None:
    """In MOCK mode, on the first start only, a week of mock mentions so every chart has data.

    Idempotent across restarts: the mock source's cursor marks it done. ``WARROOM_MOCK_BACKFILL_DAYS`` (default 7)
    sets the span; 0 skips it.
    """
    from warroom.mentions.sync import backfill_mock_history
    from warroom.system.data_mode import get_data_mode

    days = int(os.environ.get("WARROOM_MOCK_BACKFILL_DAYS", "7"))
    if days <= 0 or get_data_mode() != "MOCK":
        return
    started = time.perf_counter()
    result = backfill_mock_history(days=days)
    if result is not None:
        _say(f"mock history: {result['inserted']} mentions over {days} days in {time.perf_counter() - started:.1f} s")


def prepare(args: argparse.Namespace, stack: list[Any]) -> dict[str, Any]:
    """Everything before serving: services, AWS resources, migrations, admin. Returns the gateway's config."""
    from localcloud.event_sources import event_source_config
    from localcloud.provision import localize_execute_api_urls, provision, read_parameters, verify_email_senders
    from localcloud.template import load_template, read_cors, read_functions, resolve_environment

    state_dir = _state_dir(args.state_dir)
    template_path = Path(args.template).resolve()
    template = load_template(template_path)
    functions = read_functions(template, template_path.parent)  # fail fast on an unsupported feature
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto server's per-request lines
    urls = _start_backing_services(state_dir, stack, args.aws)
    _aws_defaults(urls["AWS_ENDPOINT_URL"])
    local_secrets = _local_secrets(state_dir)
    parameters = read_parameters(template, {"RedisUrl": urls["REDIS_URL"], **dict(args.parameter or [])})
    resources = provision(
        template, args.stack_name, parameters, {"DATABASE_URL": urls["DATABASE_URL"], **local_secrets}
    )
    local_host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    env_by_function = {
        name: {
            **localize_execute_api_urls(
                resolve_environment(spec.environment, resources.ref, resources.getatt),
                f"http://{local_host}:{args.port}",
            ),
            "WARROOM_FUNCTIONS_DIR": str(template_path.parent / "functions"),
        }
        for name, spec in functions.items()
    }
    verify_email_senders(env_by_function)
    from warroom.core.config import reset_settings
    from warroom.core.migrate import apply_migrations

    applied = apply_migrations(urls["DATABASE_URL"], args.migrations or template_path.parent / "infra" / "migrations")
    _say(f"migrations: {len(applied)} applied" + (f" ({', '.join(applied)})" if applied else ", schema up to date"))
    # The admin is created through the layer, configured exactly as the functions are.
    os.environ.update(next(iter(env_by_function.values()), {}))
    reset_settings()
    _seed_admin()
    _backfill_mock_mentions()
    cors = read_cors(template, resources.resolve)
    config = {
        "template": str(template_path),
        "cors": dataclasses.asdict(cors) if cors else None,
        "env_by_function": env_by_function,
        "host": args.host,
        "port": args.port,
        "urls": urls,
        "state_dir": str(state_dir),
        **event_source_config(args, functions, resources),
    }
    config = json.loads(json.dumps(config))  # plain types: cfn-lint's string nodes cannot cross to the child
    pids = {service.name: service.pid for service in stack if service.pid}
    (state_dir / "runtime.json").write_text(
        json.dumps(
            {
                "url": f"http://{args.host}:{args.port}",
                "pid": os.getpid(),
                "pids": pids,
                **urls,
                # What `warroom invoke` needs to run a function as this instance does (no secret: those stay in
                # the emulator's Secrets Manager).
                "env_by_function": config["env_by_function"],
                "stack": config["stack"],
            },
            indent=2,
        )
    )
    return config


def serve_gateway(config: dict[str, Any]) -> None:
    """Serve the template's REST routes on one port (runs in the reloadable child process)."""
    import ctypes

    import uvicorn

    from localcloud.event_sources import launch_event_sources
    from localcloud.gateway import create_gateway
    from localcloud.template import CorsConfig, load_template, read_api_routes, read_functions
    from localcloud.websocket import WebSocketGateway, read_websocket_api

    # Die with the supervising `warroom dev` even if it is killed outright.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    template_path = Path(config["template"])
    template = load_template(template_path)
    functions = read_functions(template, template_path.parent)
    cors = CorsConfig(**config["cors"]) if config["cors"] else None
    app = create_gateway(functions, read_api_routes(functions), config["env_by_function"], cors)
    websocket_api = read_websocket_api(template)
    if websocket_api is not None:
        # Before the gateway's catch-all HTTP route, so /@connections is not taken for a REST path.
        app.router.routes[:0] = WebSocketGateway(websocket_api, app.state.runtime).routes()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=config["host"],
            port=config["port"],
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="websockets-sansio",
        )
    )
    # uvicorn's sans-io WebSocket protocol logs a refused handshake (our 401 denial response) as an error.
    logging.getLogger("uvicorn.error").addFilter(
        lambda record: "without completing handshake" not in record.getMessage()
    )
    _say(f"serving {len(functions)} function(s) at http://{config['host']}:{config['port']}")
    # Schedules and queue pollers start once the port is served and invoke through the same runtime.
    event_sources = launch_event_sources(
        config, template, functions, app.state.runtime, ready=lambda: server.started, say=_say
    )
    try:
        server.run()
    finally:
        event_sources.stop()
        app.state.runtime.close()
        _release_database()


def _release_database() -> None:
    """Write buffered request timings and close the pool while PostgreSQL is still up."""
    from warroom.core import db, perf

    perf.flush()
    db.close_pool()


def _raise_keyboard_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def cmd_dev(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    stack: list[Any] = []
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        config = prepare(args, stack)
        _release_database()  # the gateway opens its own pool (in the reloadable child process)
        _say(f"ready in {time.perf_counter() - started:.2f} s: http://{args.host}:{args.port}/api/v1/docs")
        if args.reload:
            import watchfiles

            import warroom

            # The functions beside the template, and the layer package the functions really import.
            root = Path(config["template"]).parent
            watched = [root / "functions", Path(warroom.__file__).parent, Path(config["template"])]
            watchfiles.run_process(
                *watched,
                target=serve_gateway,
                args=(config,),
                callback=lambda changes: _say(f"reloading: {len(changes)} file(s) changed"),
                sigint_timeout=3,
                sigkill_timeout=2,
            )
        else:
            serve_gateway(config)
    except KeyboardInterrupt:
        pass
    finally:
        for service in reversed(stack):
            service.stop()
        _say("stopped")
    return 0


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="warroom", description="War Room local cloud and tools.")
    commands = parser.add_subparsers(dest="command", required=True)

    dev = commands.add_parser("dev", help="run the whole system locally")
    dev.add_argument("--port", type=int, default=3000)
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--state-dir", help="where data is kept (default: $WARROOM_HOME or ./.warroom)")
    dev.add_argument("--template", default=str(PROJECT_ROOT / "template.yaml"))
    dev.add_argument("--stack-name", default=DEFAULT_STACK_NAME)
    dev.add_argument(
        "--migrations", type=Path, help="migrations folder (default: infra/migrations beside the template)"
    )
    dev.add_argument("--parameter", action="append", type=_parameter, help="template parameter override Name=Value")
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

    migrate = commands.add_parser("migrate", help="apply the schema migrations to DATABASE_URL")
    migrate.add_argument("--database-url")
    migrate.set_defaults(func=cmd_migrate)

    openapi = commands.add_parser("openapi", help="print the OpenAPI document generated from the functions")
    openapi.add_argument("--output")
    openapi.set_defaults(func=cmd_openapi)

    from localcloud.invoke import add_invoke_commands

    add_invoke_commands(commands, dev)

    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
