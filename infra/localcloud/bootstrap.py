"""Bring the local cloud's backing services and resources up, shared by ``warroom dev``, ``invoke`` and ``trigger``.

Options go in (:class:`DevOptions`), a typed configuration comes out (:class:`LocalCloudConfig`: the service URLs,
each function's environment, the provisioned stack, the state directory), which is also saved as
``<state>/runtime.json`` so that the serving process and `warroom invoke` run the functions exactly the same way.

Example
-------
>>> options = DevOptions(port=3000, state_dir=Path(".warroom"))
>>> with BackingServices() as services:
...     config = prepare(options, services)  # servers, AWS resources, migrations, admin, mock history
...     release_database()
...     config.urls.database_url
'postgresql://postgres@127.0.0.1:41234/warroom'

`BackingServices` starts PostgreSQL, Redis and the AWS emulator unless ``DATABASE_URL``, ``REDIS_URL`` or
``AWS_ENDPOINT_URL`` name running ones, and stops what it started (all at once, within a deadline) on exit.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from localcloud import lifeline
from localcloud.provision import Stack
from localcloud.services import ManagedService, stop_all
from localcloud.template import CorsConfig, load_template

DEFAULT_ADMIN_EMAIL = "admin@warroom.local"
DEFAULT_STACK_NAME = "warroom-local"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
RUNTIME_FILE = "runtime.json"
SERVICES_STOP_TIMEOUT_S = 1.5  # then SIGKILL: postgres' fast shutdown takes ~0.2 s, LocalStack's SIGTERM up to 5 s

AwsBackend = Literal["moto", "localstack"]


class LocalCloudError(Exception):
    """The local cloud cannot be brought up or found as asked (e.g. a `runtime.json` from an older version)."""


@dataclass(frozen=True)
class DevOptions:
    """How to bring the local cloud up: what `warroom dev` takes on its command line."""

    port: int = 3000
    host: str = "127.0.0.1"
    state_dir: Path | None = None  # None: $WARROOM_HOME, else ./.warroom
    template: Path = PROJECT_ROOT / "template.yaml"
    stack_name: str = DEFAULT_STACK_NAME
    migrations: Path | None = None  # None: infra/migrations beside the template
    parameters: Mapping[str, str] = field(default_factory=dict)  # template parameter overrides
    aws: AwsBackend = "moto"  # the emulator started when AWS_ENDPOINT_URL is unset
    schedules: bool = True
    schedule_speed: float = 1.0
    reload: bool = True


@dataclass(frozen=True)
class ServiceUrls:
    database_url: str
    redis_url: str
    aws_endpoint_url: str


@dataclass(frozen=True)
class LocalCloudConfig:
    """The local cloud as brought up: what a process needs to run the template's functions as `warroom dev` does."""

    template: Path
    state_dir: Path
    host: str
    port: int
    urls: ServiceUrls
    env_by_function: dict[str, dict[str, str]]  # no secret: those stay in the emulator's Secrets Manager
    stack: Stack  # what Ref and Fn::GetAtt answer
    cors: CorsConfig | None
    schedules: bool
    schedule_speed: float
    pid: int  # the process that brought it up
    service_pids: dict[str, int]  # the servers it started, by name

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "pid": self.pid,
            "pids": dict(self.service_pids),
            "DATABASE_URL": self.urls.database_url,
            "REDIS_URL": self.urls.redis_url,
            "AWS_ENDPOINT_URL": self.urls.aws_endpoint_url,
            "env_by_function": self.env_by_function,
            "stack": self.stack.to_json(),
            "template": str(self.template),
            "state_dir": str(self.state_dir),
            "host": self.host,
            "port": self.port,
            "cors": dataclasses.asdict(self.cors) if self.cors else None,
            "schedules": self.schedules,
            "schedule_speed": self.schedule_speed,
        }

    @classmethod
    def from_json(cls, saved: Mapping[str, Any]) -> LocalCloudConfig:
        template_path = Path(saved["template"])
        return cls(
            template=template_path,
            state_dir=Path(saved["state_dir"]),
            host=saved["host"],
            port=int(saved["port"]),
            urls=ServiceUrls(saved["DATABASE_URL"], saved["REDIS_URL"], saved["AWS_ENDPOINT_URL"]),
            env_by_function={name: dict(env) for name, env in saved["env_by_function"].items()},
            stack=Stack.from_json(saved["stack"], load_template(template_path)),
            cors=CorsConfig(**saved["cors"]) if saved["cors"] else None,
            schedules=bool(saved["schedules"]),
            schedule_speed=float(saved["schedule_speed"]),
            pid=int(saved["pid"]),
            service_pids={name: int(pid) for name, pid in saved["pids"].items()},
        )

    def save(self) -> Path:
        path = self.state_dir / RUNTIME_FILE
        path.write_text(json.dumps(self.to_json(), indent=2))
        return path

    @classmethod
    def load(cls, path: Path) -> LocalCloudConfig:
        saved = json.loads(path.read_text())
        if "template" not in saved or "stack" not in saved:
            raise LocalCloudError(f"{path} was written by an older warroom dev; restart it")
        return cls.from_json(saved)


