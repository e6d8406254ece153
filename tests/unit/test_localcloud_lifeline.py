"""Children of the local cloud die with it, by PR_SET_PDEATHSIG on Linux or by the watchdog process elsewhere."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from localcloud import lifeline
from tests.polling import wait_until

INFRA = Path(__file__).resolve().parents[2] / "infra"
# A child that reports the parent-death signal the kernel will send it (0: none), notes the signals it gets, and
# waits to be killed.
PROBE = """
import ctypes, signal, sys
pdeathsig = ctypes.c_int(0)
ctypes.CDLL(None, use_errno=True).prctl(2, ctypes.byref(pdeathsig))  # PR_GET_PDEATHSIG
def noted(signum, frame):
    with open(sys.argv[1], "a") as log:
        log.write(f"signal {signum}\\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, noted)
print(pdeathsig.value, flush=True)
while True:
    signal.pause()
"""
# The process whose death is under test: spawns the probe and a real redis server, prints what the test needs.
OWNER = """
import json, signal, sys
sys.path.insert(0, {infra!r})
from pathlib import Path
from localcloud import lifeline, services
probe = lifeline.spawn(
    [sys.executable, "-c", {probe!r}, {signals!r}], death_signal=signal.SIGTERM, stdout=-1, start_new_session=True
)
redis = services.start_redis(Path({redis_dir!r}))
print(json.dumps({{
    "probe": probe.pid, "probe_pdeathsig": int(probe.stdout.readline()), "redis": redis.pid,
    "libc_loaded": "ctypes" in sys.modules,
}}), flush=True)
signal.pause()
"""


def children_of(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(stat.parent.name))
        except (FileNotFoundError, ProcessLookupError):
            continue
    return children


@pytest.fixture
def start_owner(tmp_path: Path) -> Iterator[Callable[[str], tuple[subprocess.Popen[str], dict]]]:
    owners: list[subprocess.Popen[str]] = []
    pids: list[int] = []

    def start(mechanism: str) -> tuple[subprocess.Popen[str], dict]:
        env = {**os.environ, lifeline.PARENT_DEATH_VARIABLE: mechanism}
        script = OWNER.format(
            infra=str(INFRA), probe=PROBE, signals=str(tmp_path / "signals.log"), redis_dir=str(tmp_path / "redis")
        )
        owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
        owners.append(owner)
        started = json.loads(owner.stdout.readline())
        watchdogs = [
            pid for pid in children_of(owner.pid) if "lifeline.py" in " ".join(lifeline.command_line(pid) or [])
        ]
        started["watchdog"] = watchdogs[0] if watchdogs else None
        pids.extend(pid for pid in (started["probe"], started["redis"], started["watchdog"]) if pid)
        return owner, started

    yield start
    for owner in owners:
        owner.kill()
        owner.wait()
    for pid in pids:  # never leave a server behind, even when the test failed
        if lifeline.is_running(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("mechanism", ["pdeathsig", "watchdog"])
def test_children_go_when_their_owner_is_sigkilled(start_owner, tmp_path: Path, mechanism: str) -> None:
    # GIVEN an owner process that started a probe child and a redis server, with one mechanism or the other
    owner, started = start_owner(mechanism)
    assert lifeline.is_running(started["probe"]) and lifeline.is_running(started["redis"])
    if mechanism == "watchdog":
        # THEN no PR_SET_PDEATHSIG was set and libc was never loaded (as on macOS), a watchdog process runs instead
        assert started["probe_pdeathsig"] == 0
        assert started["libc_loaded"] is False
        assert started["watchdog"] is not None
    else:
        assert started["probe_pdeathsig"] == signal.SIGTERM
        assert started["watchdog"] is None

    # WHEN the owner is SIGKILLed (no chance to clean up)
    owner.kill()
    owner.wait()

    # THEN the probe got its SIGTERM, redis went too, and so did the watchdog
    assert wait_until(lambda: not lifeline.is_running(started["probe"]))
    assert wait_until(lambda: not lifeline.is_running(started["redis"]))
    assert (tmp_path / "signals.log").read_text() == f"signal {signal.SIGTERM}\n"
    if started["watchdog"]:
        assert wait_until(lambda: not lifeline.is_running(started["watchdog"]))


def test_the_watchdog_kills_the_group_of_a_child_that_ignores_its_signal() -> None:
    # GIVEN a child in its own process group that ignores SIGTERM, and one the parent has stopped and forgotten
    stubborn = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(1, flush=True)\n"
            "while True: signal.pause()",
        ],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    stubborn.stdout.readline()  # its handler is in place
    forgotten = subprocess.Popen([sys.executable, "-c", "import signal; signal.pause()"], start_new_session=True)
    try:
        commands = io.StringIO(
            f"watch {stubborn.pid} {int(signal.SIGTERM)} 1\n"
            f"watch {forgotten.pid} {int(signal.SIGTERM)} 1\n"
            f"forget {forgotten.pid}\n"
        )

        # WHEN the watchdog reads end of file (its parent died)
        lifeline.run_watchdog(commands, grace_s=0.2)

        # THEN the stubborn child's group was SIGKILLed after the grace period, the forgotten child left alone
        assert stubborn.wait(timeout=10) == -signal.SIGKILL
        assert forgotten.poll() is None
    finally:
        for process in (stubborn, forgotten):
            process.kill()
            process.wait()


def test_is_running_and_command_line_describe_a_process() -> None:
    # GIVEN a child that exits, and this process
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    # WHEN / THEN an unreaped child that exited counts as gone, this process as running with its arguments
    assert wait_until(lambda: not lifeline.is_running(child.pid))
    child.wait()
    assert lifeline.is_running(os.getpid())
    assert (lifeline.command_line(os.getpid()) or [""])[0].endswith(("python", "python3", "python3.11"))
    assert lifeline.command_line(child.pid) is None
