"""Functions sharing one local runtime keep their own log context: service, function name, request id."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from localcloud.lambda_runtime import LambdaRuntime
from localcloud.template import FunctionSpec

# A function as ours are written: a Powertools logger from configure_logging, and a layer module logging through
# `logging.getLogger("warroom....")` while the handler runs.
FUNCTION_SOURCE = """
import logging

from warroom.core.logs import configure_logging

logger = configure_logging({service!r})
layer_logger = logging.getLogger("warroom.mentions.sync")


@logger.inject_lambda_context
def handler(event, context):
    logger.info("function line", extra={{"probe": event["probe"]}})
    layer_logger.info("layer line", extra={{"probe": event["probe"]}})
    return {{}}
"""


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.fixture
def two_functions(tmp_path: Path) -> tuple[LambdaRuntime, dict[str, str]]:
    """SourceSync-like and WsSweeper-like functions with services unique to this test (loggers live per process)."""
    services = {"SyncFunction": f"sync_{uuid.uuid4().hex[:6]}", "SweeperFunction": f"sweeper_{uuid.uuid4().hex[:6]}"}
    specs = {}
    for name, service in services.items():
        code = tmp_path / name
        code.mkdir()
        (code / "app.py").write_text(FUNCTION_SOURCE.format(service=service))
        specs[name] = FunctionSpec(name, code, "app.handler", 5, 128, {}, {})
    return LambdaRuntime(specs, {name: {} for name in specs}), services


def test_each_function_logs_with_its_own_service_and_name(two_functions, capsys) -> None:
    runtime, services = two_functions
    try:
        # GIVEN both functions loaded in one runtime, the sweeper last
        # WHEN they are invoked in turn
        request_ids = {
            probe: runtime.execute(function, {"probe": probe}).request_id
            for probe, function in [
                ("sync-1", "SyncFunction"),
                ("sweep-1", "SweeperFunction"),
                ("sync-2", "SyncFunction"),
            ]
        }
    finally:
        runtime.close()

    # THEN every line, the layer's included, carries the service, name and request id of the function that logged it
    lines = [line for line in json_lines(capsys.readouterr().out) if "probe" in line]
    assert sorted((line["probe"], line["message"]) for line in lines) == sorted(
        (probe, message) for probe in request_ids for message in ("function line", "layer line")
    )
    for line in lines:
        function = "SyncFunction" if line["probe"].startswith("sync") else "SweeperFunction"
        assert (line["service"], line["function_name"]) == (services[function], function), line
        assert line["function_request_id"] == request_ids[line["probe"]], line


def test_a_layer_line_outside_any_invocation_names_no_function(two_functions, capsys) -> None:
    import logging

    runtime, _ = two_functions
    try:
        # GIVEN two functions configured in this process
        runtime.execute("SyncFunction", {"probe": "sync"})
        runtime.execute("SweeperFunction", {"probe": "sweep"})
        capsys.readouterr()

        # WHEN a layer module logs outside any invocation (e.g. from a thread the handler started)
        logging.getLogger("warroom.mentions.sync").info("between invocations")
    finally:
        runtime.close()

    # THEN the line is neutral rather than the last configured function's
    (line,) = [line for line in json_lines(capsys.readouterr().out) if line["message"] == "between invocations"]
    assert line["service"] == "warroom"
    assert "function_name" not in line
