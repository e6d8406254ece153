"""The Lambda side of the local cloud: function containers, invocation, timeouts and the console line.

Each function runs in a small pool of "containers", each a separately loaded instance of its handler module
with its own thread, one invocation at a time, as in Lambda: the first use of a container is a cold start, a
handler that outlives its Timeout is abandoned, and `recycle()` (on a code change) makes the next ones cold.
`close()` abandons every running invocation at once (the callers get `RuntimeClosed`), and container threads are
daemon threads, so a handler that never returns cannot hold up the process's exit.
"""

from __future__ import annotations

import importlib.util
import itertools
import logging
import os
import queue
import secrets
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from localcloud.template import FunctionSpec, UnsupportedTemplateFeature

ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
_container_serials = itertools.count(1)  # process-wide, so module names stay unique across runtimes
# One handler module loads at a time in the whole process: containers share sys.modules, and two threads importing
# a package with an import cycle at once (psycopg's) can see it half-initialised, which breaks it for good.
_module_loading = threading.RLock()
_log = logging.getLogger("localcloud.lambda_runtime")


class FunctionError(Exception):
    """The handler raised, could not be loaded, or returned something API Gateway cannot use."""


class FunctionTimeout(FunctionError):
    """The handler ran past its Timeout; its thread keeps running since Python cannot kill a thread."""


class RuntimeClosed(FunctionError):
    """The runtime was closed (the local cloud is stopping) before the invocation finished or started."""


@dataclass(frozen=True)
class InvocationRecord:
    """One line of the dev console; `function` is "-" when the gateway answered without invoking anything."""

    function: str
    trigger: str
    method: str
    path: str
    status: int
    duration_ms: float
    cold_start: bool
    request_id: str


@dataclass(frozen=True)
class Execution:
    """The outcome of one successful invocation."""

    result: Any
    cold_start: bool
    duration_ms: float
    request_id: str


@dataclass
class LambdaContext:
    """The `context` argument of a Python Lambda handler (the attributes AWS documents)."""

    function_name: str
    memory_limit_in_mb: str  # a string in the real Python runtime too
    invoked_function_arn: str
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline_monotonic: float
    function_version: str = "$LATEST"
    identity: Any = None
    client_context: Any = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline_monotonic - time.monotonic()) * 1000))


