"""``warroom dev``: serve the template's functions on one port, reload them when their code changes, stop fast.

The ``warroom dev`` process brings the local cloud up (`localcloud.bootstrap`) and owns the backing servers. With
reload on, the functions are served by a child process (``python -m localcloud.dev serve <state>/runtime.json``)
that is replaced on every change of ``functions/``, the ``warroom`` package or the template; with ``--no-reload``
they are served in the ``warroom dev`` process itself. Every child dies with it, even if it is SIGKILLed
(`localcloud.lifeline`).

On SIGTERM or SIGINT everything is gone within about 3 s: requests in flight get 1 s (uvicorn's graceful
shutdown), the queue pollers stop at once (the long poll in progress, at most 1 s, overlaps that second and hands
back what it receives), the runtime then abandons the handlers still running (daemon threads: they cannot delay
the exit), and the servers get 1.5 s before SIGKILL. A serving child that has not exited 2 s after SIGTERM is
SIGKILLed. Both processes then end with `exit_process`: tearing down an interpreter holding every function's
modules takes another second or two, and would wait for any thread a handler started.

Example
-------
>>> exit_process(run_dev(DevOptions(port=3000, reload=False)))  # once stopped by SIGTERM or Ctrl-C
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import NoReturn

import uvicorn

from localcloud import lifeline
from localcloud.bootstrap import (
    RUNTIME_FILE,
    BackingServices,
    DevOptions,
    LocalCloudConfig,
    prepare,
    release_database,
    say,
)

GRACEFUL_REQUESTS_S = 1.0  # how long requests in flight may finish once a stop is asked
EVENT_SOURCES_STOP_S = 1.0  # the pollers' last long poll (1 s) started when the stop was asked
SERVING_CHILD_STOP_S = 2.0  # then the serving child is SIGKILLed


class _GatewayServer(uvicorn.Server):
    """uvicorn's server, telling `on_exit` the moment a stop signal arrives (uvicorn acts on it 0.1-0.2 s later)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.on_exit: list[Callable[[], None]] = []

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        for callback in self.on_exit:
            callback()
        super().handle_exit(sig, frame)


def run_dev(options: DevOptions) -> int:
    """Bring the local cloud up, serve it until SIGTERM or SIGINT, then stop every process it started."""
    started = time.perf_counter()
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    signal.signal(signal.SIGINT, _raise_keyboard_interrupt)
    services = BackingServices()
    try:
        config = prepare(options, services)
        release_database()  # the serving process opens its own pool
        say(f"ready in {time.perf_counter() - started:.2f} s: {config.url}/api/v1/docs")
        say_localstack_example(config)
        if options.reload:
            _serve_reloading(config)
        else:
            serve_gateway(config)
    except KeyboardInterrupt:
        pass
    finally:
        # A second Ctrl-C must not cut the clean-up short: it is bounded anyway.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        services.stop()
        say("stopped")
    return 0


def say_localstack_example(config: LocalCloudConfig) -> None:
    """When this instance started its own LocalStack: two lines to paste into Python to look at its resources.

    They use ``localstack-client`` (the ``dev`` extra) and are printed bare, without the console's prefix, so
    they can be copied as they are.
    """
    if "localstack" not in config.service_pids:
        return
    from localcloud.localstack import python_example

    say("inspect its LocalStack (queues, buckets, secrets) from Python with localstack-client:")
    for line in python_example(config.urls.aws_endpoint_url, os.environ.get("AWS_DEFAULT_REGION", "us-east-1")):
        print(line, flush=True)


