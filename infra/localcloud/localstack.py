"""LocalStack 4.9.2 without Docker: its own virtualenv, installed once per machine, run as a child process.

LocalStack (host mode, a plain Python process) provides the AWS *service* plane the functions call: S3, SQS,
EventBridge, Secrets Manager, SSM, STS, IAM and CloudWatch Logs. It cannot run the Lambda handlers (its free
edition needs Docker for that) nor a WebSocket API, so the local cloud keeps serving those itself. The recipe and
why each pin and setting is needed: ``../shared/LOCALSTACK.md``.

Example
-------
>>> from localcloud.localstack import start_localstack
>>> service = start_localstack(Path(".warroom"))  # installs on first use (~40 s), then ready in ~1.5 s
>>> os.environ["AWS_ENDPOINT_URL"] = service.url
>>> service.stop()

``python -m localcloud.localstack install`` installs it ahead of time (CI, ``make test-localstack``).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from localcloud.services import ManagedService, free_port, spawn_server, wait_until_ready

LOCALSTACK_VERSION = "4.9.2"
# The newest LocalStack that runs on Python 3.11, and the pins it needs (see LOCALSTACK.md for each one's reason).
REQUIREMENTS = (
    f"localstack-core[runtime]=={LOCALSTACK_VERSION}",
    "cbor2<5.7",
    "psutil<7.2",
    "pyopenssl<24.3",
    "localstack-twisted<26",
)
SERVICES = ("s3", "sqs", "events", "secretsmanager", "ssm", "sts", "iam", "logs", "ses")
_STAMP = ".warroom-installed"
_STOP_TIMEOUT_S = 8.0  # SIGTERM takes ~5 s, and once hung past 60 s after a scheduled rule fired
_READY_STATES = {"available", "running"}


def default_venv_dir() -> Path:
    """Where LocalStack is installed: ``$WARROOM_LOCALSTACK_VENV``, else ``$XDG_CACHE_HOME/warroom/localstack-4.9.2``.

    One per machine, shared by every state directory and checkout (the venv is about 500 MB).
    """
    override = os.environ.get("WARROOM_LOCALSTACK_VENV")
    if override:
        return Path(override).expanduser().resolve()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return (cache / "warroom" / f"localstack-{LOCALSTACK_VERSION}").resolve()


def is_installed(venv_dir: Path | None = None) -> bool:
    """True when ``venv_dir`` holds a complete install of exactly :data:`REQUIREMENTS`."""
    stamp = (venv_dir or default_venv_dir()) / _STAMP
    return stamp.exists() and stamp.read_text() == _stamp_text()


def ensure_installed(venv_dir: Path | None = None, say: Callable[[str], None] | None = None) -> Path:
    """Create the venv and install the pinned LocalStack into it unless already done; return its python.

    Idempotent and safe to call from concurrent processes (a file lock serialises installs; a stamp written last
    marks a complete one, so an interrupted install is simply resumed by the next call).
    """
    venv_dir = (venv_dir or default_venv_dir()).resolve()
    python = venv_dir / "bin" / "python"
    if is_installed(venv_dir):
        return python
    venv_dir.parent.mkdir(parents=True, exist_ok=True)
    with (venv_dir.parent / f"{venv_dir.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_installed(venv_dir):  # another process finished it while we waited
            return python
        started = time.perf_counter()
        if say:
            say(f"installing LocalStack {LOCALSTACK_VERSION} into {venv_dir} (once per machine, about a minute)")
        if not python.exists():
            _run([_python311(), "-m", "venv", str(venv_dir)])
        _run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *REQUIREMENTS])
        (venv_dir / _STAMP).write_text(_stamp_text())
        if say:
            say(f"installed LocalStack {LOCALSTACK_VERSION} in {time.perf_counter() - started:.0f} s")
    return python


@dataclass
class LocalStackService(ManagedService):
    """A running LocalStack; :meth:`stop` sends SIGTERM and SIGKILLs its process group after 8 s by default."""

    def stop(self, timeout_s: float = _STOP_TIMEOUT_S) -> None:
        super().stop(timeout_s)


def start_localstack(
    state_dir: Path,
    port: int | None = None,
    *,
    venv_dir: Path | None = None,
    say: Callable[[str], None] | None = None,
) -> LocalStackService:
    """Run LocalStack on 127.0.0.1:``port`` (a free one by default) with its files under ``<state_dir>/localstack``.

    Installs it first if needed. Returns once ``/_localstack/health`` lists every service of :data:`SERVICES` as
    available and its READY stage has completed (the moment it logs "Ready."). The log is
    ``<state_dir>/localstack.log``. LocalStack keeps no data across restarts (persistence is a paid feature), so
    the caller creates its resources after each start.

    The child is started with PR_SET_PDEATHSIG = SIGKILL, not SIGTERM: it must go with its parent even in the
    rare case where SIGTERM hangs, and it holds nothing that needs a clean shutdown.
    """
    python = ensure_installed(venv_dir, say)
    state_dir = state_dir.resolve()
    filesystem_root = state_dir / "localstack"
    filesystem_root.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    listen = f"127.0.0.1:{port}"
    # LocalStack pins its own boto3: the project's AWS_* and Python variables must not leak into it.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_") and k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
    }
    env |= {
        "OVERRIDE_IN_DOCKER": "0",  # /.dockerenv exists here; without this it writes under /var/lib/localstack
        "FILESYSTEM_ROOT": str(filesystem_root),
        "DNS_ADDRESS": "0",
        "SKIP_SSL_CERT_DOWNLOAD": "1",
        "DISABLE_EVENTS": "1",
        "GATEWAY_SERVER": "hypercorn",  # the default server ignores the host of GATEWAY_LISTEN
        "GATEWAY_LISTEN": listen,
        "LOCALSTACK_HOST": listen,
        "SQS_ENDPOINT_STRATEGY": "path",  # localhost.localstack.cloud does not resolve here
        "SERVICES": ",".join(SERVICES),
    }
    args = [str(python), "-m", "localstack.runtime.main"]
    log_path = state_dir / "localstack.log"
    service = spawn_server(
        "localstack",
        args,
        log_path,
        signal.SIGTERM,
        death_signal=signal.SIGKILL,
        service_class=LocalStackService,
        cwd=filesystem_root,
        env=env,
    )
    service.url = f"http://{listen}"
    wait_until_ready(service, lambda: _check_health(service.url), ConnectionError)
    return service


def python_example(url: str, region: str = "us-east-1") -> tuple[str, str]:
    """Two lines of Python that list the queues of the LocalStack at ``url`` with ``localstack-client``.

    What ``warroom dev --aws localstack`` prints once ready, for a developer to look at what the system made
    (``localstack-client`` is in the ``dev`` extra, never in the layer). Its ``Session`` is told this LocalStack's
    host and port (not its default 4566); it prefers ``$AWS_ENDPOINT_URL`` when that is set.

    >>> python_example("http://127.0.0.1:4599")[1]
    'Session(localstack_host="127.0.0.1:4599").client("sqs").list_queues()'
    """
    host = urlsplit(url).netloc
    region_argument = "" if region == "us-east-1" else f', region_name="{region}"'
    return (
        "from localstack_client.session import Session",
        f'Session(localstack_host="{host}"{region_argument}).client("sqs").list_queues()',
    )


class _NotReady(ConnectionError):
    """LocalStack answers but does not list every service yet."""


def _check_health(url: str) -> None:
    """Ready = every service of SERVICES available and the READY stage done (when "Ready." is logged)."""
    states = _get_json(f"{url}/_localstack/health").get("services", {})
    missing = {name: states.get(name) for name in SERVICES if states.get(name) not in _READY_STATES}
    if missing:
        raise _NotReady(f"services not ready: {missing}")
    if _get_json(f"{url}/_localstack/init/ready").get("completed") is not True:
        raise _NotReady("the READY stage has not completed")


def _get_json(url: str) -> dict:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - our own http URL
            return json.load(answer)
    except OSError as exc:  # refused, reset, or an HTTP error while it boots
        raise _NotReady(f"{url}: {exc}") from exc
    except ValueError as exc:
        raise _NotReady(f"{url}: not JSON ({exc})") from exc


def _python311() -> str:
    """A Python 3.11 to create the venv with (LocalStack 4.9.2's pins are measured on 3.11)."""
    if sys.version_info[:2] == (3, 11):
        return sys.executable
    found = shutil.which("python3.11")
    if not found:
        raise RuntimeError("LocalStack needs python3.11 on PATH to create its virtualenv")
    return found


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - fixed argv
    if done.returncode != 0:
        output = (done.stdout + done.stderr)[-4000:]
        raise RuntimeError(f"{' '.join(command[:4])} ... failed ({done.returncode}):\n{output}")


def _stamp_text() -> str:
    return "\n".join(REQUIREMENTS) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m localcloud.localstack install``: install ahead of time, printing where and how long it took."""
    argv = sys.argv[1:] if argv is None else argv
    if argv != ["install"]:
        print("usage: python -m localcloud.localstack install", file=sys.stderr)
        return 2
    started = time.perf_counter()
    python = ensure_installed(say=lambda message: print(f"localstack  {message}", flush=True))
    print(f"localstack  ready to run: {python} ({time.perf_counter() - started:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
