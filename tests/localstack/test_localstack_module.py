"""``localcloud.localstack``: the once-per-machine install and a stop that cannot hang."""

from __future__ import annotations

import signal
import sys
import time

from localcloud import services
from localcloud.localstack import LocalStackService, default_venv_dir, ensure_installed, is_installed


def test_install_is_done_once_and_then_is_a_no_op(localstack):
    # GIVEN LocalStack installed for this session
    # WHEN it is asked for again
    started = time.perf_counter()
    python = ensure_installed()
    # THEN nothing is reinstalled: the stamp names exactly the pinned requirements
    assert time.perf_counter() - started < 1
    assert python.exists()
    assert is_installed()


def test_a_stamp_for_other_pins_means_not_installed(tmp_path, monkeypatch):
    # GIVEN a venv whose stamp records different requirements (an older pin set)
    monkeypatch.setenv("WARROOM_LOCALSTACK_VENV", str(tmp_path / "venv"))
    (tmp_path / "venv").mkdir()
    (tmp_path / "venv" / ".warroom-installed").write_text("localstack-core[runtime]==4.9.1\n")
    # WHEN the install is checked
    # THEN it counts as not installed (ensure_installed would reinstall into it)
    assert default_venv_dir() == (tmp_path / "venv").resolve()
    assert not is_installed()


def test_stop_falls_back_to_sigkill_when_sigterm_hangs(tmp_path):
    # GIVEN a server process that ignores SIGTERM (as LocalStack once did after a scheduled rule fired)
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True)"
    code += "; time.sleep(60)"
    log = tmp_path / "stubborn.log"
    spawned = services.spawn_server("stubborn", [sys.executable, "-c", code], log, signal.SIGKILL)
    service = LocalStackService("stubborn", "", pid=spawned.pid, log_path=log, _process=spawned._process)
    deadline = time.monotonic() + 10
    while "ready" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    # WHEN it is stopped with a short grace period
    started = time.perf_counter()
    service.stop(timeout_s=0.5)
    # THEN it waited the grace period, then killed it
    assert time.perf_counter() - started >= 0.5
    assert not service.is_running()
    assert spawned._process.returncode == -signal.SIGKILL
