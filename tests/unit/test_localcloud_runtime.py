"""The local Lambda runtime: closing it abandons running invocations; handler modules load one at a time."""

from __future__ import annotations

import sys
import threading
import types
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest

from localcloud.lambda_runtime import LambdaRuntime, RuntimeClosed
from localcloud.template import FunctionSpec
from tests.polling import wait_until

# Handlers and module bodies that report to, and wait on, the test's `runtime_test_probe` module.
BLOCKING_HANDLER = """
import runtime_test_probe as probe

def handler(event, context):
    probe.started.set()
    probe.release.wait(60)
    return "released"
"""
LOADING_MODULE = """
import runtime_test_probe as probe

probe.loading.append({name!r})
if {name!r} == "First":
    # Wait (a while, at most) for the second module to start loading: it can only if loads run at once.
    probe.overlapped = probe.second_loading.wait(1.0)
else:
    probe.second_loading.set()

def handler(event, context):
    return {name!r}
"""


@pytest.fixture
def probe() -> Iterator[types.ModuleType]:
    module = types.ModuleType("runtime_test_probe")
    module.started, module.release = threading.Event(), threading.Event()
    module.loading, module.second_loading, module.overlapped = [], threading.Event(), None
    sys.modules[module.__name__] = module
    yield module
    module.release.set()
    sys.modules.pop(module.__name__, None)


def runtime_of(tmp_path: Path, sources: dict[str, str], max_concurrency: int = 4) -> LambdaRuntime:
    specs = {}
    for name, source in sources.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "app.py").write_text(source)
        specs[name] = FunctionSpec(name, tmp_path / name, "app.handler", 120, 128, {}, {})
    return LambdaRuntime(specs, {name: {} for name in specs}, max_concurrency_per_function=max_concurrency)


def in_thread(call: Callable[[], object]) -> Future[object]:
    outcome: Future[object] = Future()

    def run() -> None:
        try:
            outcome.set_result(call())
        except BaseException as error:
            outcome.set_exception(error)

    threading.Thread(target=run, daemon=True).start()
    return outcome


def test_closing_abandons_running_and_waiting_invocations(tmp_path: Path, probe: types.ModuleType) -> None:
    # GIVEN a handler that blocks, in a function with one container, and a second invocation waiting for it
    runtime = runtime_of(tmp_path, {"Blocking": BLOCKING_HANDLER}, max_concurrency=1)
    running = in_thread(lambda: runtime.invoke("Blocking", {}))
    assert probe.started.wait(30)
    waiting = in_thread(lambda: runtime.invoke("Blocking", {}))

    # WHEN the runtime is closed (the local cloud is stopping)
    runtime.close()

    # THEN both callers get RuntimeClosed at once, while the handler is still blocked
    assert isinstance(running.exception(timeout=30), RuntimeClosed)
    assert isinstance(waiting.exception(timeout=30), RuntimeClosed)
    assert not probe.release.is_set()
    # AND nothing is invoked any more
    with pytest.raises(RuntimeClosed):
        runtime.invoke("Blocking", {})


def test_handler_threads_never_hold_up_the_exit(tmp_path: Path, probe: types.ModuleType) -> None:
    # GIVEN a handler still running
    runtime = runtime_of(tmp_path, {"Blocking": BLOCKING_HANDLER})
    in_thread(lambda: runtime.invoke("Blocking", {}))
    assert probe.started.wait(30)
    runtime.close()

    # WHEN / THEN the thread running it is a daemon: the interpreter's exit does not wait for it
    (handler_thread,) = [t for t in threading.enumerate() if t.name.startswith("warroom_fn_Blocking_")]
    assert handler_thread.daemon


def test_handler_modules_are_loaded_one_at_a_time(tmp_path: Path, probe: types.ModuleType) -> None:
    # GIVEN two functions cold-started at the same time
    runtime = runtime_of(
        tmp_path, {name: LOADING_MODULE.format(name=name) for name in ("First", "Second")}, max_concurrency=1
    )
    try:
        first = in_thread(lambda: runtime.invoke("First", {}))
        assert wait_until(lambda: probe.loading == ["First"])
        second = in_thread(lambda: runtime.invoke("Second", {}))

        # WHEN both have loaded
        assert (first.result(timeout=30), second.result(timeout=30)) == ("First", "Second")
    finally:
        runtime.close()

    # THEN the second module started loading only once the first was done (shared sys.modules stay consistent)
    assert probe.loading == ["First", "Second"]
    assert probe.overlapped is False
