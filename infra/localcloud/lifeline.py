"""Child processes that never outlive the process that started them, even when it is killed outright (SIGKILL).

Linux has PR_SET_PDEATHSIG: set in the child between fork and exec, it makes the kernel signal the child when its
parent dies. Elsewhere (macOS has no such call), or when ``WARROOM_PARENT_DEATH=watchdog`` asks for it, a watchdog
process does the same job: it reads a pipe whose write end only the parent holds. The kernel closes that end when
the parent dies, however it dies; at end of file the watchdog sends each registered child its signal and, after a
grace period, kills what is left of their process groups. This module imports nothing but the standard library: the
watchdog runs it as a script (``python -I lifeline.py``).

Example
-------
>>> process = spawn(["redis-server", "--port", "6400"], death_signal=signal.SIGTERM, stdout=log)
>>> ...                              # if this process is SIGKILLed now, redis-server gets SIGTERM
>>> process.terminate(); process.wait(); forget(process)
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TextIO

PARENT_DEATH_VARIABLE = "WARROOM_PARENT_DEATH"  # "watchdog" forces the portable mechanism (tests use it on Linux)
WATCHDOG_GRACE_S = 2.0  # how long orphans get to stop on their signal before their process group is SIGKILLed
_PR_SET_PDEATHSIG = 1


def uses_pdeathsig() -> bool:
    """True where the kernel signals children for us (Linux), unless ``WARROOM_PARENT_DEATH=watchdog``."""
    return sys.platform.startswith("linux") and os.environ.get(PARENT_DEATH_VARIABLE, "") != "watchdog"


def spawn(args: list[str], *, death_signal: int, **popen_kwargs: Any) -> subprocess.Popen[bytes]:
    """Start a child process that receives `death_signal` when this process dies.

    `popen_kwargs` go to `subprocess.Popen` (pass ``start_new_session=True`` for a server whose whole process group
    should go). Call :func:`forget` once the child has been stopped and waited for.
    """
    if uses_pdeathsig():
        popen_kwargs["preexec_fn"] = _pdeathsig_preexec(death_signal)
        return _spawner().popen(args, popen_kwargs)
    process: subprocess.Popen[bytes] = subprocess.Popen(args, **popen_kwargs)  # noqa: S603 - the caller's argv
    _watchdog().watch(process.pid, death_signal, group=bool(popen_kwargs.get("start_new_session")))
    return process


def forget(process: subprocess.Popen[Any]) -> None:
    """Stop guarding a child that has been stopped and reaped (its pid may be reused from now on)."""
    if _watchdog_instance is not None:
        _watchdog_instance.forget(process.pid)


def is_running(pid: int) -> bool:
    """True if `pid` exists and has not exited (a zombie, exited but not reaped yet, counts as exited)."""
    if pid <= 0:
        return False
    stat = Path(f"/proc/{pid}/stat")
    if Path("/proc/self/stat").exists():
        try:
            return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, alive
    state = _ps(pid, "stat")
    return state is not None and not state.startswith("Z")


def command_line(pid: int) -> list[str] | None:
    """The process's arguments (split on spaces where there is no ``/proc``), or None if there is no such process."""
    if Path("/proc/self/cmdline").exists():
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError):
            return None
        return [part.decode(errors="replace") for part in raw.split(b"\0") if part]
    command = _ps(pid, "command")
    return command.split() if command is not None else None