def say(message: str) -> None:
    """A line of the local cloud's console."""
    print(f"{time.strftime('%H:%M:%S')} warroom  {message}", flush=True)


def resolve_state_dir(path: Path | None) -> Path:
    """`path`, else ``$WARROOM_HOME``, else ``./.warroom``; created if missing."""
    state_dir = Path(path or os.environ.get("WARROOM_HOME") or Path.cwd() / ".warroom").resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    return state_dir


class BackingServices:
    """PostgreSQL, Redis and the AWS emulator: the ones the ``*_URL`` variables name, else servers started here."""

    def __init__(self) -> None:
        self.started: list[ManagedService] = []

    def __enter__(self) -> BackingServices:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def pids(self) -> dict[str, int]:
        return {service.name: service.pid for service in self.started if service.pid}

    def start(self, state_dir: Path, aws: AwsBackend = "moto") -> ServiceUrls:
        """Start what the environment does not name; `aws` picks moto (in-process) or LocalStack (a child)."""
        from localcloud import localstack, services

        urls = {
            "DATABASE_URL": os.environ.get("DATABASE_URL", ""),
            "REDIS_URL": os.environ.get("REDIS_URL", ""),
            "AWS_ENDPOINT_URL": os.environ.get("AWS_ENDPOINT_URL", ""),
        }
        start_aws = (lambda: localstack.start_localstack(state_dir, say=say)) if aws == "localstack" else None
        starters = {
            "DATABASE_URL": lambda: services.start_postgres(state_dir / "pgdata"),
            "REDIS_URL": lambda: services.start_redis(state_dir / "redis"),
            "AWS_ENDPOINT_URL": start_aws or services.start_moto,
        }
        for variable, start in starters.items():
            if urls[variable]:
                say(f"using {variable}={_redact(urls[variable])}")
                continue
            service = start()
            self.started.append(service)
            urls[variable] = service.url
            say(f"started {service.name} at {service.url}")
        return ServiceUrls(urls["DATABASE_URL"], urls["REDIS_URL"], urls["AWS_ENDPOINT_URL"])

    def stop(self, timeout_s: float = SERVICES_STOP_TIMEOUT_S) -> None:
        """Stop every server started here at once; whatever is left after `timeout_s` is SIGKILLed."""
        stop_all(reversed(self.started), timeout_s)
        self.started.clear()


def use_aws_endpoint(endpoint_url: str, state_dir: Path) -> None:
    """Point this process's AWS clients at the emulator, with this instance's own credentials.

    The emulators accept any key, but the local Management API (``/@connections``) checks the SigV4
    signature as API Gateway does: a key generated per state directory (0600) means only the functions of
    this local cloud -- and ``warroom invoke`` on the same state -- can post to its sockets.
    """
    credentials = local_aws_credentials(state_dir)
    os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    os.environ["AWS_ACCESS_KEY_ID"] = credentials["AWS_ACCESS_KEY_ID"]
    os.environ["AWS_SECRET_ACCESS_KEY"] = credentials["AWS_SECRET_ACCESS_KEY"]
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_REGION", os.environ["AWS_DEFAULT_REGION"])


def prepare(options: DevOptions, services: BackingServices) -> LocalCloudConfig:
    """Everything before serving: services, AWS resources, migrations, admin, mock history; saves runtime.json."""
    from localcloud.event_sources import check_event_sources
    from localcloud.provision import localize_execute_api_urls, provision, read_parameters, verify_email_senders
    from localcloud.template import read_cors, read_functions, resolve_environment

    state_dir = resolve_state_dir(options.state_dir)
    template_path = options.template.resolve()
    template = load_template(template_path)
    functions = read_functions(template, template_path.parent)  # fail fast on an unsupported feature
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto server's per-request lines
    urls = services.start(state_dir, options.aws)
    use_aws_endpoint(urls.aws_endpoint_url, state_dir)
    local_secrets = _local_secrets(state_dir)
    parameters = read_parameters(template, {"RedisUrl": urls.redis_url, **options.parameters})
    stack = provision(template, options.stack_name, parameters, {"DATABASE_URL": urls.database_url, **local_secrets})
    check_event_sources(functions, stack.resolve)
    local_host = "127.0.0.1" if options.host in ("0.0.0.0", "::") else options.host
    env_by_function = {
        name: {
            **localize_execute_api_urls(
                resolve_environment(spec.environment, stack.ref, stack.getatt), f"http://{local_host}:{options.port}"
            ),
            "WARROOM_FUNCTIONS_DIR": str(template_path.parent / "functions"),
        }
        for name, spec in functions.items()
    }
    verify_email_senders(env_by_function)
    from warroom.core.config import reset_settings
    from warroom.core.migrate import apply_migrations

    migrations = options.migrations or template_path.parent / "infra" / "migrations"
    applied = apply_migrations(urls.database_url, migrations)
    say(f"migrations: {len(applied)} applied" + (f" ({', '.join(applied)})" if applied else ", schema up to date"))
    # The admin is created through the layer, configured exactly as the functions are.
    os.environ.update(next(iter(env_by_function.values()), {}))
    reset_settings()
    _seed_admin()
    _backfill_mock_mentions()
    _backfill_mock_campaigns()
    cors = read_cors(template, stack.resolve)
    config = LocalCloudConfig(
        template=template_path,
        state_dir=state_dir,
        host=options.host,
        port=options.port,
        urls=urls,
        # Plain str: cfn-lint's string nodes must not reach runtime.json's readers.
        env_by_function={name: {k: str(v) for k, v in env.items()} for name, env in env_by_function.items()},
        stack=Stack.from_json(json.loads(json.dumps(stack.to_json())), template),
        cors=CorsConfig(**json.loads(json.dumps(dataclasses.asdict(cors)))) if cors else None,
        schedules=options.schedules,
        schedule_speed=options.schedule_speed,
        pid=os.getpid(),
        service_pids=services.pids,
    )
    config.save()
    return config