def serve_gateway(config: LocalCloudConfig) -> None:
    """Serve the template's REST and WebSocket routes on one port, with its schedules and queue pollers.

    Returns once uvicorn has stopped (raising the `KeyboardInterrupt` of the stop signal, if any), after the event
    sources are stopped, the runtime is closed and the database pool is released.
    """
    from localcloud.event_sources import launch_event_sources
    from localcloud.gateway import create_gateway, error_shaped_http_protocol
    from localcloud.template import load_template, read_api_routes, read_functions
    from localcloud.websocket import WebSocketGateway, read_websocket_api

    template = load_template(config.template)
    functions = read_functions(template, config.template.parent)
    app = create_gateway(functions, read_api_routes(functions), config.env_by_function, config.cors)
    runtime = app.state.runtime
    websocket_api = read_websocket_api(template)
    if websocket_api is not None:
        app.router.routes.extend(WebSocketGateway(websocket_api, runtime).routes())
    server = _GatewayServer(
        uvicorn.Config(
            app,
            host=config.host,
            port=config.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="websockets-sansio",
            http=error_shaped_http_protocol(),
            # API Gateway takes sourceIp from the connection, never from X-Forwarded-For; neither may we
            # (uvicorn trusts that header from 127.0.0.1 by default: a rotated one beat the per-address lockout).
            proxy_headers=False,
            timeout_graceful_shutdown=GRACEFUL_REQUESTS_S,
        )
    )
    # uvicorn's sans-io WebSocket protocol logs a refused handshake (our 401 denial response) as an error.
    logging.getLogger("uvicorn.error").addFilter(
        lambda record: "without completing handshake" not in record.getMessage()
    )
    say(f"serving {len(functions)} function(s) at {config.url}")
    # Schedules and queue pollers start once the port is served and invoke through the same runtime.
    event_sources = launch_event_sources(
        functions,
        runtime,
        config.stack,
        schedules=config.schedules,
        schedule_speed=config.schedule_speed,
        ready=lambda: server.started,
        say=say,
    )
    server.on_exit.append(event_sources.request_stop)
    try:
        server.run()
    finally:
        runtime.close()
        event_sources.stop(EVENT_SOURCES_STOP_S)
        release_database()


def _serve_reloading(config: LocalCloudConfig) -> None:
    """Serve from a child process, replaced whenever the functions, the layer package or the template change."""
    import watchfiles

    import warroom

    # The functions beside the template, and the layer package the functions really import.
    watched = [config.template.parent / "functions", Path(warroom.__file__).parent, config.template]
    runtime_file = config.state_dir / RUNTIME_FILE
    child = _start_serving_child(runtime_file)
    try:
        for changes in watchfiles.watch(*watched):
            say(f"reloading: {len(changes)} file(s) changed")
            _stop_serving_child(child)
            child = _start_serving_child(runtime_file)
    finally:
        _stop_serving_child(child)


def _start_serving_child(runtime_file: Path) -> subprocess.Popen[bytes]:
    # Not in a session of its own: a Ctrl-C in the terminal reaches it at once, as it reaches us.
    return lifeline.spawn(
        [sys.executable, "-m", "localcloud.dev", "serve", str(runtime_file)],
        death_signal=signal.SIGTERM,
        stdin=subprocess.DEVNULL,
    )


def _stop_serving_child(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(SERVING_CHILD_STOP_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    lifeline.forget(child)


def _serve_child_main(runtime_file: Path) -> int:
    """The serving child: `serve_gateway` on the configuration `warroom dev` saved."""
    # uvicorn re-raises the stop signal once it has shut down; as KeyboardInterrupt, our clean-up still runs.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    with contextlib.suppress(KeyboardInterrupt):
        serve_gateway(LocalCloudConfig.load(runtime_file))
    return 0


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def exit_process(code: int) -> NoReturn:
    """End the process now that everything it started is stopped: flush, then skip the interpreter's teardown.

    The teardown (every function's modules, joining threads a handler may have started) takes 1-2 s, more on a
    busy machine, and has nothing left to do.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    if sys.argv[1:2] != ["serve"] or len(sys.argv) != 3:
        print("usage: python -m localcloud.dev serve <state>/runtime.json", file=sys.stderr)
        sys.exit(2)
    exit_process(_serve_child_main(Path(sys.argv[2])))
