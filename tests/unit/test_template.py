"""template.yaml checked offline: cfn-lint, the SAM transform, routes against code, folder layout, the queue."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint, lint_file
from chalice import Chalice
from samtranslator.translator.transform import transform

from localcloud.template import load_template
from tests.conftest import PROJECT_ROOT
from warroom.core import config
from warroom.core.http import WarRoomApp

TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"
FUNCTIONS_DIR = PROJECT_ROOT / "functions"
SERVERLESS_FUNCTION = "AWS::Serverless::Function"
# SAM's default when neither the function nor Globals.Function sets a timeout.
SAM_DEFAULT_TIMEOUT_S = 3
# The document_ingest consumer's timeout, as documented next to DocumentQueue.VisibilityTimeout in the template.
DOCUMENTED_DOCUMENT_CONSUMER_TIMEOUT_S = 120
# Files a function folder may hold (layout rule: shared code lives in the layer, not next to the handler).
ALLOWED_FUNCTION_FILES = {"app.py", "requirements.txt"}
# Nothing listens here: a function module that connects while importing fails instead of finding a test server.
UNREACHABLE_ENVIRONMENT = {
    "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/nothing?connect_timeout=1",
    "REDIS_URL": "redis://127.0.0.1:1/0",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
    "WARROOM_DB_CONNECT_TIMEOUT_S": "1",
}


def _template() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)


def _serverless_functions(template: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each `AWS::Serverless::Function`'s properties with Globals.Function merged in (function wins)."""
    globals_ = template.get("Globals", {}).get("Function", {})
    return {
        logical_id: {**globals_, **resource.get("Properties", {})}
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == SERVERLESS_FUNCTION
    }


FUNCTION_IDS = sorted(_serverless_functions(_template()))


def _api_events(properties: Mapping[str, Any]) -> set[tuple[str, str]]:
    return {
        (str(event["Properties"]["Method"]).upper(), str(event["Properties"]["Path"]))
        for event in (properties.get("Events") or {}).values()
        if event["Type"] == "Api"
    }


def _handler_location(properties: Mapping[str, Any]) -> tuple[Path, str]:
    """`CodeUri` + `Handler` ("app.app") -> (the module's file, the attribute)."""
    module_name, _, attribute = str(properties["Handler"]).rpartition(".")
    code_dir = (PROJECT_ROOT / str(properties["CodeUri"])).resolve()
    return code_dir / (module_name.replace(".", "/") + ".py"), attribute


@pytest.fixture
def import_handler_module(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, Path], ModuleType]]:
    """Import a function's handler module by file path, under a unique name, with no server reachable."""
    for name, value in UNREACHABLE_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    config.reset_settings()
    imported: list[str] = []

    def load(logical_id: str, module_file: Path) -> ModuleType:
        module_name = f"warroom_test_function_{logical_id}"
        spec = importlib.util.spec_from_file_location(module_name, module_file)
        assert spec is not None and spec.loader is not None, f"{logical_id}: no module at {module_file}"
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module  # dataclasses and pydantic look their module up while building classes
        imported.append(module_name)
        try:
            spec.loader.exec_module(module)
        except Exception as error:
            pytest.fail(f"{logical_id}: {module_file} does not import without running services: {error!r}")
        return module

    yield load
    for module_name in imported:
        sys.modules.pop(module_name, None)
    config.reset_settings()