def running_instance(state_dir: Path) -> LocalCloudConfig | None:
    """The configuration of the `warroom dev` serving `state_dir`, or None when none is running."""
    path = state_dir / RUNTIME_FILE
    if not path.exists():
        return None
    pid = int(json.loads(path.read_text()).get("pid") or 0)
    if not _is_warroom_dev(pid):
        return None
    return LocalCloudConfig.load(path)


def release_database() -> None:
    """Write buffered request timings and close this process's pool while PostgreSQL is still up."""
    from warroom.core import db, perf

    perf.flush()
    db.close_pool()


def _is_warroom_dev(pid: int) -> bool:
    argv = lifeline.command_line(pid) if pid > 0 else None
    if not argv or not lifeline.is_running(pid):
        return False
    return "dev" in argv and any("warroom" in part or "localcloud" in part for part in argv)


def _local_secrets(state_dir: Path) -> dict[str, str]:
    """The signing key of this local cloud, generated once and kept (0600) in the state directory."""
    path = state_dir / "local-secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    values = {"JWT_SECRET": secrets.token_urlsafe(48)}
    path.touch(mode=0o600)
    path.write_text(json.dumps(values))
    return values


def local_aws_credentials(state_dir: Path) -> dict[str, str]:
    """This local cloud's AWS key pair, generated once and kept (0600) in the state directory."""
    path = state_dir / "local-aws-credentials.json"
    if path.exists():
        return json.loads(path.read_text())
    values = {
        "AWS_ACCESS_KEY_ID": "AKIALOCAL" + secrets.token_hex(6).upper(),
        "AWS_SECRET_ACCESS_KEY": secrets.token_urlsafe(30),
    }
    state_dir.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps(values))
    return values


def _redact(url: str) -> str:
    """A URL without its password, for logs."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def _seed_admin() -> None:
    from warroom.auth.users import ensure_admin

    email = os.environ.get("WARROOM_ADMIN_EMAIL", DEFAULT_ADMIN_EMAIL)
    password = os.environ.get("WARROOM_ADMIN_PASSWORD")
    generated = password is None
    password = password or secrets.token_urlsafe(18)
    _, created = ensure_admin(email, password)
    if created and generated:
        say(f"created admin {email} with password {password} (shown once; set WARROOM_ADMIN_PASSWORD to choose)")
    elif created:
        say(f"created admin {email} (password from WARROOM_ADMIN_PASSWORD)")
    else:
        say(f"admin {email} exists")


def _backfill_mock_campaigns() -> None:
    """In MOCK mode, on the first start only, both platforms' mock campaigns with 60 days of history.

    The first sync of a source backfills ``campaign_backfill_days``; later starts find its cursor and leave the
    schedule to sync (every 15 minutes). Campaign alerts are evaluated as after every sync.
    """
    from warroom.campaigns.sources.mock import MockCampaignSource
    from warroom.core.data_mode import read_data_mode_durably
    from warroom.core.ingest_cursors import read_cursor
    from warroom.pipelines.campaigns import sync_campaigns

    if read_data_mode_durably() != "MOCK" or read_cursor("meta", MockCampaignSource("meta").account_id) is not None:
        return
    started = time.perf_counter()
    outcome = sync_campaigns()
    days = sum(a.get("days", {}).get("inserted", 0) for p in outcome.platforms for a in p.accounts)
    say(f"mock campaigns: {days} campaign days on Meta and Google Ads in {time.perf_counter() - started:.1f} s")


def _backfill_mock_mentions() -> None:
    """In MOCK mode, on the first start only, a week of mock mentions so every chart has data.

    Idempotent across restarts: the mock source's cursor marks it done. ``WARROOM_MOCK_BACKFILL_DAYS`` (default 7)
    sets the span; 0 skips it.
    """
    from warroom.core.data_mode import get_data_mode
    from warroom.mentions.sync import backfill_mock_history

    days = int(os.environ.get("WARROOM_MOCK_BACKFILL_DAYS", "7"))
    if days <= 0 or get_data_mode() != "MOCK":
        return
    started = time.perf_counter()
    result = backfill_mock_history(days=days)
    if result is not None:
        say(f"mock history: {result['inserted']} mentions over {days} days in {time.perf_counter() - started:.1f} s")