def _ps(pid: int, field: str) -> str | None:
    # ps is where /proc is not (macOS); found on PATH, like any tool a developer's shell runs.
    done = subprocess.run(  # noqa: S603 - fixed argv
        ["ps", "-ww", "-o", f"{field}=", "-p", str(pid)],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


# ---------------------------------------------------------------- Linux: PR_SET_PDEATHSIG


def _pdeathsig_preexec(death_signal: int) -> Callable[[], None]:
    """A preexec_fn that makes the child receive `death_signal` when its parent dies.

    CPython runs preexec_fn after the uid switch (user=...), which matters: the kernel clears pdeathsig on a
    credential change. Checking getppid closes the race where the parent died before prctl ran.
    """
    import ctypes  # only here: never loaded where there is no prctl

    parent = os.getpid()
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def preexec() -> None:
        if prctl(_PR_SET_PDEATHSIG, death_signal) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent:
            os._exit(1)

    return preexec


class _Spawner:
    """Forks every child from one long-lived daemon thread.

    PDEATHSIG fires when the *thread* that forked the child exits, not the process: callers may then safely start
    children from short-lived worker threads.
    """

    def __init__(self) -> None:
        self._requests: queue.SimpleQueue[tuple[Future[subprocess.Popen[bytes]], list[str], dict[str, Any]]]
        self._requests = queue.SimpleQueue()
        threading.Thread(target=self._run, name="localcloud-spawner", daemon=True).start()

    def popen(self, args: list[str], kwargs: dict[str, Any]) -> subprocess.Popen[bytes]:
        future: Future[subprocess.Popen[bytes]] = Future()
        self._requests.put((future, args, kwargs))
        return future.result()

    def _run(self) -> None:
        while True:
            future, args, kwargs = self._requests.get()
            try:
                future.set_result(subprocess.Popen(args, **kwargs))  # noqa: S603 - the caller's argv
            except BaseException as error:  # handed to the caller
                future.set_exception(error)


_spawner_lock = threading.Lock()
_spawner_instance: _Spawner | None = None


def _spawner() -> _Spawner:
    global _spawner_instance
    with _spawner_lock:
        if _spawner_instance is None:
            _spawner_instance = _Spawner()
        return _spawner_instance


# ---------------------------------------------------------------- elsewhere: the watchdog process


class _Watchdog:
    """The parent's side of the watchdog: registers children on the pipe the watchdog reads."""

    def __init__(self) -> None:
        # Its own session: a Ctrl-C or a signal to our process group must not stop it before it has done its job.
        self.process = subprocess.Popen(  # noqa: S603 - our own script
            [sys.executable, "-I", str(Path(__file__).resolve())],
            stdin=subprocess.PIPE,
            start_new_session=True,
            text=True,
        )
        self._lock = threading.Lock()

    def watch(self, pid: int, death_signal: int, *, group: bool) -> None:
        self._send(f"watch {pid} {int(death_signal)} {int(group)}")

    def forget(self, pid: int) -> None:
        self._send(f"forget {pid}")

    def _send(self, line: str) -> None:
        assert self.process.stdin is not None
        with self._lock:
            self.process.stdin.write(line + "\n")
            self.process.stdin.flush()


_watchdog_lock = threading.Lock()
_watchdog_instance: _Watchdog | None = None


def _watchdog() -> _Watchdog:
    global _watchdog_instance
    with _watchdog_lock:
        if _watchdog_instance is None:
            _watchdog_instance = _Watchdog()
        return _watchdog_instance


def run_watchdog(commands: TextIO, grace_s: float = WATCHDOG_GRACE_S) -> None:
    """The watchdog's loop: follow ``watch``/``forget`` lines until end of file, then stop the orphans."""
    watched: dict[int, tuple[int, bool]] = {}
    for line in commands:
        verb, *fields = line.split()
        if verb == "watch":
            pid, death_signal, group = (int(field) for field in fields)
            watched[pid] = (death_signal, bool(group))
        elif verb == "forget":
            watched.pop(int(fields[0]), None)
    # End of file: the parent is gone (or exited after stopping every child, which leaves nothing watched).
    for pid, (death_signal, _) in watched.items():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, death_signal)
    deadline = time.monotonic() + grace_s
    while any(is_running(pid) for pid in watched) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid, (_, group) in watched.items():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if group:
                os.killpg(pid, signal.SIGKILL)  # the group outlives its leader while any member is left
            elif is_running(pid):
                os.kill(pid, signal.SIGKILL)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    run_watchdog(sys.stdin)