class _ContainerThread:
    """The one thread of a container: runs submitted calls in order; a daemon, unlike ThreadPoolExecutor's."""

    def __init__(self, name: str) -> None:
        self._calls: queue.SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]] | None]
        self._calls = queue.SimpleQueue()
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def submit(self, function: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        self._calls.put((future, function, args))
        return future

    def shutdown(self) -> None:
        """End the thread once the call it is running (if any) returns."""
        self._calls.put(None)

    def _run(self) -> None:
        while (call := self._calls.get()) is not None:
            future, function, args = call
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(function(*args))
            except BaseException as error:  # handed to the invoker
                future.set_exception(error)


class _Container:
    """One execution environment: its own module instance of the handler and the one thread that runs it."""

    def __init__(self, spec: FunctionSpec, generation: int) -> None:
        self.spec = spec
        self.generation = generation
        self.module_name = f"warroom_fn_{spec.logical_id}_{next(_container_serials)}"
        self.thread = _ContainerThread(self.module_name)
        self.log_stream_name = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{secrets.token_hex(16)}"
        self.handler: Callable[[Any, Any], Any] | None = None

    def start(self, closed: Future[None]) -> None:
        """Load the handler module in the container's thread; raises `RuntimeClosed` if `closed` completes first."""
        loading = self.thread.submit(self._load_handler)
        wait([loading, closed], return_when=FIRST_COMPLETED)
        if not loading.done():
            raise RuntimeClosed(f"{self.spec.logical_id}: the local runtime closed during its cold start")
        self.handler = loading.result()

    def stop(self) -> None:
        self.thread.shutdown()
        sys.modules.pop(self.module_name, None)

    def _load_handler(self) -> Callable[[Any, Any], Any]:
        # Loaded by file under a unique name and never via sys.path: every function's module is called `app`.
        module_path, _, attribute = self.spec.handler.rpartition(".")
        source = self.spec.code_uri / f"{module_path.replace('.', '/')}.py"
        module_spec = importlib.util.spec_from_file_location(self.module_name, source)
        if module_spec is None or module_spec.loader is None or not source.is_file():
            raise FunctionError(f"{self.spec.logical_id}: handler module {source} not found")
        module = importlib.util.module_from_spec(module_spec)
        with _module_loading:
            sys.modules[self.module_name] = module  # dataclasses and pydantic look their module up while loading
            try:
                module_spec.loader.exec_module(module)
            except BaseException:
                sys.modules.pop(self.module_name, None)
                raise
        handler = getattr(module, attribute, None)
        if not callable(handler):
            raise FunctionError(f"{self.spec.logical_id}: {self.spec.handler} is not a callable in {source}")
        return handler


class _FunctionPool:
    """Up to `max_containers` containers of one function, created lazily; a busy container is never shared."""

    def __init__(self, spec: FunctionSpec, max_containers: int, closed: Future[None]) -> None:
        self.spec = spec
        self._max = max_containers
        self._ready = threading.Condition()
        self._idle: list[_Container] = []
        self._size = 0
        self._generation = 0
        self._closed = closed  # the runtime's: done once it is closed

    def acquire(self) -> tuple[_Container, bool]:
        """An idle container (warm), else a new one (cold) if below the cap, else wait for one to be released.

        Raises `RuntimeClosed` once the pool is closed, also while waiting.
        """
        with self._ready:
            self._ready.wait_for(lambda: self._closed.done() or self._idle or self._size < self._max)
            if self._closed.done():
                raise RuntimeClosed(f"{self.spec.logical_id}: the local runtime is closed")
            if self._idle:
                return self._idle.pop(), False  # the most recently used one, as Lambda tends to
            self._size += 1
            container = _Container(self.spec, self._generation)
        try:
            container.start(self._closed)
        except BaseException:
            self.discard(container)
            raise
        return container, True

    def release(self, container: _Container) -> None:
        with self._ready:
            if container.generation != self._generation:
                self._size -= 1
                container.stop()
            else:
                self._idle.append(container)
            self._ready.notify()

    def discard(self, container: _Container) -> None:
        with self._ready:
            self._size -= 1
            container.stop()
            self._ready.notify()

    def recycle(self) -> None:
        """Drop every container (idle now, busy ones when they finish) so the next invocation loads fresh code."""
        with self._ready:
            self._generation += 1
            stale, self._idle = self._idle, []
            self._size -= len(stale)
            for container in stale:
                container.stop()
            self._ready.notify_all()


class LambdaRuntime:
    """Invokes the template's functions in-process, honouring one-invocation-per-container and timeouts."""

    def __init__(
        self,
        functions: Mapping[str, FunctionSpec],
        env_by_function: Mapping[str, Mapping[str, str]],
        *,
        max_concurrency_per_function: int = 4,
    ) -> None:
        self.functions = dict(functions)
        apply_function_environment(self.functions, env_by_function)
        self._closed: Future[None] = Future()  # done once closed: wakes every invoker waiting on a handler
        self._pools = {
            name: _FunctionPool(spec, max_concurrency_per_function, self._closed) for name, spec in functions.items()
        }

    def invoke(self, function_logical_id: str, event: Any) -> Any:
        """Run the function's handler on `event` and return what it returned; raises `FunctionError`."""
        return self.execute(function_logical_id, event).result

    def execute(self, function_logical_id: str, event: Any) -> Execution:
        """Like `invoke`, plus whether it was a cold start and how long it took (init included)."""
        if function_logical_id not in self._pools:
            raise ValueError(f"unknown function {function_logical_id!r}; known: {sorted(self._pools)}")
        pool = self._pools[function_logical_id]
        started = time.perf_counter()
        request_id = str(uuid.uuid4())
        try:
            container, cold_start = pool.acquire()
        except RuntimeClosed:
            raise
        except BaseException as error:
            _log.error("%s failed to initialise (request %s)", function_logical_id, request_id, exc_info=error)
            raise FunctionError(f"{function_logical_id} failed to initialise: {error}") from error
        context = self._context(container, request_id)
        future = container.thread.submit(container.handler, event, context)  # type: ignore[arg-type]
        wait([future, self._closed], timeout=container.spec.timeout_s, return_when=FIRST_COMPLETED)
        if not future.done() and self._closed.done():
            future.add_done_callback(lambda _: pool.discard(container))
            raise RuntimeClosed(f"{function_logical_id} was still running when the local runtime closed")
        if not future.done():
            # Lambda would kill the environment; we can only stop reusing it once its thread returns.
            future.add_done_callback(lambda _: pool.discard(container))
            _log.warning(
                "%s timed out after %ss (request %s); its thread keeps running until the handler returns",
                function_logical_id,
                container.spec.timeout_s,
                request_id,
            )
            raise FunctionTimeout(f"{function_logical_id} timed out after {container.spec.timeout_s} s")
        pool.release(container)
        error = future.exception()
        if error is not None:
            _log.error("%s raised (request %s)", function_logical_id, request_id, exc_info=error)
            raise FunctionError(f"{function_logical_id} raised {error!r}") from error
        duration_ms = (time.perf_counter() - started) * 1000
        return Execution(future.result(), cold_start, duration_ms, request_id)

    def recycle(self) -> None:
        """Forget all loaded code (e.g. after a file change); the next invocations are cold starts."""
        for pool in self._pools.values():
            pool.recycle()

    def close(self) -> None:
        """Stop idle containers and abandon running invocations (their callers get `RuntimeClosed` at once).

        A busy handler thread finishes on its own, or not at all: it is a daemon and never delays the exit.
        """
        if not self._closed.done():
            self._closed.set_result(None)
        for pool in self._pools.values():
            pool.recycle()  # also wakes the invokers waiting for a container, who then see the runtime closed

    @staticmethod
    def _context(container: _Container, request_id: str) -> LambdaContext:
        spec = container.spec
        region = os.environ.get("AWS_REGION", DEFAULT_REGION)
        return LambdaContext(
            function_name=spec.logical_id,
            memory_limit_in_mb=str(spec.memory_mb),
            invoked_function_arn=f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{spec.logical_id}",
            aws_request_id=request_id,
            log_group_name=f"/aws/lambda/{spec.logical_id}",
            log_stream_name=container.log_stream_name,
            deadline_monotonic=time.monotonic() + spec.timeout_s,
        )


def apply_function_environment(
    functions: Mapping[str, FunctionSpec], env_by_function: Mapping[str, Mapping[str, str]]
) -> dict[str, str]:
    """Put the functions' variables in `os.environ` (shared by all handler threads) and return what was set.

    Locally every function runs in one process, so a variable must have one value: two functions giving the same
    variable different values raise `UnsupportedTemplateFeature`. Lambda's own per-function variables
    (AWS_LAMBDA_FUNCTION_NAME, ...) are only set when all functions agree; use the context object instead.
    """
    variables: dict[str, str] = {}
    owners: dict[str, str] = {}
    for function, env in env_by_function.items():
        for name, value in env.items():
            if name in variables and variables[name] != value:
                raise UnsupportedTemplateFeature(
                    f"environment variable {name} is {variables[name]!r} in {owners[name]} but {value!r} in "
                    f"{function}; locally all functions share one process, so a variable needs one value"
                )
            variables[name], owners[name] = value, function
    lambda_variables = [
        {
            "AWS_LAMBDA_FUNCTION_NAME": spec.logical_id,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.logical_id}",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        }
        for spec in functions.values()
    ]
    for name, value in (lambda_variables[0] if lambda_variables else {}).items():
        if all(candidate[name] == value for candidate in lambda_variables):
            variables[name] = value
    variables["AWS_SAM_LOCAL"] = "true"
    variables.setdefault("AWS_REGION", os.environ.get("AWS_REGION", DEFAULT_REGION))
    variables.setdefault("AWS_DEFAULT_REGION", os.environ.get("AWS_DEFAULT_REGION", variables["AWS_REGION"]))
    os.environ.update(variables)
    # Settings the bootstrap read before (seeding the admin) were cached without each function's own variables.
    config = sys.modules.get("warroom.core.config")
    if config is not None:
        config.reset_settings()
    return variables


def print_invocation(record: InvocationRecord) -> None:
    """Default console line, e.g. `14:03:11 SystemFunction   http GET /api/v1/health -> 200 12.3 ms (cold)`."""
    cold = " (cold)" if record.cold_start else ""
    stamp = datetime.now().strftime("%H:%M:%S")
    line = f"{record.trigger} {record.method} {record.path} -> {record.status} {record.duration_ms:.1f} ms{cold}"
    print(f"{stamp} {record.function:<16} {line}", flush=True)