def _with_placeholder_code_locations(template: dict[str, Any]) -> dict[str, Any]:
    """Local `CodeUri`/`ContentUri` folders replaced by an S3 URI, as `sam validate` does before translating."""
    template = copy.deepcopy(template)
    uri_property = {SERVERLESS_FUNCTION: "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}
    for location in [template.get("Globals", {}).get("Function", {})] + [
        resource.get("Properties", {})
        for resource in template["Resources"].values()
        if resource["Type"] in uri_property
    ]:
        for name in uri_property.values():
            if isinstance(location.get(name), str) and not location[name].startswith("s3://"):
                location[name] = "s3://bucket/value"
    return template


class BundledPoliciesOnly:
    """A managed policy loader for offline use: SAM resolves AWS managed policy names from its bundled map first
    and asks the loader (IAM's ListPolicies) only for names it does not know -- which would be a typo here."""

    def __init__(self) -> None:
        self.calls = 0

    def load(self) -> dict[str, str]:
        self.calls += 1
        return {}


def _getatt_target(value: Any) -> str | None:
    if isinstance(value, Mapping) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        return str(target[0]) if isinstance(target, list) else str(target).partition(".")[0]
    return None


def test_cfn_lint_finds_nothing() -> None:
    # GIVEN the template, linted as `make lint` does (errors and warnings)
    # WHEN cfn-lint checks it
    matches = lint_file(TEMPLATE_PATH)
    # THEN there is nothing to report
    for match in matches:
        print(match)
    assert matches == [], "\n".join(str(match) for match in matches)


def test_sam_translates_to_cloudformation(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the template with its local code folders replaced as `sam validate` replaces them, and a region
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    template = _with_placeholder_code_locations(json.loads(json.dumps(_template())))
    serverless_functions = _serverless_functions(template)
    loader = BundledPoliciesOnly()

    # WHEN the SAM transform turns it into plain CloudFormation
    translated = transform(template, {}, loader)

    # THEN there is one REST API and one Lambda function per serverless function, no SAM types left
    types = [resource["Type"] for resource in translated["Resources"].values()]
    assert types.count("AWS::ApiGateway::RestApi") == 1
    lambda_functions = {
        logical_id
        for logical_id, resource in translated["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
    }
    assert lambda_functions == set(serverless_functions)
    assert not [kind for kind in types if kind.startswith("AWS::Serverless::")]
    # AND every managed policy name was known without asking IAM
    assert loader.calls == 0
    # AND the generated CloudFormation lints clean as well
    matches = lint(json.dumps(translated), config=ManualArgs(regions=["us-east-1"]))
    assert matches == [], "\n".join(str(match) for match in matches)


@pytest.mark.parametrize("logical_id", FUNCTION_IDS)
def test_function_routes_match_its_api_events(logical_id: str, import_handler_module) -> None:
    # GIVEN a serverless function of the template and its handler module, imported by file path
    properties = _serverless_functions(_template())[logical_id]
    module_file, attribute = _handler_location(properties)
    module = import_handler_module(logical_id, module_file)

    # WHEN the handler and its routes are read
    handler = getattr(module, attribute, None)

    # THEN the handler exists and Lambda can call it
    assert handler is not None, f"{logical_id}: Handler {properties['Handler']} names no attribute of the module"
    assert callable(handler)
    api_events = _api_events(properties)
    if not isinstance(handler, Chalice):
        # AND a plain event handler serves no API route
        assert api_events == set(), f"{logical_id}: Api events need a WarRoomApp handler"
        return
    # AND the Chalice routes are exactly the function's Api events
    routes = {(method, path) for path, methods in handler.routes.items() for method in methods}
    assert routes == api_events, (
        f"{logical_id}: only in code {sorted(routes - api_events)}, only in template {sorted(api_events - routes)}"
    )
    # AND every route was declared through WarRoomApp.endpoint (so it is in the OpenAPI document)
    assert isinstance(handler, WarRoomApp)
    specs = {(spec.method, spec.path) for spec in handler.route_specs}
    assert routes <= specs, f"{logical_id}: routes not declared with app.endpoint: {sorted(routes - specs)}"


def test_every_function_folder_is_deployed() -> None:
    # GIVEN the folders the template's functions point at
    code_dirs = {(PROJECT_ROOT / str(p["CodeUri"])).resolve() for p in _serverless_functions(_template()).values()}

    # WHEN the functions/ folder is listed
    folders = {path.resolve() for path in FUNCTIONS_DIR.iterdir() if path.is_dir() and path.name != "__pycache__"}

    # THEN no function folder (and no app.py) exists that the template does not deploy
    assert folders - code_dirs == set(), f"not in template.yaml: {sorted(str(p) for p in folders - code_dirs)}"
    assert {path.parent.resolve() for path in FUNCTIONS_DIR.glob("*/app.py")} <= code_dirs
    # AND every function of the template has its folder under functions/
    assert all(code_dir.parent == FUNCTIONS_DIR.resolve() for code_dir in code_dirs), sorted(map(str, code_dirs))


@pytest.mark.parametrize(
    "folder", sorted(p.name for p in FUNCTIONS_DIR.iterdir() if p.is_dir() and p.name != "__pycache__")
)
def test_function_folder_holds_only_its_handler(folder: str) -> None:
    # GIVEN a function folder
    path = FUNCTIONS_DIR / folder

    # WHEN its content is listed
    content = {entry.name for entry in path.iterdir() if entry.name != "__pycache__"}

    # THEN it holds app.py and at most a requirements.txt: shared code belongs in the layer
    assert "app.py" in content
    assert content <= ALLOWED_FUNCTION_FILES, (
        f"functions/{folder}: unexpected {sorted(content - ALLOWED_FUNCTION_FILES)}"
    )


def test_document_queue_outlasts_its_consumers_and_redrives_to_the_dlq() -> None:
    # GIVEN the document queue and the functions consuming it through SQS events
    template = _template()
    resources = template["Resources"]
    queue = resources["DocumentQueue"]["Properties"]
    consumer_needs = [
        int(properties.get("Timeout", SAM_DEFAULT_TIMEOUT_S)) * 6
        + int(event["Properties"].get("MaximumBatchingWindowInSeconds", 0))
        for properties in _serverless_functions(template).values()
        for event in (properties.get("Events") or {}).values()
        if event["Type"] == "SQS" and _getatt_target(event["Properties"].get("Queue")) == "DocumentQueue"
    ]

    # WHEN the longest visibility a consumer needs is computed (AWS: 6x the function timeout plus the batch window)
    needed = max(consumer_needs, default=6 * DOCUMENTED_DOCUMENT_CONSUMER_TIMEOUT_S)

    # THEN the queue hides a message at least that long
    assert int(queue["VisibilityTimeout"]) >= needed
    # AND a message failing five times moves to the dead-letter queue
    redrive = queue["RedrivePolicy"]
    assert int(redrive["maxReceiveCount"]) == 5
    assert _getatt_target(redrive["deadLetterTargetArn"]) == "DocumentDeadLetterQueue"
    assert resources["DocumentDeadLetterQueue"]["Type"] == "AWS::SQS::Queue"
    # AND the DLQ keeps messages longer than the queue (a message's age carries over when it is moved)
    dlq_retention = int(resources["DocumentDeadLetterQueue"]["Properties"]["MessageRetentionPeriod"])
    assert dlq_retention > int(queue.get("MessageRetentionPeriod", 345600))


def test_incoming_webhooks_are_processed_by_a_bounded_number_of_consumers() -> None:
    # GIVEN the SQS event that feeds WebhookInboxFunction (each message may sync a whole Meta ad account)
    events = _serverless_functions(_template())["WebhookInboxFunction"]["Events"]
    (inbox,) = [e["Properties"] for e in events.values() if e["Type"] == "SQS"]
    # THEN a burst of webhooks waits in the queue rather than starting unbounded concurrent syncs
    # (MaximumConcurrency: AWS takes 2-1000; reserved concurrency would throttle and retry instead)
    assert 2 <= int(inbox["ScalingConfig"]["MaximumConcurrency"]) <= 5
